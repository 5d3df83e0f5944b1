// CNI network configuration files: parsing .conf/.json (one plugin) and .conflist (a chain),
// and choosing the one to use from a directory the way containerd (go-cni, libcni) does:
// files sorted by name, the first valid one wins.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "zoned/common/result.h"

namespace zoned::netplug {

// The largest config file read.
inline constexpr size_t kMaxConfigBytes = 1024 * 1024;

struct PluginConfig {
  std::string type;                          // the binary name, looked up in the plugin dirs
  std::map<std::string, bool> capabilities;  // e.g. {"portMappings": true}
  std::string raw_json;                      // the plugin's object as written
};

struct NetworkConfigList {
  std::string name;
  std::string cni_version;
  bool disable_check = false;
  std::vector<PluginConfig> plugins;  // at least one
  std::string source;                 // file path, or "<built-in>"
  std::string raw_json;               // the list as one conflist document (what the cache keeps)
};

// A CNI network name: letters, digits, '_', '.', '-', starting with a letter or digit, at most
// 128 characters (it becomes part of cache file names).
bool is_valid_network_name(std::string_view name);

// A conflist document ({"name", "cniVersion", "plugins": [...]}).
Result<NetworkConfigList> parse_conflist(std::string_view json_text, std::string_view source);
// A single-plugin .conf document, turned into a list of one.
Result<NetworkConfigList> parse_single_conf(std::string_view json_text, std::string_view source);
// By extension: .conflist, or .conf/.json. Other extensions are InvalidArgument.
Result<NetworkConfigList> load_config_file(const std::string& path);

// The candidate config files of a directory (.conf, .conflist, .json), sorted by name.
// A missing directory gives an empty list.
Result<std::vector<std::string>> list_config_files(const std::string& dir);

}  // namespace zoned::netplug
