// Chooses the network config to use, as containerd does: the config files of the directory
// sorted by name, the first valid one. Valid here means: it parses, every plugin binary exists
// in the plugin dirs, and every plugin supports the list's cniVersion (asked with VERSION,
// remembered per binary and mtime), which this module can read too. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "zoned/netplug/cni_config.h"
#include "zoned/netplug/plugin_exec.h"

namespace zoned::netplug {

// A config list with the paths of its plugin binaries (same order as plugins).
struct ResolvedNetwork {
  NetworkConfigList list;
  std::vector<std::string> plugin_paths;
};

struct ConfigChoice {
  bool ready = false;
  std::string reason;   // when not ready: "NoCNIConfig"
  std::string message;  // when not ready: why each candidate was refused
  ResolvedNetwork network;
};

class ConfigSelector {
 public:
  ConfigSelector(std::string conf_dir, const PluginExec& exec);

  // The current choice; rescans when the directory's files changed or nothing was valid.
  ConfigChoice current();

  // Checks one list (also used for cached lists at DEL time and the built-in loopback).
  Result<ResolvedNetwork> resolve(const NetworkConfigList& list);

 private:
  struct Version {
    int64_t mtime_ns = 0;
    std::vector<std::string> supported;
  };
  Result<std::vector<std::string>> versions_of(const std::string& plugin_path);
  std::string fingerprint(const std::vector<std::string>& files) const;
  ConfigChoice scan(const std::vector<std::string>& files);

  std::string conf_dir_;
  const PluginExec& exec_;
  std::mutex mutex_;
  std::string last_fingerprint_;
  ConfigChoice last_;
  std::map<std::string, Version> versions_;
};

}  // namespace zoned::netplug
