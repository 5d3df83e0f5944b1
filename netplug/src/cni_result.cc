#include "zoned/netplug/cni_result.h"

#include <algorithm>
#include <charconv>

#include "json_util.h"

namespace zoned::netplug {
namespace {

using detail::ip_family;
using detail::string_array_field;
using detail::string_field;
using nlohmann::json;

constexpr size_t kMaxEntries = 64;

Error bad(const std::string& message) {
  return Error(ErrorCode::kInvalidArgument, message);
}

// "10.1.2.3/24" into address, family and prefix.
Status parse_cidr(const std::string& cidr, std::string& address, int& family, int& prefix) {
  auto slash = cidr.find('/');
  if (slash == std::string::npos) return bad("\"" + cidr + "\" is not an address with a prefix length");
  address = cidr.substr(0, slash);
  auto fam = ip_family(address);
  if (!fam) return bad("\"" + cidr + "\" is not an IP address");
  family = *fam;
  std::string_view len = std::string_view(cidr).substr(slash + 1);
  auto [ptr, ec] = std::from_chars(len.data(), len.data() + len.size(), prefix);
  if (ec != std::errc() || ptr != len.data() + len.size() || len.empty() || prefix < 0 ||
      prefix > (family == 4 ? 32 : 128)) {
    return bad("\"" + cidr + "\" has a bad prefix length");
  }
  return ok_status();
}

Result<std::vector<CniInterface>> parse_interfaces(const json& doc) {
  std::vector<CniInterface> out;
  auto it = doc.find("interfaces");
  if (it == doc.end() || it->is_null()) return out;
  if (!it->is_array() || it->size() > kMaxEntries) return bad("\"interfaces\" is not a short array");
  for (const auto& item : *it) {
    if (!item.is_object()) return bad("an interface is not an object");
    CniInterface iface;
    auto name = string_field(item, "name", true);
    auto mac = string_field(item, "mac", false);
    auto sandbox = string_field(item, "sandbox", false);
    if (!name.ok()) return std::move(name).take_error().wrap("interface");
    if (!mac.ok()) return std::move(mac).take_error().wrap("interface " + *name);
    if (!sandbox.ok()) return std::move(sandbox).take_error().wrap("interface " + *name);
    if (name->empty() || name->size() > 15) return bad("interface name \"" + *name + "\" is not valid");
    iface.name = std::move(*name);
    iface.mac = std::move(*mac);
    iface.sandbox = std::move(*sandbox);
    out.push_back(std::move(iface));
  }
  return out;
}

Result<CniIpConfig> parse_ip(const json& item, size_t interface_count) {
  if (!item.is_object()) return bad("an ip is not an object");
  CniIpConfig ip;
  auto address = string_field(item, "address", true);
  if (!address.ok()) return std::move(address).take_error().wrap("ip");
  ZONED_TRY(parse_cidr(*address, ip.address, ip.family, ip.prefix_length));
  auto gateway = string_field(item, "gateway", false);
  if (!gateway.ok()) return std::move(gateway).take_error().wrap("ip " + *address);
  if (!gateway->empty() && ip_family(*gateway) != ip.family) {
    return bad("ip " + *address + ": gateway \"" + *gateway + "\" is not an address of the same family");
  }
  ip.gateway = std::move(*gateway);
  auto index = item.find("interface");
  if (index != item.end() && !index->is_null()) {
    if (!index->is_number_unsigned() || index->get<uint64_t>() >= interface_count) {
      return bad("ip " + *address + ": \"interface\" is not an index into \"interfaces\"");
    }
    ip.interface = index->get<size_t>();
  }
  return ip;
}

Result<std::vector<CniRoute>> parse_routes(const json& doc) {
  std::vector<CniRoute> out;
  auto it = doc.find("routes");
  if (it == doc.end() || it->is_null()) return out;
  if (!it->is_array() || it->size() > kMaxEntries) return bad("\"routes\" is not a short array");
  for (const auto& item : *it) {
    if (!item.is_object()) return bad("a route is not an object");
    auto dst = string_field(item, "dst", true);
    auto gw = string_field(item, "gw", false);
    if (!dst.ok()) return std::move(dst).take_error().wrap("route");
    if (!gw.ok()) return std::move(gw).take_error().wrap("route " + *dst);
    std::string address;
    int family = 0;
    int prefix = 0;
    ZONED_TRY(parse_cidr(*dst, address, family, prefix));
    if (!gw->empty() && ip_family(*gw) != family) return bad("route " + *dst + ": bad gateway \"" + *gw + "\"");
    out.push_back(CniRoute{std::move(*dst), std::move(*gw)});
  }
  return out;
}

Result<CniDns> parse_dns(const json& doc) {
  CniDns dns;
  auto it = doc.find("dns");
  if (it == doc.end() || it->is_null()) return dns;
  if (!it->is_object()) return bad("\"dns\" is not an object");
  auto nameservers = string_array_field(*it, "nameservers", kMaxEntries);
  auto domain = string_field(*it, "domain", false);
  auto search = string_array_field(*it, "search", kMaxEntries);
  auto options = string_array_field(*it, "options", kMaxEntries);
  if (!nameservers.ok()) return std::move(nameservers).take_error().wrap("dns");
  if (!domain.ok()) return std::move(domain).take_error().wrap("dns");
  if (!search.ok()) return std::move(search).take_error().wrap("dns");
  if (!options.ok()) return std::move(options).take_error().wrap("dns");
  for (const auto& server : *nameservers) {
    if (!ip_family(server)) return bad("dns: nameserver \"" + server + "\" is not an IP address");
  }
  dns.nameservers = std::move(*nameservers);
  dns.domain = std::move(*domain);
  dns.search = std::move(*search);
  dns.options = std::move(*options);
  return dns;
}

Result<CniResult> parse_result_doc(const json& doc, std::string_view text) {
  CniResult result;
  auto version = string_field(doc, "cniVersion", true);
  if (!version.ok()) return std::move(version).take_error();
  if (!is_supported_cni_version(*version)) return bad("unsupported result version \"" + *version + "\"");
  result.cni_version = std::move(*version);
  auto interfaces = parse_interfaces(doc);
  if (!interfaces.ok()) return std::move(interfaces).take_error();
  result.interfaces = std::move(*interfaces);
  auto ips = doc.find("ips");
  if (ips != doc.end() && !ips->is_null()) {
    if (!ips->is_array() || ips->size() > kMaxEntries) return bad("\"ips\" is not a short array");
    for (const auto& item : *ips) {
      auto ip = parse_ip(item, result.interfaces.size());
      if (!ip.ok()) return std::move(ip).take_error();
      result.ips.push_back(std::move(*ip));
    }
  }
  auto routes = parse_routes(doc);
  if (!routes.ok()) return std::move(routes).take_error();
  result.routes = std::move(*routes);
  auto dns = parse_dns(doc);
  if (!dns.ok()) return std::move(dns).take_error();
  result.dns = std::move(*dns);
  result.raw_json = std::string(text);
  return result;
}

}  // namespace

const std::vector<std::string>& supported_cni_versions() {
  static const std::vector<std::string> versions = {"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"};
  return versions;
}

bool is_supported_cni_version(std::string_view version) {
  const auto& all = supported_cni_versions();
  return std::find(all.begin(), all.end(), version) != all.end();
}

Result<CniResult> parse_cni_result(std::string_view json_text) {
  auto doc = detail::parse_json_object(json_text, kMaxPluginOutputBytes, "CNI result");
  if (!doc.ok()) return std::move(doc).take_error();
  auto result = parse_result_doc(*doc, json_text);
  if (!result.ok()) return std::move(result).take_error().wrap("CNI result");
  return result;
}

Error parse_cni_error(std::string_view plugin, std::string_view stdout_text, std::string_view stderr_text,
                      std::string_view status) {
  std::string prefix = "CNI plugin " + std::string(plugin) + " " + std::string(status);
  auto doc = detail::parse_json_object(stdout_text, kMaxPluginOutputBytes, "CNI error");
  auto tail = [](std::string_view text) {
    std::string s(text.size() > 1000 ? text.substr(text.size() - 1000) : text);
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  };
  if (!doc.ok() || !doc->contains("code") || !(*doc)["code"].is_number_unsigned()) {
    std::string detail = tail(stdout_text.empty() ? stderr_text : stdout_text);
    return Error(ErrorCode::kInternal, detail.empty() ? prefix : prefix + ": " + detail);
  }
  const uint64_t code = (*doc)["code"].get<uint64_t>();
  std::string msg = string_field(*doc, "msg", false).ok() ? *string_field(*doc, "msg", false) : "";
  std::string details = string_field(*doc, "details", false).ok() ? *string_field(*doc, "details", false) : "";
  if (msg.size() > 2000) msg.resize(2000);
  if (details.size() > 2000) details.resize(2000);
  std::string message = prefix + " (CNI error " + std::to_string(code) + "): " + msg;
  if (!details.empty()) message += ": " + details;
  // Spec codes: 1 incompatible version, 2 unsupported field, 3 unknown container, 4 invalid
  // environment, 5 I/O, 6 decoding, 7 invalid network config, 11 try again later.
  ErrorCode mapped = ErrorCode::kInternal;
  if (code == 1 || code == 2 || code == 4 || code == 7) mapped = ErrorCode::kFailedPrecondition;
  if (code == 3) mapped = ErrorCode::kNotFound;
  if (code == 11) mapped = ErrorCode::kUnavailable;
  return Error(mapped, std::move(message));
}

Result<std::vector<std::string>> parse_version_answer(std::string_view json_text) {
  auto doc = detail::parse_json_object(json_text, kMaxPluginOutputBytes, "CNI VERSION answer");
  if (!doc.ok()) return std::move(doc).take_error();
  auto versions = string_array_field(*doc, "supportedVersions", 64);
  if (!versions.ok()) return std::move(versions).take_error().wrap("CNI VERSION answer");
  if (versions->empty()) {
    // A plugin that only knows the first spec answers without the list.
    auto single = string_field(*doc, "cniVersion", true);
    if (!single.ok()) return std::move(single).take_error().wrap("CNI VERSION answer");
    versions->push_back(*single);
  }
  return versions;
}

}  // namespace zoned::netplug
