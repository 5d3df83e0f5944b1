#include "zoned/agent/oci_spec.h"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>
#include <optional>

#include "zoned/agent/user_db.h"
#include "zoned/common/zone_annotations.h"

namespace zoned::agent {

namespace {

using nlohmann::json;

Result<json> parse_object(std::string_view text, const char* what) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Error(ErrorCode::kInvalidArgument, std::string(what) + " is not a JSON object");
  }
  return doc;
}

std::uint32_t id_field(const json& user, const char* key) {
  if (!user.is_object()) return 0;
  auto it = user.find(key);
  if (it == user.end() || !it->is_number_unsigned()) return 0;
  const auto value = it->get<std::uint64_t>();
  return value > 0xffffffffu ? 0 : static_cast<std::uint32_t>(value);
}

// Sets process.user from the resolution (keeps the spec's additionalGids, adds new ones).
void apply_user(json& process, const ResolvedUser& resolved) {
  json& user = process["user"];
  if (!user.is_object()) user = json::object();
  user["uid"] = resolved.uid;
  user["gid"] = resolved.gid;
  if (resolved.additional_gids.empty()) return;
  json& extra = user["additionalGids"];
  if (!extra.is_array()) extra = json::array();
  for (auto gid : resolved.additional_gids) {
    if (std::find(extra.begin(), extra.end(), json(gid)) == extra.end()) extra.push_back(gid);
  }
}

Result<std::string> dump(const json& doc, const char* what) {
  try {
    return doc.dump();
  } catch (const json::exception&) {
    return Error(ErrorCode::kInvalidArgument, std::string(what) + " holds text that is not valid UTF-8");
  }
}

std::string_view env_key(std::string_view entry) {
  return entry.substr(0, entry.find('='));
}

// The pod's sysctls, taken out of the spec's annotations. A name becomes a path under /proc/sys
// (dots are separators unless the name uses slashes, as Kubernetes allows); nothing that could
// leave /proc/sys gets through.
Result<std::vector<std::pair<std::string, std::string>>> take_zone_sysctls(json& doc) {
  std::vector<std::pair<std::string, std::string>> out;
  auto annotations = doc.find("annotations");
  if (annotations == doc.end() || !annotations->is_object()) return out;
  auto found = annotations->find(kZoneSysctlsAnnotation);
  if (found == annotations->end()) return out;
  if (!found->is_string()) return Error(ErrorCode::kInvalidArgument, "the sysctl annotation is not a string");
  auto parsed = parse_object(found->get<std::string>(), "the sysctl annotation");
  if (!parsed.ok()) return std::move(parsed).take_error();
  for (const auto& [name, value] : parsed->items()) {
    const bool name_ok =
        !name.empty() && name.size() <= 256 && name.front() != '/' && name.front() != '.' &&
        name.find("..") == std::string::npos && name.find("/.") == std::string::npos &&
        std::all_of(name.begin(), name.end(), [](char c) {
          return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' || c == '/';
        });
    if (!name_ok || !value.is_string() || value.get<std::string>().find('\n') != std::string::npos) {
      return Error(ErrorCode::kInvalidArgument, "bad sysctl in the annotation: \"" + name + "\"");
    }
    std::string path = name;
    if (path.find('/') == std::string::npos) std::replace(path.begin(), path.end(), '.', '/');
    out.emplace_back(std::move(path), value.get<std::string>());
  }
  annotations->erase(found);
  if (annotations->empty()) doc.erase(annotations);
  return out;
}

}  // namespace

Result<ContainerSpec> make_container_spec(std::string_view daemon_config, const std::string& rootfs,
                                          const std::string& cgroups_path, std::string_view username,
                                          std::string_view groupname) {
  auto parsed = parse_object(daemon_config, "oci_config_json");
  if (!parsed.ok()) return std::move(parsed).take_error();
  json doc = std::move(*parsed);
  auto process = doc.find("process");
  if (process == doc.end() || !process->is_object()) {
    return Error(ErrorCode::kInvalidArgument, "oci_config_json has no process object");
  }
  json& root = doc["root"];
  if (!root.is_object()) root = json::object();
  root["path"] = rootfs;
  json& linux_section = doc["linux"];
  if (!linux_section.is_object()) linux_section = json::object();
  linux_section["cgroupsPath"] = cgroups_path;

  if (!username.empty() || !groupname.empty()) {
    const json& user = (*process)["user"];
    auto resolved = resolve_user(rootfs, username, groupname, id_field(user, "uid"), id_field(user, "gid"));
    if (!resolved.ok()) return std::move(resolved).take_error();
    apply_user(*process, *resolved);
  }
  ContainerSpec spec;
  auto sysctls = take_zone_sysctls(doc);
  if (!sysctls.ok()) return std::move(sysctls).take_error();
  spec.zone_sysctls = std::move(*sysctls);
  auto terminal = process->find("terminal");
  spec.terminal = terminal != process->end() && terminal->is_boolean() && terminal->get<bool>();
  auto config = dump(doc, "oci_config_json");
  if (!config.ok()) return std::move(config).take_error();
  auto process_text = dump(*process, "oci_config_json");
  if (!process_text.ok()) return std::move(process_text).take_error();
  spec.config_json = std::move(*config);
  spec.process_json = std::move(*process_text);
  return spec;
}

Result<std::string> make_exec_process(const std::string& container_process_json, const idm::v1::ExecStart& exec,
                                      const std::string& rootfs) {
  auto parsed = parse_object(container_process_json, "the container's process");
  if (!parsed.ok()) return std::move(parsed).take_error();
  json process = std::move(*parsed);
  json args = json::array();
  for (const auto& arg : exec.args()) args.push_back(arg);
  process["args"] = std::move(args);
  process["terminal"] = exec.tty();
  if (exec.tty()) {
    process.erase("consoleSize");
  }
  json env = process.contains("env") && process["env"].is_array() ? process["env"] : json::array();
  for (const auto& entry : exec.env()) {
    const auto key = env_key(entry);
    for (auto it = env.begin(); it != env.end();) {
      if (it->is_string() && env_key(it->get_ref<const std::string&>()) == key) {
        it = env.erase(it);
      } else {
        ++it;
      }
    }
    env.push_back(entry);
  }
  process["env"] = std::move(env);
  if (!exec.cwd().empty()) process["cwd"] = exec.cwd();
  if (!exec.user().empty()) {
    const json& user = process["user"];
    auto resolved = resolve_user(rootfs, exec.user(), "", id_field(user, "uid"), id_field(user, "gid"));
    if (!resolved.ok()) return std::move(resolved).take_error();
    // An exec's user replaces the container's groups rather than adding to them.
    process["user"] = json::object();
    apply_user(process, *resolved);
  }
  return dump(process, "exec args, env or cwd");
}

}  // namespace zoned::agent
