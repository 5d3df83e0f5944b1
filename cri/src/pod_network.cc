// Pod networking for the CRI layer (see pod_network.h).
#include "zoned/cri/pod_network.h"

#include "zoned/common/log.h"
#include "zoned/common/scope_guard.h"
#include "zoned/netplug/zone_network_config.h"
#include "zoned/zone_runtime/hypervisor.h"

namespace zoned::cri {
namespace {

// `status` with `context` prefixed to its error.
Status in_context(Status status, const std::string& context) {
  if (status.ok()) return status;
  return std::move(status).take_error().wrap(context);
}

class RealVifWirer final : public VifWirer {
 public:
  explicit RealVifWirer(netplug::VifWiringOptions options) : wiring_(std::move(options)) {}
  Status wire(const std::string& vif, const std::string& netns, const std::string& ifname) override {
    return wiring_.wire(vif, netns, ifname);
  }
  Status unwire(const std::string& vif, const std::string& netns, const std::string& ifname) override {
    return wiring_.unwire(vif, netns, ifname);
  }
  Result<netplug::LinkInfo> link_info(const std::string& netns, const std::string& ifname) override {
    return wiring_.link_info(netns, ifname);
  }

 private:
  netplug::VifWiring wiring_;
};

}  // namespace

std::unique_ptr<VifWirer> make_vif_wirer(netplug::VifWiringOptions options) {
  return std::make_unique<RealVifWirer>(std::move(options));
}

PodNetwork::PodNetwork(PodNetworkOptions options, std::unique_ptr<VifWirer> wirer)
    : options_(std::move(options)), cni_(options_.cni), netns_(options_.netns_dir), wirer_(std::move(wirer)) {}

Result<PreparedPod> PodNetwork::prepare(const netplug::PodRef& pod, const netplug::CapabilityArgs& capabilities) {
  PreparedPod prepared;
  auto path = netns_.create(pod.sandbox_id);
  if (!path.ok()) return std::move(path).take_error().wrap("creating the pod's network namespace");
  prepared.netns_path = *path;
  ScopeGuard undo_netns([&] {
    if (auto removed = netns_.remove(pod.sandbox_id); !removed.ok()) {
      log::warn("cannot remove a pod netns", {{"id", pod.sandbox_id}, {"error", removed.error().describe()}});
    }
  });
  auto attached = cni_.setup({pod, prepared.netns_path, capabilities});
  if (!attached.ok()) return std::move(attached).take_error().wrap("CNI ADD");
  prepared.attachment = std::move(*attached);
  ScopeGuard undo_cni([&] {
    if (auto deleted = cni_.teardown(pod.sandbox_id, prepared.netns_path); !deleted.ok()) {
      log::warn("CNI DEL after a failed setup failed", {{"id", pod.sandbox_id}, {"error", deleted.error().describe()}});
    }
  });
  auto link = wirer_->link_info(prepared.netns_path, prepared.attachment.ifname);
  if (!link.ok()) return std::move(link).take_error().wrap("reading the pod's " + prepared.attachment.ifname);
  prepared.link = std::move(*link);
  if (prepared.link.mac.empty()) {
    return Error(ErrorCode::kInternal, "the pod's " + prepared.attachment.ifname + " has no MAC address");
  }
  undo_cni.dismiss();
  undo_netns.dismiss();
  return prepared;
}

Result<std::string> PodNetwork::zone_config_json(const PreparedPod& prepared, const netplug::DnsConfig& dns,
                                                 const std::string& hostname) const {
  auto config = netplug::build_zone_network_config(prepared.attachment.result, prepared.link, dns, hostname);
  if (!config.ok()) return std::move(config).take_error().wrap("the zone's network config");
  return netplug::to_json(*config);
}

Status PodNetwork::wire(const std::string& sandbox_id, uint32_t domid) {
  auto path = netns_.path_for(sandbox_id);
  if (!path.ok()) return std::move(path).take_error();
  const std::string vif = zone_runtime::nic_device_name(domid);
  return in_context(wirer_->wire(vif, *path, options_.cni.ifname), "wiring " + vif + " into the pod network");
}

Status PodNetwork::release_network(const std::string& sandbox_id, uint32_t domid) {
  auto path = netns_.path_for(sandbox_id);
  if (!path.ok()) return std::move(path).take_error();
  if (domid != 0) {
    const std::string vif = zone_runtime::nic_device_name(domid);
    if (auto unwired = wirer_->unwire(vif, *path, options_.cni.ifname); !unwired.ok()) {
      // the vif goes with its domain anyway; CNI DEL must still run
      log::warn("cannot unwire a pod's vif", {{"id", sandbox_id}, {"vif", vif}, {"error", unwired.error().describe()}});
    }
  }
  // Nothing cached: never set up, or already torn down (Stop is idempotent).
  auto cached = cni_.attachment(sandbox_id);
  if (cached.ok() && !cached->has_value()) return ok_status();
  return in_context(cni_.teardown(sandbox_id, *path), "CNI DEL");
}

std::vector<std::string> PodNetwork::pod_ips(const std::string& sandbox_id) const {
  auto attachment = cni_.attachment(sandbox_id);
  if (!attachment.ok() || !attachment->has_value()) return {};
  return netplug::pod_ips((*attachment)->result, (*attachment)->ifname);
}

netplug::ReconcileReport PodNetwork::reconcile(const std::set<std::string>& live_sandbox_ids) {
  return netplug::reconcile(cni_, netns_, live_sandbox_ids);
}

}  // namespace zoned::cri
