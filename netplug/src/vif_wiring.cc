#include "zoned/netplug/vif_wiring.h"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "zoned/common/log.h"
#include "zoned/common/process.h"
#include "zoned/common/scope_guard.h"
#include "zoned/netplug/result_cache.h"

namespace zoned::netplug {
namespace {

Status check_names(const std::string& vif, const std::string& pod_netns, const std::string& pod_ifname) {
  if (!is_valid_ifname(vif) || !is_valid_ifname(pod_ifname)) {
    return Error(ErrorCode::kInvalidArgument, "bad interface name (\"" + vif + "\", \"" + pod_ifname + "\")");
  }
  if (pod_netns.empty() || pod_netns[0] != '/') {
    return Error(ErrorCode::kInvalidArgument, "network namespace path must be absolute");
  }
  return ok_status();
}

std::vector<std::string> in_netns(const std::string& netns, std::vector<std::string> argv) {
  if (netns.empty()) return argv;
  std::vector<std::string> full = {"nsenter", "--net=" + netns, "--"};
  full.insert(full.end(), argv.begin(), argv.end());
  return full;
}

}  // namespace

VifWiring::VifWiring(VifWiringOptions options) : options_(std::move(options)) {}

std::string VifWiring::node_netns_path() const {
  if (!options_.node_netns.empty()) return options_.node_netns;
  return "/proc/" + std::to_string(::getpid()) + "/ns/net";
}

Status VifWiring::run(const std::string& netns, std::vector<std::string> argv) const {
  process::Options options;
  options.argv = in_netns(netns, std::move(argv));
  options.timeout = options_.timeout;
  options.max_output_bytes = 16 * 1024;
  auto outcome = process::run_checked(options);
  if (!outcome.ok()) return std::move(outcome).take_error();
  return ok_status();
}

Status VifWiring::redirect(const std::string& netns, const std::string& from, const std::string& to) const {
  ZONED_TRY(run(netns, {"tc", "qdisc", "add", "dev", from, "handle", "ffff:", "ingress"}));
  return run(netns, {"tc",    "filter", "add", "dev", from,     "parent", "ffff:",  "protocol", "all", "u32",
                     "match", "u8",     "0",   "0",   "action", "mirred", "egress", "redirect", "dev", to});
}

Result<LinkInfo> parse_ip_link_json(const std::string& text) {
  if (text.size() > 64 * 1024) return Error(ErrorCode::kInvalidArgument, "ip link output too large");
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_array() || doc.size() != 1 || !doc[0].is_object()) {
    return Error(ErrorCode::kInvalidArgument, "unexpected ip -j link output");
  }
  const auto& link = doc[0];
  LinkInfo info;
  if (!link.contains("ifname") || !link["ifname"].is_string() || !link.contains("mtu") ||
      !link["mtu"].is_number_unsigned()) {
    return Error(ErrorCode::kInvalidArgument, "ip -j link output lacks ifname or mtu");
  }
  info.name = link["ifname"].get<std::string>();
  uint64_t mtu = link["mtu"].get<uint64_t>();
  if (mtu < 68 || mtu > 65536) return Error(ErrorCode::kInvalidArgument, "implausible MTU " + std::to_string(mtu));
  info.mtu = static_cast<uint32_t>(mtu);
  if (link.contains("address") && link["address"].is_string()) info.mac = link["address"].get<std::string>();
  return info;
}

Result<LinkInfo> VifWiring::link_info(const std::string& netns, const std::string& ifname) const {
  if (!is_valid_ifname(ifname)) return Error(ErrorCode::kInvalidArgument, "bad interface name \"" + ifname + "\"");
  process::Options options;
  options.argv = in_netns(netns, {"ip", "-j", "link", "show", "dev", ifname});
  options.timeout = options_.timeout;
  auto outcome = process::run_checked(options);
  if (!outcome.ok()) return std::move(outcome).take_error();
  auto info = parse_ip_link_json(outcome->output);
  if (!info.ok()) return std::move(info).take_error().wrap(ifname);
  return info;
}

Status VifWiring::wire(const std::string& vif, const std::string& pod_netns, const std::string& pod_ifname) {
  ZONED_TRY(check_names(vif, pod_netns, pod_ifname));
  auto pod_link = link_info(pod_netns, pod_ifname);
  if (!pod_link.ok()) return std::move(pod_link).take_error().wrap("wiring " + vif);
  ZONED_TRY(run(options_.node_netns, {"ip", "link", "set", "dev", vif, "netns", pod_netns}));
  bool done = false;
  ScopeGuard undo([&] {
    if (done) return;
    auto undone = unwire(vif, pod_netns, pod_ifname);
    if (!undone.ok())
      log::warn("undoing a failed vif wiring failed", {{"vif", vif}, {"error", undone.error().describe()}});
  });
  ZONED_TRY(run(pod_netns, {"ip", "link", "set", "dev", vif, "mtu", std::to_string(pod_link->mtu), "up"}));
  ZONED_TRY(redirect(pod_netns, pod_ifname, vif));
  ZONED_TRY(redirect(pod_netns, vif, pod_ifname));
  done = true;
  return ok_status();
}

Status VifWiring::unwire(const std::string& vif, const std::string& pod_netns, const std::string& pod_ifname) {
  ZONED_TRY(check_names(vif, pod_netns, pod_ifname));
  if (::access(pod_netns.c_str(), F_OK) != 0) return ok_status();  // the namespace, and all in it, is gone
  // Each step may find its object gone already; the last error is only reported when the vif
  // is still in the pod namespace afterwards.
  (void)run(pod_netns, {"tc", "qdisc", "del", "dev", pod_ifname, "ingress"});
  (void)run(pod_netns, {"tc", "qdisc", "del", "dev", vif, "ingress"});
  if (!link_info(pod_netns, vif).ok()) return ok_status();  // the vif went with its domain
  return run(pod_netns, {"ip", "link", "set", "dev", vif, "netns", node_netns_path()});
}

}  // namespace zoned::netplug
