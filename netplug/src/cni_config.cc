#include "zoned/netplug/cni_config.h"

#include <dirent.h>

#include <algorithm>
#include <cerrno>

#include "json_util.h"
#include "zoned/common/file_ops.h"

namespace zoned::netplug {
namespace {

using nlohmann::json;

constexpr size_t kMaxPlugins = 32;

Error bad(std::string_view source, const std::string& message) {
  return Error(ErrorCode::kInvalidArgument, std::string(source) + ": " + message);
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

Result<PluginConfig> parse_plugin(const json& obj, std::string_view source) {
  if (!obj.is_object()) return bad(source, "a plugin is not an object");
  auto type = detail::string_field(obj, "type", true);
  if (!type.ok()) return std::move(type).take_error().wrap(source);
  // The type is a file name in the plugin dirs: no paths, nothing hidden.
  if (type->empty() || type->size() > 64 || type->find('/') != std::string::npos || (*type)[0] == '.') {
    return bad(source, "plugin type \"" + *type + "\" is not a plain binary name");
  }
  PluginConfig plugin;
  plugin.type = std::move(*type);
  auto caps = obj.find("capabilities");
  if (caps != obj.end() && !caps->is_null()) {
    if (!caps->is_object()) return bad(source, "plugin " + plugin.type + ": \"capabilities\" is not an object");
    for (const auto& [key, value] : caps->items()) {
      if (!value.is_boolean())
        return bad(source, "plugin " + plugin.type + ": capability " + key + " is not a boolean");
      plugin.capabilities[key] = value.get<bool>();
    }
  }
  plugin.raw_json = obj.dump();
  return plugin;
}

Status check_header(const json& doc, std::string_view source, NetworkConfigList& list) {
  auto name = detail::string_field(doc, "name", true);
  if (!name.ok()) return std::move(name).take_error().wrap(source);
  if (!is_valid_network_name(*name)) return bad(source, "network name \"" + *name + "\" is not valid");
  auto version = detail::string_field(doc, "cniVersion", true);
  if (!version.ok()) return std::move(version).take_error().wrap(source);
  list.name = std::move(*name);
  list.cni_version = std::move(*version);
  list.source = std::string(source);
  return ok_status();
}

}  // namespace

bool is_valid_network_name(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
  if (!alnum(name[0])) return false;
  return std::all_of(name.begin(), name.end(), [&](char c) { return alnum(c) || c == '_' || c == '.' || c == '-'; });
}

Result<NetworkConfigList> parse_conflist(std::string_view json_text, std::string_view source) {
  auto doc = detail::parse_json_object(json_text, kMaxConfigBytes, source);
  if (!doc.ok()) return std::move(doc).take_error();
  NetworkConfigList list;
  ZONED_TRY(check_header(*doc, source, list));
  auto disable = doc->find("disableCheck");
  if (disable != doc->end() && !disable->is_null()) {
    if (!disable->is_boolean()) return bad(source, "\"disableCheck\" is not a boolean");
    list.disable_check = disable->get<bool>();
  }
  auto plugins = doc->find("plugins");
  if (plugins == doc->end() || !plugins->is_array()) return bad(source, "\"plugins\" is missing or not an array");
  if (plugins->empty()) return bad(source, "\"plugins\" is empty");
  if (plugins->size() > kMaxPlugins) return bad(source, "too many plugins");
  for (const auto& item : *plugins) {
    auto plugin = parse_plugin(item, source);
    if (!plugin.ok()) return std::move(plugin).take_error();
    list.plugins.push_back(std::move(*plugin));
  }
  list.raw_json = doc->dump();
  return list;
}

Result<NetworkConfigList> parse_single_conf(std::string_view json_text, std::string_view source) {
  auto doc = detail::parse_json_object(json_text, kMaxConfigBytes, source);
  if (!doc.ok()) return std::move(doc).take_error();
  NetworkConfigList list;
  ZONED_TRY(check_header(*doc, source, list));
  auto plugin = parse_plugin(*doc, source);
  if (!plugin.ok()) return std::move(plugin).take_error();
  list.plugins.push_back(std::move(*plugin));
  json conflist = {{"cniVersion", list.cni_version}, {"name", list.name}, {"plugins", json::array({*doc})}};
  list.raw_json = conflist.dump();
  return list;
}

Result<NetworkConfigList> load_config_file(const std::string& path) {
  const bool is_list = ends_with(path, ".conflist");
  if (!is_list && !ends_with(path, ".conf") && !ends_with(path, ".json")) {
    return Error(ErrorCode::kInvalidArgument, path + ": not a .conf, .conflist or .json file");
  }
  auto text = fs::read_file(path, kMaxConfigBytes);
  if (!text.ok()) return std::move(text).take_error().wrap("reading CNI config " + path);
  return is_list ? parse_conflist(*text, path) : parse_single_conf(*text, path);
}

Result<std::vector<std::string>> list_config_files(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return out;
    return sys_error("listing CNI config dir " + dir);
  }
  while (dirent* entry = ::readdir(d)) {
    std::string name = entry->d_name;
    if (name.empty() || name[0] == '.') continue;
    if (ends_with(name, ".conf") || ends_with(name, ".conflist") || ends_with(name, ".json")) {
      out.push_back(dir + "/" + name);
    }
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace zoned::netplug
