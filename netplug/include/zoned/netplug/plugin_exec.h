// The CNI exec protocol: one plugin binary run with CNI_* in its environment, its network
// config on stdin, its result (or error object) on stdout. No shell is involved.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "zoned/common/result.h"

namespace zoned::netplug {

enum class CniCommand { kAdd, kDel, kCheck, kVersion };
const char* cni_command_name(CniCommand command);

struct PluginExecOptions {
  // Searched in order for the plugin binary; also CNI_PATH (for delegated IPAM plugins).
  std::vector<std::string> plugin_dirs = {"/usr/lib/cni", "/opt/cni/bin"};
  // Prepended to the plugin's argv, e.g. {"nsenter", "--net=/run/netns/node"} to run plugins in
  // another network namespace than the daemon's (tests use it for a private "node"). Empty in
  // production: plugins run in the daemon's namespace, the node's.
  std::vector<std::string> exec_prefix;
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
};

struct PluginRequest {
  CniCommand command = CniCommand::kVersion;
  std::string container_id;
  std::string netns;  // path, may be empty (DEL of a gone namespace, VERSION)
  std::string ifname;
  std::string cni_args;  // "IgnoreUnknown=1;K8S_POD_NAMESPACE=..."
  std::string config;    // the JSON written to stdin
};

class PluginExec {
 public:
  explicit PluginExec(PluginExecOptions options);

  // The first executable regular file named `type` in the plugin dirs; NotFound otherwise.
  Result<std::string> find(const std::string& type) const;

  // Runs the plugin; returns its stdout when it exits 0, else the error object as an Error.
  Result<std::string> run(const std::string& plugin_path, const PluginRequest& request) const;

  // VERSION: the spec versions the plugin supports.
  Result<std::vector<std::string>> supported_versions(const std::string& plugin_path) const;

  const PluginExecOptions& options() const { return options_; }

 private:
  std::vector<std::string> environment(const PluginRequest& request) const;

  PluginExecOptions options_;
};

}  // namespace zoned::netplug
