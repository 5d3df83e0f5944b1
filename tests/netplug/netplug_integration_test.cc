// netplug against the real Debian CNI plugins (containernetworking-plugins: bridge, host-local,
// loopback, portmap) and the real kernel, all inside namespaces this test creates: a private
// "node" namespace (where the plugins run, via nsenter, and the bridge lives), one namespace per
// pod, and a "fake zone" namespace whose veth stands in for a Xen vif. Needs root; skips without
// it or without the plugins. Nothing touches the host's own interfaces.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>
#include <filesystem>
#include <set>

#include "support/temp_dir.h"
#include "zoned/common/process.h"
#include "zoned/netplug/cni_network.h"
#include "zoned/netplug/netns.h"
#include "zoned/netplug/reconcile.h"
#include "zoned/netplug/vif_wiring.h"
#include "zoned/netplug/zone_network_config.h"

using namespace zoned::netplug;
using zoned::Result;
using zoned::Status;
using zoned::UniqueFd;

namespace {

const char* const kPluginDir = "/usr/lib/cni";
const char* const kPod1 = "aaaaaaaaaaaaaaaa1111111111111111";
const char* const kPod2 = "bbbbbbbbbbbbbbbb2222222222222222";
const char* const kPod3 = "cccccccccccccccc3333333333333333";

std::string why_skip() {
  if (::geteuid() != 0) return "needs root (network namespaces, bridge, iptables)";
  for (const char* plugin : {"bridge", "host-local", "loopback", "portmap"}) {
    if (!std::filesystem::exists(std::string(kPluginDir) + "/" + plugin)) {
      return std::string("CNI plugin ") + plugin + " missing in " + kPluginDir + " (containernetworking-plugins)";
    }
  }
  for (const char* tool : {"/usr/bin/nsenter", "/usr/sbin/ip", "/usr/sbin/tc", "/usr/sbin/iptables"}) {
    if (!std::filesystem::exists(tool)) return std::string(tool) + " missing";
  }
  return "";
}

Status in_ns(const std::string& ns, std::vector<std::string> argv) {
  zoned::process::Options options;
  options.argv = {"nsenter", "--net=" + ns, "--"};
  options.argv.insert(options.argv.end(), argv.begin(), argv.end());
  options.timeout = std::chrono::seconds(10);
  auto outcome = zoned::process::run_checked(options);
  if (!outcome.ok()) return std::move(outcome).take_error();
  return zoned::ok_status();
}

sockaddr_in ipv4(const std::string& ip, uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  ::inet_pton(AF_INET, ip.c_str(), &addr.sin_addr);
  return addr;
}

// A TCP exchange: listen in `server_ns` on `port`, connect from `client_ns` to ip:connect_port,
// send "ping", answer "pong". Returns the client address the server saw, or "" on failure.
std::string tcp_exchange(const std::string& server_ns, uint16_t port, const std::string& client_ns,
                         const std::string& ip, uint16_t connect_port) {
  auto server = socket_in_netns(server_ns, AF_INET, SOCK_STREAM, 0);
  auto client = socket_in_netns(client_ns, AF_INET, SOCK_STREAM, 0);
  if (!server.ok() || !client.ok()) return "";
  int one = 1;
  ::setsockopt(server->get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in any = ipv4("0.0.0.0", port);
  if (::bind(server->get(), reinterpret_cast<sockaddr*>(&any), sizeof any) != 0) return "";
  if (::listen(server->get(), 1) != 0) return "";
  timeval timeout{5, 0};
  ::setsockopt(client->get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  ::setsockopt(client->get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_in target = ipv4(ip, connect_port);
  if (::connect(client->get(), reinterpret_cast<sockaddr*>(&target), sizeof target) != 0) return "";
  pollfd pfd{server->get(), POLLIN, 0};
  if (::poll(&pfd, 1, 5000) != 1) return "";
  sockaddr_in peer{};
  socklen_t len = sizeof peer;
  UniqueFd conn(::accept4(server->get(), reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC));
  if (!conn.valid()) return "";
  ::setsockopt(conn.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  char buf[4] = {};
  if (::send(client->get(), "ping", 4, MSG_NOSIGNAL) != 4 || ::recv(conn.get(), buf, 4, MSG_WAITALL) != 4) return "";
  if (std::string(buf, 4) != "ping") return "";
  if (::send(conn.get(), "pong", 4, MSG_NOSIGNAL) != 4 || ::recv(client->get(), buf, 4, MSG_WAITALL) != 4) return "";
  if (std::string(buf, 4) != "pong") return "";
  char text[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &peer.sin_addr, text, sizeof text);
  return text;
}

// A private node: its own namespace with a bridge conflist, pods' namespaces, a CNI cache.
struct TestNode {
  zoned::testing::TempDir tmp;
  NetnsManager nodes{tmp.path() + "/nodes", "fake-node-"};
  NetnsManager pods{tmp.path() + "/netns", "zoned-"};
  NetnsManager zones{tmp.path() + "/zones", "fake-zone-"};
  std::string node_ns;
  CniOptions options;

  TestNode() {
    node_ns = nodes.create("n1").value();
    REQUIRE(in_ns(node_ns, {"ip", "link", "set", "lo", "up"}).ok());
    std::filesystem::create_directories(tmp.path() + "/net.d");
    tmp.write("net.d/10-test.conflist", R"({"cniVersion":"1.0.0","name":"zoned-test","plugins":[
      {"type":"bridge","bridge":"ztbr0","isGateway":true,"ipMasq":false,"hairpinMode":true,
       "ipam":{"type":"host-local","ranges":[[{"subnet":"10.99.0.0/24"}]],"routes":[{"dst":"0.0.0.0/0"}],
               "dataDir":")" + ipam_dir() + R"("}},
      {"type":"portmap","capabilities":{"portMappings":true}}]})");
    options.conf_dir = tmp.path() + "/net.d";
    options.exec.plugin_dirs = {kPluginDir};
    options.exec.exec_prefix = {"nsenter", "--net=" + node_ns, "--"};
    options.exec.timeout = std::chrono::seconds(30);
    options.cache_dir = tmp.path() + "/cache";
  }
  ~TestNode() {
    for (NetnsManager* m : {&pods, &zones, &nodes}) {
      auto all = m->list();
      if (!all.ok()) continue;
      for (const auto& path : *all) (void)m->remove_path(path);
      // create() made it a mount point of its own (and a failed netns case may have stacked another)
      ::umount2(m->dir().c_str(), MNT_DETACH);
      ::umount2(m->dir().c_str(), MNT_DETACH);
    }
  }
  std::string ipam_dir() const { return tmp.path() + "/ipam"; }
  bool ip_allocated(const std::string& ip) const { return std::filesystem::exists(ipam_dir() + "/zoned-test/" + ip); }
  AttachRequest request(const std::string& id, const std::string& netns) const {
    AttachRequest r;
    r.pod = PodRef{id, "pod-" + id.substr(0, 4), "default", "uid-" + id.substr(0, 4)};
    r.netns_path = netns;
    return r;
  }
};

// What iproute2's `ip netns add` does to its directory before adding a namespace.
void ip_netns_add_prepares(const std::string& dir) {
  if (::mount("", dir.c_str(), "none", MS_SHARED | MS_REC, nullptr) == 0) return;
  REQUIRE(errno == EINVAL);
  REQUIRE(::mount(dir.c_str(), dir.c_str(), "none", MS_BIND | MS_REC, nullptr) == 0);
  REQUIRE(::mount("", dir.c_str(), "none", MS_SHARED | MS_REC, nullptr) == 0);
}

std::string first_ip(const PodAttachment& a) {
  return pod_ips(a.result, a.ifname).at(0);
}

}  // namespace

TEST_CASE("real plugins: two pods get addresses on a bridge, reach each other, a hostPort works, DEL frees them",
          "[netplug][integration]") {
  if (std::string reason = why_skip(); !reason.empty()) SKIP(reason);
  TestNode node;
  CniNetwork cni(node.options);
  REQUIRE(cni.status().ready);
  auto ns1 = node.pods.create(kPod1);
  auto ns2 = node.pods.create(kPod2);
  REQUIRE(ns1.ok());
  REQUIRE(ns2.ok());
  CHECK(node.pods.create(kPod1).error().code() == zoned::ErrorCode::kAlreadyExists);

  auto pod1 = cni.setup(node.request(kPod1, *ns1));
  REQUIRE(pod1.ok());
  AttachRequest second = node.request(kPod2, *ns2);
  second.capabilities.port_mappings.push_back(PortMapping{18080, 80, "tcp", ""});
  auto pod2 = cni.setup(second);
  REQUIRE(pod2.ok());
  const std::string ip1 = first_ip(*pod1);
  const std::string ip2 = first_ip(*pod2);
  CHECK(ip1.rfind("10.99.0.", 0) == 0);
  CHECK(ip2.rfind("10.99.0.", 0) == 0);
  CHECK(ip1 != ip2);
  CHECK(node.ip_allocated(ip1));
  CHECK(node.ip_allocated(ip2));
  CHECK(cni.check(kPod1).ok());

  CHECK(tcp_exchange(*ns2, 7000, *ns1, ip2, 7000) == ip1);
  CHECK(tcp_exchange(*ns1, 7001, *ns2, ip1, 7001) == ip2);
  // hostPort 18080 on the node (its bridge address) reaches pod2's port 80 through portmap's DNAT.
  CHECK_FALSE(tcp_exchange(*ns2, 80, node.node_ns, "10.99.0.1", 18080).empty());

  REQUIRE(cni.teardown(kPod1, *ns1).ok());
  REQUIRE(cni.teardown(kPod2, *ns2).ok());
  CHECK_FALSE(node.ip_allocated(ip1));
  CHECK_FALSE(node.ip_allocated(ip2));
  CHECK(cni.cached()->empty());
  REQUIRE(node.pods.remove(kPod1).ok());
  REQUIRE(node.pods.remove(kPod2).ok());
  CHECK(node.pods.list()->empty());
  CHECK(node.pods.remove(kPod1).ok());  // twice is fine
}

TEST_CASE("real plugins: a fake vif (veth) wired with tc mirred carries the pod's traffic as the pod",
          "[netplug][integration]") {
  if (std::string reason = why_skip(); !reason.empty()) SKIP(reason);
  TestNode node;
  CniNetwork cni(node.options);
  auto ns1 = node.pods.create(kPod1);
  auto ns2 = node.pods.create(kPod2);
  REQUIRE(ns1.ok());
  REQUIRE(ns2.ok());
  auto pod1 = cni.setup(node.request(kPod1, *ns1));
  auto pod2 = cni.setup(node.request(kPod2, *ns2));
  REQUIRE(pod1.ok());
  REQUIRE(pod2.ok());
  const std::string ip1 = first_ip(*pod1);
  const std::string ip2 = first_ip(*pod2);

  // The fake zone: a namespace whose eth0 is the far end of a veth; the near end, in the node
  // namespace, plays the vif netback would create.
  auto zone_ns = node.zones.create("z1");
  REQUIRE(zone_ns.ok());
  REQUIRE(in_ns(node.node_ns,
                {"ip", "link", "add", "fakevif1.0", "type", "veth", "peer", "name", "eth0", "netns", *zone_ns})
              .ok());
  VifWiring wiring(VifWiringOptions{node.node_ns, std::chrono::seconds(10)});
  REQUIRE(wiring.wire("fakevif1.0", *ns1, "eth0").ok());

  // What the agent would do in the zone, from the config netplug hands over.
  auto link = wiring.link_info(*ns1, "eth0");
  REQUIRE(link.ok());
  auto config = build_zone_network_config(pod1->result, *link, DnsConfig{{"10.96.0.10"}, {}, {}}, "pod-1");
  REQUIRE(config.ok());
  CHECK(config->addresses.at(0).address == ip1);
  REQUIRE(
      in_ns(*zone_ns, {"ip", "link", "set", "eth0", "address", config->mac, "mtu", std::to_string(config->mtu), "up"})
          .ok());
  REQUIRE(in_ns(*zone_ns, {"ip", "link", "set", "lo", "up"}).ok());
  for (const auto& a : config->addresses) {
    REQUIRE(
        in_ns(*zone_ns, {"ip", "addr", "add", a.address + "/" + std::to_string(a.prefix_length), "dev", "eth0"}).ok());
  }
  for (const auto& r : config->routes) {
    REQUIRE(in_ns(*zone_ns, {"ip", "route", "add", r.destination, "via", r.gateway, "dev", "eth0"}).ok());
  }

  // pod2 talks to pod1's IP and reaches the zone; the zone talks out as pod1.
  CHECK(tcp_exchange(*zone_ns, 7100, *ns2, ip1, 7100) == ip2);
  CHECK(tcp_exchange(*ns2, 7101, *zone_ns, ip2, 7101) == ip1);
  // And through the gateway (the node's bridge address).
  CHECK(tcp_exchange(*zone_ns, 7102, node.node_ns, ip1, 7102) == "10.99.0.1");

  REQUIRE(wiring.unwire("fakevif1.0", *ns1, "eth0").ok());
  CHECK(wiring.link_info(node.node_ns, "fakevif1.0").ok());  // back in the node namespace
  CHECK_FALSE(wiring.link_info(*ns1, "fakevif1.0").ok());
  CHECK(tcp_exchange(*zone_ns, 7103, *ns2, ip1, 7103).empty());  // unplugged
  CHECK_FALSE(wiring.wire("../x", *ns1, "eth0").ok());

  REQUIRE(cni.teardown(kPod1, *ns1).ok());
  REQUIRE(cni.teardown(kPod2, *ns2).ok());
}

TEST_CASE("real plugins: after a restart the cache serves status and DEL, reconciliation frees leaked pods",
          "[netplug][integration]") {
  if (std::string reason = why_skip(); !reason.empty()) SKIP(reason);
  TestNode node;
  auto ns1 = node.pods.create(kPod1);
  auto ns2 = node.pods.create(kPod2);
  auto ns3 = node.pods.create(kPod3);  // a namespace whose ADD never happened
  REQUIRE(ns1.ok());
  REQUIRE(ns2.ok());
  REQUIRE(ns3.ok());
  std::string ip1;
  std::string ip2;
  {
    CniNetwork before_crash(node.options);
    auto pod1 = before_crash.setup(node.request(kPod1, *ns1));
    auto pod2 = before_crash.setup(node.request(kPod2, *ns2));
    REQUIRE(pod1.ok());
    REQUIRE(pod2.ok());
    ip1 = first_ip(*pod1);
    ip2 = first_ip(*pod2);
  }
  CniNetwork restarted(node.options);
  auto cached = restarted.attachment(kPod1);
  REQUIRE(cached.ok());
  REQUIRE(cached->has_value());
  CHECK(first_ip(**cached) == ip1);

  // Only pod2 survived the crash.
  ReconcileReport report = reconcile(restarted, node.pods, {kPod2});
  CHECK(report.errors.empty());
  CHECK(report.deleted_attachments.size() == 2);  // pod1's eth0 and lo
  CHECK(report.removed_netns == std::vector<std::string>{*ns1, *ns3});
  CHECK_FALSE(node.ip_allocated(ip1));
  CHECK(node.ip_allocated(ip2));
  CHECK(std::filesystem::exists(*ns2));
  CHECK(tcp_exchange(*ns2, 7200, node.node_ns, ip2, 7200) == "10.99.0.1");

  report = reconcile(restarted, node.pods, {});
  CHECK(report.errors.empty());
  CHECK_FALSE(node.ip_allocated(ip2));
  CHECK(node.pods.list()->empty());
  CHECK(restarted.cached()->empty());
}

TEST_CASE("netns: `ip netns add` run on the node afterwards does not cover the pods' namespaces") {
  TestNode node;
  const std::string id(64, 'c');
  auto path = node.pods.create(id);
  REQUIRE(path.ok());
  ip_netns_add_prepares(node.pods.dir());  // an operator's `ip netns add` on the node
  auto removed = node.pods.remove(id);
  INFO((removed.ok() ? std::string() : removed.error().describe()));
  CHECK(removed.ok());
  CHECK_FALSE(std::filesystem::exists(*path));
}
