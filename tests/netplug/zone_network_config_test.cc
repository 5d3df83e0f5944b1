// netplug: the zone's network config built from a CNI result, its JSON form (checked strictly
// on the receiving side), resolv.conf/hosts rendering, and `ip -j link` parsing.
#include "zoned/netplug/zone_network_config.h"

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "zoned/netplug/cni_result.h"

using namespace zoned::netplug;
using Catch::Matchers::ContainsSubstring;

namespace {

CniResult sample() {
  auto r = parse_cni_result(R"({"cniVersion":"1.0.0",
    "interfaces":[{"name":"cni0","mac":"aa:bb:cc:dd:ee:01"},{"name":"veth1","mac":"aa:bb:cc:dd:ee:02"},
                  {"name":"eth0","mac":"0a:58:0a:58:00:05","sandbox":"/run/netns/x"}],
    "ips":[{"address":"10.88.0.5/16","gateway":"10.88.0.1","interface":2},
           {"address":"10.77.0.1/16","interface":0},
           {"address":"fd00::5/64","gateway":"fd00::1","interface":2}]})");
  return std::move(r).value();
}

}  // namespace

TEST_CASE("the zone config takes the pod interface's addresses, MAC, MTU and default routes", "[netplug][zone]") {
  LinkInfo link{"eth0", "0a:58:0a:58:00:05", 1450};
  DnsConfig dns{{"10.96.0.10"}, {"default.svc.cluster.local", "svc.cluster.local"}, {"ndots:5"}};
  auto config = build_zone_network_config(sample(), link, dns, "web-0");
  REQUIRE(config.ok());
  CHECK(config->mac == "0a:58:0a:58:00:05");
  CHECK(config->mtu == 1450);
  REQUIRE(config->addresses.size() == 2);  // not the bridge's 10.77.0.1
  CHECK(config->addresses[0].address == "10.88.0.5");
  CHECK(config->addresses[0].prefix_length == 16);
  REQUIRE(config->routes.size() == 2);
  CHECK(config->routes[0].destination == "0.0.0.0/0");
  CHECK(config->routes[0].gateway == "10.88.0.1");
  CHECK(config->routes[1].gateway == "fd00::1");
  CHECK(pod_ips(sample(), "eth0") == std::vector<std::string>{"10.88.0.5", "fd00::5"});

  auto back = zone_network_config_from_json(to_json(*config));
  REQUIRE(back.ok());
  CHECK(back->mac == config->mac);
  CHECK(back->addresses.size() == 2);
  CHECK(back->routes.size() == 2);
  CHECK(back->dns.searches.size() == 2);

  CHECK(render_resolv_conf(dns) ==
        "nameserver 10.96.0.10\nsearch default.svc.cluster.local svc.cluster.local\noptions ndots:5\n");
  CHECK_THAT(render_hosts(*config), ContainsSubstring("10.88.0.5\tweb-0\n"));
}

TEST_CASE("result routes without a gateway get the interface's gateway", "[netplug][zone]") {
  auto r = parse_cni_result(R"({"cniVersion":"1.0.0","ips":[{"address":"10.1.0.4/24","gateway":"10.1.0.1"}],
    "routes":[{"dst":"0.0.0.0/0"},{"dst":"192.168.0.0/16","gw":"10.1.0.254"}]})");
  REQUIRE(r.ok());
  auto config = build_zone_network_config(*r, LinkInfo{"eth0", "0a:58:0a:01:00:04", 1500}, {}, "pod");
  REQUIRE(config.ok());
  REQUIRE(config->routes.size() == 2);
  CHECK(config->routes[0].gateway == "10.1.0.1");
  CHECK(config->routes[1].gateway == "10.1.0.254");
}

TEST_CASE("bad inputs to the zone config are refused", "[netplug][zone]") {
  LinkInfo link{"eth0", "0a:58:0a:58:00:05", 1500};
  CHECK_FALSE(build_zone_network_config(sample(), LinkInfo{"eth0", "zz", 1500}, {}, "pod").ok());
  CHECK_FALSE(build_zone_network_config(sample(), link, {}, "bad host name").ok());
  CHECK_FALSE(build_zone_network_config(sample(), link, DnsConfig{{"x"}, {}, {}}, "pod").ok());
  CHECK_FALSE(build_zone_network_config(sample(), link, DnsConfig{{}, {"a\nnameserver 6.6.6.6"}, {}}, "pod").ok());
  CHECK_FALSE(build_zone_network_config(sample(), LinkInfo{"eth1", "0a:58:0a:58:00:05", 1500}, {}, "pod").ok());
}

TEST_CASE("hostile zone config JSON is refused", "[netplug][zone]") {
  const char* cases[] = {
      R"({})",
      R"({"mac":"0a:58:0a:58:00:05","mtu":1500,"hostname":"p","addresses":[],"routes":[],"dns":{"servers":["nope"]}})",
      R"({"mac":"0a:58:0a:58:00:05","mtu":10,"hostname":"p","addresses":[],"routes":[],"dns":{}})",
      R"({"mac":"0a:58:0a:58:00:05","mtu":1500,"hostname":"p","addresses":[{"address":"10.0.0.1","prefixLength":99}],"routes":[],"dns":{}})",
      R"({"mac":"0a:58:0a:58:00:05","mtu":1500,"hostname":"p/../x","addresses":[],"routes":[],"dns":{}})",
      R"({"mac":"0a:58:0a:58:00:05","mtu":1500,"hostname":"p","addresses":[],"routes":[{"destination":"x"}],"dns":{}})",
      R"({"mac":"0a:58:0a:58:00:05","mtu":1500,"hostname":"p","addresses":"10.0.0.1","routes":[],"dns":{}})",
  };
  for (const char* text : cases) {
    INFO(text);
    CHECK_FALSE(zone_network_config_from_json(text).ok());
  }
  CHECK(
      zone_network_config_from_json(
          R"({"mac":"0a:58:0a:58:00:05","mtu":1500,"hostname":"p","addresses":[{"address":"10.0.0.1","prefixLength":24}],"routes":[],"dns":{}})")
          .ok());
}

TEST_CASE("ip -j link output is parsed for MAC and MTU", "[netplug][zone]") {
  auto info = parse_ip_link_json(
      R"([{"ifindex":3,"link":"vb","ifname":"eth0","mtu":1450,"address":"f6:34:51:5f:9e:d9","broadcast":"ff:ff:ff:ff:ff:ff"}])");
  REQUIRE(info.ok());
  CHECK(info->mtu == 1450);
  CHECK(info->mac == "f6:34:51:5f:9e:d9");
  CHECK_FALSE(parse_ip_link_json("[]").ok());
  CHECK_FALSE(parse_ip_link_json(R"([{"ifname":"eth0","mtu":-1}])").ok());
  CHECK_FALSE(parse_ip_link_json("garbage").ok());
}
