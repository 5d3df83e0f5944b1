// The pod's eth0 and /etc files in the zone (see pod_network.h).
#include "zoned/agent/pod_network.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "zoned/common/file_ops.h"
#include "zoned/common/log.h"
#include "zoned/common/unique_fd.h"

namespace zoned::agent {
namespace {

// `status` with `context` prefixed to its error.
Status in_context(Status status, const std::string& context) {
  if (status.ok()) return status;
  return std::move(status).take_error().wrap(context);
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Written whole to a temporary file, then renamed: a container never sees half a file.
Status write_pod_file(const std::string& dir, const std::string& name, const std::string& content) {
  const std::string path = dir + "/" + name, tmp = path + ".tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (!fd.valid()) return Error(ErrorCode::kInternal, "cannot create " + tmp, errno);
  ZONED_TRY(fs::write_all(fd.get(), content.data(), content.size()));
  if (::fchmod(fd.get(), 0644) != 0) return Error(ErrorCode::kInternal, "cannot chmod " + tmp, errno);
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Error(ErrorCode::kInternal, "cannot rename " + tmp, errno);
  return ok_status();
}

Result<int> wait_for_link(LinkConfigurator& links, const std::string& ifname, int wait_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  while (true) {
    auto index = links.link_index(ifname);
    if (index.ok() || index.error().code() != ErrorCode::kNotFound) return index;
    if (std::chrono::steady_clock::now() >= deadline) {
      return std::move(index).take_error().wrap("waiting " + std::to_string(wait_ms) + " ms for " + ifname);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

Result<MacAddress> parse_mac_address(const std::string& text) {
  MacAddress mac{};
  if (text.size() != 17) return Error(ErrorCode::kInvalidArgument, "bad MAC address");
  for (std::size_t i = 0; i < 6; ++i) {
    const std::size_t at = i * 3;
    if (i > 0 && text[at - 1] != ':') return Error(ErrorCode::kInvalidArgument, "bad MAC address");
    const int hi = hex_digit(text[at]), lo = hex_digit(text[at + 1]);
    if (hi < 0 || lo < 0) return Error(ErrorCode::kInvalidArgument, "bad MAC address");
    mac[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  if ((mac[0] & 1) != 0) return Error(ErrorCode::kInvalidArgument, "multicast MAC address");
  return mac;
}

Status configure_pod_network(const netplug::ZoneNetworkConfig& config, LinkConfigurator& links,
                             const std::string& pod_dir, const std::string& ifname, int wait_ms) {
  auto lo = links.link_index("lo");
  if (!lo.ok()) return std::move(lo).take_error().wrap("loopback");
  ZONED_TRY(in_context(links.set_link_up(*lo), "bringing lo up"));

  auto index = wait_for_link(links, ifname, wait_ms);
  if (!index.ok()) return std::move(index).take_error();
  ZONED_TRY(in_context(links.set_link_down(*index), "setting " + ifname + " down"));
  if (!config.mac.empty()) {
    auto mac = parse_mac_address(config.mac);
    if (!mac.ok()) return std::move(mac).take_error();
    ZONED_TRY(in_context(links.set_mac(*index, *mac), "setting the MAC of " + ifname));
  }
  if (config.mtu != 0) ZONED_TRY(in_context(links.set_mtu(*index, config.mtu), "setting the MTU of " + ifname));
  ZONED_TRY(in_context(links.set_link_up(*index), "bringing " + ifname + " up"));
  for (const auto& a : config.addresses) {
    ZONED_TRY(in_context(links.add_address(*index, a.family, a.address, a.prefix_length),
                         "adding " + a.address + "/" + std::to_string(a.prefix_length)));
  }
  for (const auto& r : config.routes) {
    const int family = r.destination.find(':') != std::string::npos ? 6 : 4;
    ZONED_TRY(in_context(links.add_route(*index, family, r.destination, r.gateway),
                         "adding the route to " + r.destination + (r.gateway.empty() ? "" : " via " + r.gateway)));
  }

  if (::mkdir(pod_dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return Error(ErrorCode::kInternal, "cannot create " + pod_dir, errno);
  }
  ZONED_TRY(write_pod_file(pod_dir, "resolv.conf", netplug::render_resolv_conf(config.dns)));
  ZONED_TRY(write_pod_file(pod_dir, "hosts", netplug::render_hosts(config)));
  ZONED_TRY(write_pod_file(pod_dir, "hostname", config.hostname + "\n"));
  log::info("pod network configured", {{"interface", ifname},
                                       {"mac", config.mac},
                                       {"mtu", config.mtu},
                                       {"addresses", config.addresses.size()},
                                       {"routes", config.routes.size()}});
  return ok_status();
}

Result<std::string> add_pod_file_mounts(const std::string& config_json, const std::string& pod_dir) {
  using nlohmann::json;
  json doc = json::parse(config_json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return Error(ErrorCode::kInvalidArgument, "config.json is not an object");
  json& mounts = doc["mounts"];
  if (mounts.is_null()) mounts = json::array();
  if (!mounts.is_array()) return Error(ErrorCode::kInvalidArgument, "config.json: mounts is not an array");
  for (const char* name : {"resolv.conf", "hosts", "hostname"}) {
    const std::string destination = std::string("/etc/") + name;
    bool taken = false;
    for (const auto& m : mounts) {
      if (m.is_object() && m.value("destination", json()).is_string() && m["destination"] == destination) taken = true;
    }
    if (taken) continue;
    mounts.push_back({{"destination", destination},
                      {"type", "bind"},
                      {"source", pod_dir + "/" + name},
                      {"options", json::array({"rbind", "ro", "nosuid", "nodev", "noexec"})}});
  }
  try {
    return doc.dump();
  } catch (const json::exception&) {
    return Error(ErrorCode::kInvalidArgument, "config.json holds text that is not valid UTF-8");
  }
}

}  // namespace zoned::agent
