#include "zoned/netplug/zone_network_config.h"

#include <algorithm>

#include "json_util.h"

namespace zoned::netplug {
namespace {

using nlohmann::json;

constexpr size_t kMaxItems = 32;

bool valid_mac(const std::string& mac) {
  if (mac.size() != 17) return false;
  for (size_t i = 0; i < mac.size(); ++i) {
    char c = mac[i];
    bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (i % 3 == 2 ? c != ':' : !hex) return false;
  }
  return true;
}

bool valid_hostname(const std::string& name) {
  return !name.empty() && name.size() <= 253 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
  });
}

// A resolv.conf word: no whitespace, no control characters, not too long.
bool valid_word(const std::string& word) {
  return !word.empty() && word.size() <= 253 && std::none_of(word.begin(), word.end(), [](char c) {
    return static_cast<unsigned char>(c) <= ' ' || c == 0x7f || c == '#' || c == ';';
  });
}

Status check_dns(const DnsConfig& dns) {
  if (dns.servers.size() > kMaxItems || dns.searches.size() > kMaxItems || dns.options.size() > kMaxItems) {
    return Error(ErrorCode::kInvalidArgument, "DNS config has too many entries");
  }
  for (const auto& server : dns.servers) {
    if (!detail::ip_family(server))
      return Error(ErrorCode::kInvalidArgument, "DNS server \"" + server + "\" is not an IP");
  }
  for (const auto* list : {&dns.searches, &dns.options}) {
    for (const auto& word : *list) {
      if (!valid_word(word)) return Error(ErrorCode::kInvalidArgument, "bad DNS search or option \"" + word + "\"");
    }
  }
  return ok_status();
}

bool ip_belongs(const CniResult& result, const CniIpConfig& ip, const std::string& ifname) {
  if (!ip.interface) return true;
  return result.interfaces[*ip.interface].name == ifname;
}

}  // namespace

Result<ZoneNetworkConfig> build_zone_network_config(const CniResult& result, const LinkInfo& link, const DnsConfig& dns,
                                                    const std::string& hostname) {
  ZoneNetworkConfig config;
  if (!valid_mac(link.mac))
    return Error(ErrorCode::kInvalidArgument, "interface MAC \"" + link.mac + "\" is not valid");
  if (!valid_hostname(hostname))
    return Error(ErrorCode::kInvalidArgument, "hostname \"" + hostname + "\" is not valid");
  ZONED_TRY(check_dns(dns));
  config.mac = link.mac;
  config.mtu = link.mtu;
  config.dns = dns;
  config.hostname = hostname;
  std::string gateway4;
  std::string gateway6;
  for (const CniIpConfig& ip : result.ips) {
    if (!ip_belongs(result, ip, link.name)) continue;
    config.addresses.push_back(ZoneAddress{ip.family, ip.address, ip.prefix_length});
    std::string& gateway = ip.family == 4 ? gateway4 : gateway6;
    if (gateway.empty()) gateway = ip.gateway;
  }
  if (config.addresses.empty())
    return Error(ErrorCode::kFailedPrecondition, "the CNI result has no address for " + link.name);
  for (const CniRoute& route : result.routes) {
    std::string gateway = route.gateway;
    if (gateway.empty()) gateway = route.destination.find(':') == std::string::npos ? gateway4 : gateway6;
    config.routes.push_back(ZoneRoute{route.destination, gateway});
  }
  if (result.routes.empty()) {
    if (!gateway4.empty()) config.routes.push_back(ZoneRoute{"0.0.0.0/0", gateway4});
    if (!gateway6.empty()) config.routes.push_back(ZoneRoute{"::/0", gateway6});
  }
  return config;
}

std::string to_json(const ZoneNetworkConfig& config) {
  json addresses = json::array();
  for (const auto& a : config.addresses) {
    addresses.push_back({{"family", a.family}, {"address", a.address}, {"prefixLength", a.prefix_length}});
  }
  json routes = json::array();
  for (const auto& r : config.routes) routes.push_back({{"destination", r.destination}, {"gateway", r.gateway}});
  json doc = {
      {"mac", config.mac},
      {"mtu", config.mtu},
      {"addresses", addresses},
      {"routes", routes},
      {"dns", {{"servers", config.dns.servers}, {"searches", config.dns.searches}, {"options", config.dns.options}}},
      {"hostname", config.hostname}};
  return doc.dump();
}

Result<ZoneNetworkConfig> zone_network_config_from_json(std::string_view text) {
  auto doc = detail::parse_json_object(text, 64 * 1024, "zone network config");
  if (!doc.ok()) return std::move(doc).take_error();
  auto bad = [](const std::string& m) { return Error(ErrorCode::kInvalidArgument, "zone network config: " + m); };
  ZoneNetworkConfig config;
  auto mac = detail::string_field(*doc, "mac", true);
  auto hostname = detail::string_field(*doc, "hostname", true);
  if (!mac.ok() || !valid_mac(*mac)) return bad("bad mac");
  if (!hostname.ok() || !valid_hostname(*hostname)) return bad("bad hostname");
  config.mac = *mac;
  config.hostname = *hostname;
  auto mtu = doc->find("mtu");
  if (mtu == doc->end() || !mtu->is_number_unsigned() || mtu->get<uint64_t>() < 68 || mtu->get<uint64_t>() > 65536) {
    return bad("bad mtu");
  }
  config.mtu = mtu->get<uint32_t>();
  auto addresses = doc->find("addresses");
  if (addresses == doc->end() || !addresses->is_array() || addresses->size() > kMaxItems) return bad("bad addresses");
  for (const auto& a : *addresses) {
    if (!a.is_object()) return bad("bad address");
    auto address = detail::string_field(a, "address", true);
    auto prefix = a.find("prefixLength");
    if (!address.ok() || prefix == a.end() || !prefix->is_number_unsigned()) return bad("bad address");
    auto family = detail::ip_family(*address);
    if (!family || prefix->get<uint64_t>() > (*family == 4 ? 32u : 128u)) return bad("bad address " + *address);
    config.addresses.push_back(ZoneAddress{*family, *address, prefix->get<int>()});
  }
  auto routes = doc->find("routes");
  if (routes == doc->end() || !routes->is_array() || routes->size() > kMaxItems) return bad("bad routes");
  for (const auto& r : *routes) {
    if (!r.is_object()) return bad("bad route");
    auto destination = detail::string_field(r, "destination", true);
    auto gateway = detail::string_field(r, "gateway", false);
    if (!destination.ok() || !gateway.ok()) return bad("bad route");
    auto slash = destination->find('/');
    if (slash == std::string::npos || !detail::ip_family(destination->substr(0, slash)))
      return bad("bad route destination");
    if (!gateway->empty() && !detail::ip_family(*gateway)) return bad("bad route gateway");
    config.routes.push_back(ZoneRoute{*destination, *gateway});
  }
  auto dns = doc->find("dns");
  if (dns == doc->end() || !dns->is_object()) return bad("bad dns");
  auto servers = detail::string_array_field(*dns, "servers", kMaxItems);
  auto searches = detail::string_array_field(*dns, "searches", kMaxItems);
  auto options = detail::string_array_field(*dns, "options", kMaxItems);
  if (!servers.ok() || !searches.ok() || !options.ok()) return bad("bad dns");
  config.dns = DnsConfig{*servers, *searches, *options};
  auto checked = check_dns(config.dns);
  if (!checked.ok()) return std::move(checked).take_error().wrap("zone network config");
  return config;
}

std::string render_resolv_conf(const DnsConfig& dns) {
  std::string out;
  for (const auto& server : dns.servers) out += "nameserver " + server + "\n";
  if (!dns.searches.empty()) {
    out += "search";
    for (const auto& s : dns.searches) out += " " + s;
    out += "\n";
  }
  if (!dns.options.empty()) {
    out += "options";
    for (const auto& o : dns.options) out += " " + o;
    out += "\n";
  }
  return out;
}

std::string render_hosts(const ZoneNetworkConfig& config) {
  std::string out = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";
  for (const auto& a : config.addresses) out += a.address + "\t" + config.hostname + "\n";
  return out;
}

std::vector<std::string> pod_ips(const CniResult& result, const std::string& ifname) {
  std::vector<std::string> v4;
  std::vector<std::string> v6;
  for (const CniIpConfig& ip : result.ips) {
    if (!ip_belongs(result, ip, ifname)) continue;
    (ip.family == 4 ? v4 : v6).push_back(ip.address);
  }
  v4.insert(v4.end(), v6.begin(), v6.end());
  return v4;
}

}  // namespace zoned::netplug
