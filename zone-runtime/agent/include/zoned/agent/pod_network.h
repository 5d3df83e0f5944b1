// The pod's network inside the zone: eth0 (xen-netfront) becomes the pod -- the CNI interface's
// MAC and MTU, the CNI addresses and routes -- and the pod's resolv.conf, hosts and hostname are
// written under <state_dir>/pod/ so every container gets them read-only at /etc/resolv.conf,
// /etc/hosts and /etc/hostname (the agent adds those bind mounts to config.json, as containerd
// does; a mount the daemon already put at one of these destinations wins).
//
// The configuration comes from the daemon (IDM ConfigureNetwork, netplug's ZoneNetworkConfig
// JSON), is checked strictly by netplug's parser and applied with rtnetlink directly (the zone
// has no `ip`). LinkConfigurator is the seam: tests use a fake.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "zoned/common/result.h"
#include "zoned/netplug/zone_network_config.h"

namespace zoned::agent {

using MacAddress = std::array<std::uint8_t, 6>;

class LinkConfigurator {
 public:
  virtual ~LinkConfigurator() = default;
  // kNotFound while the interface does not exist.
  virtual Result<int> link_index(const std::string& ifname) = 0;
  virtual Status set_link_down(int index) = 0;
  virtual Status set_mac(int index, const MacAddress& mac) = 0;
  virtual Status set_mtu(int index, std::uint32_t mtu) = 0;
  virtual Status set_link_up(int index) = 0;
  // An existing identical address or route is fine.
  virtual Status add_address(int index, int family, const std::string& address, int prefix_length) = 0;
  // `destination` is a CIDR ("0.0.0.0/0"); `gateway` empty: on-link.
  virtual Status add_route(int index, int family, const std::string& destination, const std::string& gateway) = 0;
};

// rtnetlink (NETLINK_ROUTE) in the agent's own network namespace.
std::unique_ptr<LinkConfigurator> make_rtnetlink_configurator();

Result<MacAddress> parse_mac_address(const std::string& text);

// Brings lo up, then configures `ifname` (waiting up to `wait_ms` for it to appear): down, MAC,
// MTU, up, addresses, routes. Then writes <pod_dir>/{resolv.conf,hosts,hostname}.
Status configure_pod_network(const netplug::ZoneNetworkConfig& config, LinkConfigurator& links,
                             const std::string& pod_dir, const std::string& ifname = "eth0", int wait_ms = 10000);

// Adds read-only bind mounts of <pod_dir>/{resolv.conf,hosts,hostname} at /etc/... to an OCI
// config.json, skipping a destination the spec already mounts. kInvalidArgument on bad JSON.
Result<std::string> add_pod_file_mounts(const std::string& config_json, const std::string& pod_dir);

}  // namespace zoned::agent
