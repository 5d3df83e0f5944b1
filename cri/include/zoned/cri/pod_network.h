// Pod networking for the CRI layer (issue 7): a netns and a CNI attachment per sandbox, the
// zone's vif wired into that netns, and the config the zone's agent applies to its eth0.
//
// RunPodSandbox:  prepare() (netns + CNI ADD) -> zone created with nic_mac = the CNI eth0's MAC,
//                 on_domain_created wires vif<domid>.0 into the netns, the agent gets
//                 zone_config_json (ConfigureNetwork). Any failure: release() (unwire, DEL, netns).
// StopPodSandbox: release_network() (unwire if the vif still exists, CNI DEL); idempotent.
// RemovePodSandbox: remove_netns().
// PodSandboxStatus: pod_ips() from the cached CNI result (also after a restart).
// Daemon start: reconcile() with the ids of the sandboxes still known.
//
// The sandbox id is the CNI container id, the netns name and the zone id (ZoneSpec::id).
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "zoned/common/result.h"
#include "zoned/netplug/cni_network.h"
#include "zoned/netplug/netns.h"
#include "zoned/netplug/reconcile.h"
#include "zoned/netplug/vif_wiring.h"

namespace zoned::cri {

// The vif side, a seam for tests (the real one is netplug::VifWiring: ip, tc, nsenter).
class VifWirer {
 public:
  virtual ~VifWirer() = default;
  virtual Status wire(const std::string& vif, const std::string& netns, const std::string& ifname) = 0;
  virtual Status unwire(const std::string& vif, const std::string& netns, const std::string& ifname) = 0;
  virtual Result<netplug::LinkInfo> link_info(const std::string& netns, const std::string& ifname) = 0;
};
std::unique_ptr<VifWirer> make_vif_wirer(netplug::VifWiringOptions options = {});

struct PodNetworkOptions {
  netplug::CniOptions cni;
  std::string netns_dir = "/run/netns";
};

// What prepare() made: the netns, the CNI result, the MAC the zone must use.
struct PreparedPod {
  std::string netns_path;
  netplug::PodAttachment attachment;
  netplug::LinkInfo link;  // the CNI eth0 in the pod netns: MAC, MTU
};

class PodNetwork {
 public:
  PodNetwork(PodNetworkOptions options, std::unique_ptr<VifWirer> wirer);

  netplug::NetworkStatus status() { return cni_.status(); }

  // netns create + CNI ADD (+ reading eth0's MAC/MTU). Undone on failure.
  Result<PreparedPod> prepare(const netplug::PodRef& pod, const netplug::CapabilityArgs& capabilities);
  // The JSON for the agent (netplug ZoneNetworkConfig) from what prepare() made.
  Result<std::string> zone_config_json(const PreparedPod& prepared, const netplug::DnsConfig& dns,
                                       const std::string& hostname) const;
  // Moves vif<domid>.0 into the pod netns and ties it to eth0.
  Status wire(const std::string& sandbox_id, uint32_t domid);
  // Unwire (when the vif still exists: domid != 0), CNI DEL. Idempotent.
  Status release_network(const std::string& sandbox_id, uint32_t domid);
  Status remove_netns(const std::string& sandbox_id) { return netns_.remove(sandbox_id); }

  // Pod IPs (primary first) from the cached result; empty when the pod has none.
  std::vector<std::string> pod_ips(const std::string& sandbox_id) const;

  netplug::ReconcileReport reconcile(const std::set<std::string>& live_sandbox_ids);

 private:
  PodNetworkOptions options_;
  netplug::CniNetwork cni_;
  netplug::NetnsManager netns_;
  std::unique_ptr<VifWirer> wirer_;
};

}  // namespace zoned::cri
