// Joins a zone's vif (the dom0 end of its Xen network device, e.g. vif5.0) to the pod network:
// the vif is moved into the pod's netns and tied to the CNI interface (eth0) with two tc
// ingress qdiscs whose u32 match-all filters redirect (mirred egress) every frame to the other
// device. The CNI interface keeps the pod's IP and MAC; the zone's eth0 is configured with
// them (see zone_network_config.h), so the frames that cross are the pod's own.
//
//   node netns            pod netns (zoned-<id>)                       zone (domU)
//   cni0 bridge ==veth==> eth0 (IP, MAC) --ingress mirred--> vif5.0 ==netback/netfront==> eth0
//                               <--ingress mirred--                                   (same IP, MAC)
//
// Uses iproute2's `ip` and `tc` through process.h, with `nsenter --net=<path>` to act inside a
// namespace (ip's own -n only knows /run/netns).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "zoned/common/result.h"

namespace zoned::netplug {

struct LinkInfo {
  std::string name;
  std::string mac;
  uint32_t mtu = 0;
};

struct VifWiringOptions {
  // The namespace vifs appear in (where netback creates them); empty: the daemon's own.
  std::string node_netns;
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};
};

class VifWiring {
 public:
  explicit VifWiring(VifWiringOptions options = {});

  // Moves `vif` from the node namespace into `pod_netns`, gives it the MTU of `pod_ifname`,
  // brings it up and installs the redirects. Undone on failure.
  Status wire(const std::string& vif, const std::string& pod_netns, const std::string& pod_ifname);

  // Removes the redirects and moves the vif back to the node namespace. Missing pieces (the vif
  // vanished with its domain, the netns is gone) are fine.
  Status unwire(const std::string& vif, const std::string& pod_netns, const std::string& pod_ifname);

  // MAC and MTU of an interface inside a namespace.
  Result<LinkInfo> link_info(const std::string& netns, const std::string& ifname) const;

 private:
  Status run(const std::string& netns, std::vector<std::string> argv) const;
  Status redirect(const std::string& netns, const std::string& from, const std::string& to) const;
  std::string node_netns_path() const;

  VifWiringOptions options_;
};

// Parses `ip -j link show` output (one link). Exposed for tests.
Result<LinkInfo> parse_ip_link_json(const std::string& text);

}  // namespace zoned::netplug
