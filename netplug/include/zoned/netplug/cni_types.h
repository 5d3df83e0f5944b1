// Plain data of the CNI layer: who a pod is, what the runtime passes to plugins
// (capability args), and what a plugin chain returns (the parsed result).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace zoned::netplug {

// The pod a network attachment belongs to. sandbox_id is CNI_CONTAINERID and names the cache
// entries and the netns; the rest goes into CNI_ARGS as K8S_POD_*.
struct PodRef {
  std::string sandbox_id;
  std::string name;
  std::string pod_namespace;
  std::string uid;
};

// One CRI port mapping, passed to plugins that declare the portMappings capability.
struct PortMapping {
  int32_t host_port = 0;
  int32_t container_port = 0;
  std::string protocol = "tcp";  // tcp, udp or sctp (lower case, as CNI plugins expect)
  std::string host_ip;           // empty: all addresses
};

// The bandwidth capability (bits per second and bits, as the bandwidth plugin reads them).
struct Bandwidth {
  uint64_t ingress_rate = 0;
  uint64_t ingress_burst = 0;
  uint64_t egress_rate = 0;
  uint64_t egress_burst = 0;
};

// The CRI sandbox DNS config: the dns capability for plugins, resolv.conf for the zone.
struct DnsConfig {
  std::vector<std::string> servers;
  std::vector<std::string> searches;
  std::vector<std::string> options;
};

// runtimeConfig values; each goes only to plugins declaring the capability.
struct CapabilityArgs {
  std::vector<PortMapping> port_mappings;
  std::optional<Bandwidth> bandwidth;
  std::optional<DnsConfig> dns;
};

// A CNI result (spec 0.3.0 to 1.x), validated: addresses and gateways are real IPs.
struct CniInterface {
  std::string name;
  std::string mac;      // may be empty
  std::string sandbox;  // netns path for interfaces inside the pod, empty for host ones
};

struct CniIpConfig {
  int family = 4;                   // 4 or 6
  std::string address;              // "10.88.0.5" (no prefix)
  int prefix_length = 0;            // 0..32 or 0..128
  std::string gateway;              // may be empty
  std::optional<size_t> interface;  // index into CniResult::interfaces
};

struct CniRoute {
  std::string destination;  // CIDR, "0.0.0.0/0"
  std::string gateway;      // may be empty
};

struct CniDns {
  std::vector<std::string> nameservers;
  std::string domain;
  std::vector<std::string> search;
  std::vector<std::string> options;
};

struct CniResult {
  std::string cni_version;
  std::vector<CniInterface> interfaces;
  std::vector<CniIpConfig> ips;
  std::vector<CniRoute> routes;
  CniDns dns;
  std::string raw_json;  // exactly what the last plugin printed: the next prevResult, the cache
};

}  // namespace zoned::netplug
