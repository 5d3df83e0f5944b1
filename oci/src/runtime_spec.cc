// generate_runtime_spec: assembles config.json from the parts in runtime_spec_*.cc and
// seccomp_profile.cc.
#include "zoned/oci/runtime_spec.h"

#include <algorithm>

#include "runtime_spec_internal.h"
#include "zoned/common/zone_annotations.h"

namespace zoned::oci {
namespace spec_internal {

Error invalid(std::string_view field, std::string_view message) {
  return Error(ErrorCode::kInvalidArgument, std::string(field) + ": " + std::string(message));
}

std::string quote_value(std::string_view value) {
  constexpr size_t kMax = 100;
  std::string out = "\"";
  for (char c : value.substr(0, kMax)) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '"' || c == '\\') {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += c;
    }
  }
  if (value.size() > kMax) out += "...";
  return out + "\"";
}

bool has_nul(std::string_view s) {
  return s.find('\0') != std::string_view::npos;
}

Status check_absolute_path(std::string_view path, std::string_view field) {
  if (path.empty() || path.front() != '/') return invalid(field, "must be an absolute path, not " + quote_value(path));
  if (has_nul(path)) return invalid(field, "contains a NUL byte");
  if (path.size() > 4096) return invalid(field, "longer than 4096 bytes");
  size_t start = 0;
  while (start < path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (part == "..") return invalid(field, quote_value(path) + " contains \"..\"");
    start = end + 1;
  }
  return ok_status();
}

std::string clean_path(std::string_view path) {
  std::string out;
  size_t start = 0;
  while (start < path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (!part.empty() && part != ".") {
      out += '/';
      out += part;
    }
    start = end + 1;
  }
  return out.empty() ? "/" : out;
}

namespace {

// The largest config.json an IDM CreateContainer message carries.
constexpr size_t kMaxConfigBytes = 512 * 1024;

Json build_user(const ResolvedUser& user) {
  Json out = {{"uid", user.uid}, {"gid", user.gid}};
  std::vector<uint32_t> gids = user.additional_gids;
  // containerd always lists the primary group among the additional ones. When the agent still
  // has to resolve it, it adds it itself (listing 0 here would leak the root group).
  if (user.gid_final && std::find(gids.begin(), gids.end(), user.gid) == gids.end()) {
    gids.insert(std::upper_bound(gids.begin(), gids.end(), user.gid), user.gid);
  }
  if (!gids.empty()) out["additionalGids"] = gids;
  return out;
}

Result<Json> build_process(const ImageConfig& image, const ContainerSpecInput& input, GeneratedSpec& generated,
                           std::vector<std::string>& caps) {
  auto args = resolve_args(image, input);
  if (!args.ok()) return std::move(args).take_error();
  auto env = resolve_env(image, input);
  if (!env.ok()) return std::move(env).take_error();
  auto cwd = resolve_cwd(image, input);
  if (!cwd.ok()) return std::move(cwd).take_error();
  auto user = resolve_user(image, input);
  if (!user.ok()) return std::move(user).take_error();
  auto resolved_caps = resolve_capabilities(input);
  if (!resolved_caps.ok()) return std::move(resolved_caps).take_error();
  auto rlimits = build_rlimits(input.rlimits);
  if (!rlimits.ok()) return std::move(rlimits).take_error();
  ZONED_TRY(check_oom_score_adj(input.resources.oom_score_adj));

  generated.username = user->username;
  generated.groupname = user->groupname;
  generated.gid_from_passwd = user->gid_from_passwd;
  caps = std::move(*resolved_caps);

  // Ambient and inheritable sets stay empty (containerd since the CVE-2022-24769 fix).
  Json process = {{"terminal", input.tty},
                  {"user", build_user(*user)},
                  {"args", std::move(*args)},
                  {"env", std::move(*env)},
                  {"cwd", std::move(*cwd)},
                  {"capabilities", {{"bounding", caps}, {"effective", caps}, {"permitted", caps}}},
                  {"noNewPrivileges", input.no_new_privileges},
                  {"oomScoreAdj", input.resources.oom_score_adj}};
  if (!rlimits->empty()) process["rlimits"] = std::move(*rlimits);
  return process;
}

Result<Json> build_linux(const ContainerSpecInput& input, const std::vector<std::string>& caps) {
  auto resources = build_resources(input);
  if (!resources.ok()) return std::move(resources).take_error();
  auto masked = resolve_masked_paths(input);
  if (!masked.ok()) return std::move(masked).take_error();
  auto readonly = resolve_readonly_paths(input);
  if (!readonly.ok()) return std::move(readonly).take_error();
  ZONED_TRY(check_cgroups_path(input.cgroups_path));

  Json linux = {{"namespaces", build_namespaces(input)},
                {"resources", std::move(*resources)},
                {"maskedPaths", std::move(*masked)},
                {"readonlyPaths", std::move(*readonly)}};
  if (!input.cgroups_path.empty()) linux["cgroupsPath"] = input.cgroups_path;
  if (input.privileged) return linux;  // no seccomp for privileged containers, whatever was asked
  switch (input.seccomp) {
    case SeccompMode::kUnconfined: break;
    case SeccompMode::kRuntimeDefault: linux["seccomp"] = default_seccomp_profile(caps); break;
    case SeccompMode::kLocalhost: {
      if (input.seccomp_localhost_json.empty())
        return invalid("seccomp_localhost_json", "empty for a Localhost profile");
      auto profile = parse_seccomp_profile(input.seccomp_localhost_json);
      if (!profile.ok()) return std::move(profile).take_error();
      linux["seccomp"] = std::move(*profile);
      break;
    }
  }
  return linux;
}

Status collect_sysctls(const ContainerSpecInput& input, GeneratedSpec& generated) {
  for (const auto& [name, value] : input.sysctls) {
    ZONED_TRY(validate_pod_sysctl(name, value));
    generated.zone_sysctls.emplace_back(name, value);
  }
  return ok_status();
}

}  // namespace
}  // namespace spec_internal

Result<GeneratedSpec> generate_runtime_spec(const ImageConfig& image, const ContainerSpecInput& input) {
  using namespace spec_internal;
  GeneratedSpec generated;
  std::vector<std::string> caps;
  auto process = build_process(image, input, generated, caps);
  if (!process.ok()) return std::move(process).take_error();
  auto mounts = build_mounts(input);
  if (!mounts.ok()) return std::move(mounts).take_error();
  auto linux = build_linux(input, caps);
  if (!linux.ok()) return std::move(linux).take_error();
  ZONED_TRY(check_annotations(input.annotations));
  ZONED_TRY(collect_sysctls(input, generated));
  if (!input.apparmor_profile.empty()) {
    generated.warnings.push_back("apparmor profile " + quote_value(input.apparmor_profile) +
                                 " ignored: zones have no AppArmor (the zone boundary is the VM)");
  }

  Json spec = {{"ociVersion", "1.0.2"},
               {"process", std::move(*process)},
               {"root", {{"path", "rootfs"}, {"readonly", input.readonly_rootfs}}},
               {"mounts", std::move(*mounts)},
               {"linux", std::move(*linux)}};
  Json annotations = input.annotations;
  annotations.erase(kZoneSysctlsAnnotation);  // ours only
  if (!generated.zone_sysctls.empty()) {
    Json sysctls = Json::object();
    for (const auto& [name, value] : generated.zone_sysctls) sysctls[name] = value;
    annotations[kZoneSysctlsAnnotation] = sysctls.dump();
  }
  if (!annotations.empty()) spec["annotations"] = std::move(annotations);
  try {
    generated.config_json = spec.dump();
  } catch (const Json::exception& e) {  // invalid UTF-8 in a string from the input
    return invalid("spec", std::string("cannot be encoded as JSON: ") + e.what());
  }
  if (generated.config_json.size() > kMaxConfigBytes) {
    return invalid("spec", "config.json would be " + std::to_string(generated.config_json.size()) +
                               " bytes, more than the 512 KiB a zone accepts");
  }
  return generated;
}

}  // namespace zoned::oci
