// The pod network in the zone: ConfigureNetwork through the agent's IDM interface with a fake
// rtnetlink (fake_link_configurator.h), the pod files it writes, and the bind mounts every
// container then gets.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "agent_harness.h"
#include "fake_link_configurator.h"
#include "zoned/agent/pod_network.h"
#include "zoned/netplug/zone_network_config.h"

using namespace zoned::testing;
using Catch::Matchers::ContainsSubstring;
using zoned::idm::v1::Error;
using json = nlohmann::json;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

zoned::netplug::ZoneNetworkConfig sample_config() {
  zoned::netplug::ZoneNetworkConfig c;
  c.mac = "0a:58:0a:58:00:05";
  c.mtu = 1450;
  c.addresses = {{4, "10.88.0.5", 16}};
  c.routes = {{"0.0.0.0/0", "10.88.0.1"}};
  c.dns.servers = {"10.96.0.10"};
  c.dns.searches = {"default.svc.cluster.local", "svc.cluster.local"};
  c.dns.options = {"ndots:5"};
  c.hostname = "web-0";
  return c;
}

Request configure_request(const std::string& config_json) {
  Request r;
  r.mutable_configure_network()->set_config_json(config_json);
  return r;
}

}  // namespace

TEST_CASE("ConfigureNetwork: lo up, then eth0 down, MAC, MTU, up, address, default route; pod files written") {
  auto links = std::make_shared<FakeLinkConfigurator>();
  AgentHarness h({}, links);
  REQUIRE(h.connect());
  const auto response = h.call(configure_request(zoned::netplug::to_json(sample_config())));
  INFO(response.DebugString());
  REQUIRE(response.has_ack());
  CHECK(links->calls == std::vector<std::string>{"up 1", "down 2", "mac 2 0a:58:0a:58:00:05", "mtu 2 1450", "up 2",
                                                 "addr 2 v4 10.88.0.5/16", "route 2 v4 0.0.0.0/0 via 10.88.0.1"});
  const std::string pod = h.options().state_dir + "/pod";
  const std::string resolv = slurp(pod + "/resolv.conf");
  CHECK_THAT(resolv, ContainsSubstring("nameserver 10.96.0.10"));
  CHECK_THAT(resolv, ContainsSubstring("search default.svc.cluster.local svc.cluster.local"));
  CHECK_THAT(resolv, ContainsSubstring("options ndots:5"));
  CHECK_THAT(slurp(pod + "/hosts"), ContainsSubstring("10.88.0.5"));
  CHECK_THAT(slurp(pod + "/hosts"), ContainsSubstring("web-0"));
  CHECK(slurp(pod + "/hostname") == "web-0\n");

  SECTION("the same config again is acknowledged without touching the links; another one is refused") {
    links->calls.clear();
    CHECK(h.call(configure_request(zoned::netplug::to_json(sample_config()))).has_ack());
    CHECK(links->calls.empty());
    auto other = sample_config();
    other.hostname = "web-1";
    const auto refused = h.call(configure_request(zoned::netplug::to_json(other)));
    REQUIRE(refused.has_error());
    CHECK(refused.error().code() == Error::CODE_FAILED_PRECONDITION);
  }
  SECTION("containers created afterwards get the pod files read-only at /etc") {
    h.make_device("xvdb");
    REQUIRE(h.call(create_request("c1", 3, {"/bin/true"})).has_ack());
    const json config = json::parse(slurp(h.options().state_dir + "/containers/c1/config.json"));
    int found = 0;
    for (const auto& m : config["mounts"]) {
      for (const char* name : {"resolv.conf", "hosts", "hostname"}) {
        if (m["destination"] != std::string("/etc/") + name) continue;
        ++found;
        CHECK(m["source"] == pod + "/" + name);
        CHECK(m["type"] == "bind");
        CHECK(std::find(m["options"].begin(), m["options"].end(), "ro") != m["options"].end());
      }
    }
    CHECK(found == 3);
  }
}

TEST_CASE("ConfigureNetwork: hostile or broken configs are refused, nothing is configured") {
  auto links = std::make_shared<FakeLinkConfigurator>();
  AgentHarness h({}, links);
  REQUIRE(h.connect());
  for (const std::string& bad : {std::string("{"), std::string("[]"),
                                std::string(R"({"mac":"zz","mtu":1500,"addresses":[],"routes":[],"dns":{},"hostname":"x"})")}) {
    CAPTURE(bad);
    const auto r = h.call(configure_request(bad));
    REQUIRE(r.has_error());
  }
  auto huge = sample_config();
  huge.hostname = std::string(300, 'a');
  CHECK(h.call(configure_request(zoned::netplug::to_json(huge))).has_error());
  CHECK(links->calls.empty());
}

TEST_CASE("ConfigureNetwork: a netlink failure is reported and a later attempt may succeed") {
  auto links = std::make_shared<FakeLinkConfigurator>();
  links->fail_on = "route";
  AgentHarness h({}, links);
  REQUIRE(h.connect());
  const auto failed = h.call(configure_request(zoned::netplug::to_json(sample_config())));
  REQUIRE(failed.has_error());
  CHECK_THAT(failed.error().message(), ContainsSubstring("0.0.0.0/0"));
  links->fail_on.clear();
  CHECK(h.call(configure_request(zoned::netplug::to_json(sample_config()))).has_ack());
}

TEST_CASE("configure_pod_network waits for eth0, then gives up with NotFound") {
  FakeLinkConfigurator links;
  links.present.erase("eth0");
  zoned::testing::TempDir dir;
  auto s = zoned::agent::configure_pod_network(sample_config(), links, dir.path() + "/pod", "eth0", 50);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().code() == zoned::ErrorCode::kNotFound);
  CHECK(links.calls == std::vector<std::string>{"up 1"});
}

TEST_CASE("add_pod_file_mounts: adds three read-only binds, keeps a mount the daemon already placed") {
  const std::string spec =
      R"({"process":{"args":["sh"]},"mounts":[{"destination":"/etc/hosts","type":"bind","source":"/x/hosts"}]})";
  auto out = zoned::agent::add_pod_file_mounts(spec, "/run/zoned/pod");
  REQUIRE(out.ok());
  const json j = json::parse(*out);
  REQUIRE(j["mounts"].size() == 3);
  CHECK(j["mounts"][0]["source"] == "/x/hosts");
  CHECK(j["mounts"][1]["destination"] == "/etc/resolv.conf");
  CHECK(j["mounts"][2]["destination"] == "/etc/hostname");
  CHECK(j["mounts"][2]["source"] == "/run/zoned/pod/hostname");
  CHECK_FALSE(zoned::agent::add_pod_file_mounts("[1]", "/p").ok());
  CHECK_FALSE(zoned::agent::add_pod_file_mounts(R"({"mounts":{}})", "/p").ok());
}

TEST_CASE("parse_mac_address: six hex pairs, unicast") {
  CHECK(zoned::agent::parse_mac_address("0A:58:0a:58:00:05").ok());
  for (const char* bad : {"", "0a:58:0a:58:00", "0a-58-0a-58-00-05", "01:00:5e:00:00:01", "0a:58:0a:58:00:0g"}) {
    CAPTURE(bad);
    CHECK_FALSE(zoned::agent::parse_mac_address(bad).ok());
  }
}
