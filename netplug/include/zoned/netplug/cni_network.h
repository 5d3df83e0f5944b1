// The pod network through CNI: ADD a sandbox's netns to the chosen network (and the loopback
// plugin on "lo"), DEL it again, CHECK it, and report whether the network is ready.
//
// Every attachment is written to the ResultCache *before* ADD runs (with no result yet) and
// completed after, so a daemon killed mid-ADD still finds something to DEL at reconciliation.
// DEL always runs from the cached config, not the current one.
//
// Thread-safe; operations on the same sandbox must not overlap (the CRI layer serializes them).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "zoned/common/result.h"
#include "zoned/netplug/cni_types.h"
#include "zoned/netplug/config_selector.h"
#include "zoned/netplug/plugin_exec.h"
#include "zoned/netplug/result_cache.h"

namespace zoned::netplug {

struct CniOptions {
  std::string conf_dir = "/etc/cni/net.d";
  PluginExecOptions exec;  // plugin dirs, timeout, exec prefix
  std::string cache_dir = "/var/lib/zoned/cni/results";
  std::string ifname = "eth0";
  bool loopback = true;  // also run the loopback plugin on "lo", as containerd does
};

// The CRI NetworkReady condition.
struct NetworkStatus {
  bool ready = false;
  std::string reason;  // "NoCNIConfig" when not ready
  std::string message;
  std::string network_name;
  std::string config_file;
};

struct AttachRequest {
  PodRef pod;
  std::string netns_path;
  CapabilityArgs capabilities;
};

struct PodAttachment {
  std::string network_name;
  std::string ifname;
  CniResult result;
};

class CniNetwork {
 public:
  explicit CniNetwork(CniOptions options);

  NetworkStatus status();

  // ADD (loopback first, then the network). On failure everything added is deleted again.
  // FailedPrecondition when no valid config exists.
  Result<PodAttachment> setup(const AttachRequest& request);

  // DEL of every cached attachment of the sandbox (in reverse order of setup), then the cache
  // entries go. Without cache entries, DEL with the current config (a best effort, like libcni).
  // A netns that is already gone is fine: plugins then only free their allocations.
  Status teardown(const std::string& sandbox_id, const std::string& netns_path);

  // CHECK of the sandbox's attachment (spec 0.4.0 and later; older ones are not checked).
  Status check(const std::string& sandbox_id);

  // The cached result of the sandbox's main attachment (PodSandboxStatus after a restart).
  Result<std::optional<PodAttachment>> attachment(const std::string& sandbox_id) const;

  // Every cached attachment (reconciliation), and the DEL of one of them.
  Result<std::vector<CachedAttachment>> cached() const;
  Status delete_cached(const CachedAttachment& entry);

  const CniOptions& options() const { return options_; }

 private:
  Result<PodAttachment> add_network(const ResolvedNetwork& network, const AttachRequest& request,
                                    const std::string& ifname);
  Status run_del(const ResolvedNetwork& network, const CachedAttachment& entry);

  CniOptions options_;
  PluginExec exec_;
  ConfigSelector selector_;
  ResultCache cache_;
};

// The CNI_ARGS of a pod. InvalidArgument when a value cannot be carried (';', '=', controls).
Result<std::string> build_cni_args(const PodRef& pod);
// The runtimeConfig values as a JSON object text ({"portMappings": [...], ...}).
std::string capability_args_json(const CapabilityArgs& args);
// The stdin config of plugin `index` of a list: its object plus name, cniVersion, prevResult
// (when given) and runtimeConfig limited to the capabilities it declares.
Result<std::string> build_plugin_config(const NetworkConfigList& list, size_t index, const std::string& prev_result,
                                        const std::string& capability_args);

}  // namespace zoned::netplug
