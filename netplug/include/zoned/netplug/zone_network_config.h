// What the zone's agent needs to configure the guest's eth0 so that it *is* the pod on the
// network: the CNI interface's MAC and MTU, the CNI addresses and routes, resolv.conf from the
// sandbox's DNS config, the hostname and /etc/hosts. Built here in dom0 from the CNI result;
// sent to the zone as JSON. from_json is for the receiving side and checks everything.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "zoned/common/result.h"
#include "zoned/netplug/cni_types.h"
#include "zoned/netplug/vif_wiring.h"

namespace zoned::netplug {

struct ZoneAddress {
  int family = 4;
  std::string address;  // "10.88.0.5"
  int prefix_length = 0;
};

struct ZoneRoute {
  std::string destination;  // CIDR
  std::string gateway;      // empty: on-link
};

struct ZoneNetworkConfig {
  std::string mac;
  uint32_t mtu = 1500;
  std::vector<ZoneAddress> addresses;
  std::vector<ZoneRoute> routes;
  DnsConfig dns;
  std::string hostname;
};

// From the CNI result of interface `ifname` (its IPs, or all IPs when the result names no
// interfaces), the interface's MAC/MTU as read in the pod netns, the CRI DNS config, the hostname.
// Without routes in the result, a default route via the first gateway is added per family.
Result<ZoneNetworkConfig> build_zone_network_config(const CniResult& result, const LinkInfo& link, const DnsConfig& dns,
                                                    const std::string& hostname);

std::string to_json(const ZoneNetworkConfig& config);
// Strict: sizes, counts, addresses, MAC format, hostname are all checked.
Result<ZoneNetworkConfig> zone_network_config_from_json(std::string_view text);

// /etc/resolv.conf, /etc/hostname and /etc/hosts contents for the zone.
std::string render_resolv_conf(const DnsConfig& dns);
std::string render_hosts(const ZoneNetworkConfig& config);

// The pod IPs for PodSandboxStatus: the addresses of `ifname` (or all), IPv4 first.
std::vector<std::string> pod_ips(const CniResult& result, const std::string& ifname);

}  // namespace zoned::netplug
