// netplug: the CNI exec protocol, config choice, chains, rollback and the result cache, with
// fake plugins (tests/netplug/fakes/fake_cni_plugin.h).
#include "zoned/netplug/cni_network.h"

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "fakes/fake_cni_plugin.h"
#include "support/temp_dir.h"
#include "zoned/netplug/reconcile.h"
#include "zoned/netplug/zone_network_config.h"

using namespace zoned::netplug;
using Catch::Matchers::ContainsSubstring;
using nlohmann::json;
using zoned::testing::fake_result;
using zoned::testing::FakeCniPlugins;
using zoned::testing::TempDir;

namespace {

struct Fixture {
  TempDir tmp;
  FakeCniPlugins plugins{tmp.path() + "/bin"};
  CniOptions options;

  Fixture() {
    std::filesystem::create_directories(tmp.path() + "/net.d");
    options.conf_dir = tmp.path() + "/net.d";
    options.exec.plugin_dirs = {tmp.path() + "/none", plugins.dir()};
    options.exec.timeout = std::chrono::seconds(10);
    options.cache_dir = tmp.path() + "/cache";
    options.loopback = false;
  }
  void conf(const std::string& name, const std::string& text) const { tmp.write("net.d/" + name, text); }
  AttachRequest request(const std::string& id = "sandbox1") const {
    AttachRequest r;
    r.pod = PodRef{id, "web", "default", "uid-1"};
    r.netns_path = "/run/netns/fake-" + id;
    r.capabilities.port_mappings.push_back(PortMapping{8080, 80, "tcp", ""});
    r.capabilities.dns = DnsConfig{{"10.96.0.10"}, {"svc.cluster.local"}, {"ndots:5"}};
    return r;
  }
};

const char* kChain = R"({"cniVersion":"1.0.0","name":"podnet","plugins":[
  {"type":"fake-main","bridge":"cni0"},
  {"type":"fake-portmap","capabilities":{"portMappings":true}}]})";

}  // namespace

TEST_CASE("status is not ready without a config, with the reason", "[netplug][cni]") {
  Fixture f;
  CniNetwork cni(f.options);
  NetworkStatus status = cni.status();
  CHECK_FALSE(status.ready);
  CHECK(status.reason == "NoCNIConfig");
  CHECK_THAT(status.message, ContainsSubstring("no network config"));
  auto setup = cni.setup(f.request());
  REQUIRE_FALSE(setup.ok());
  CHECK(setup.error().code() == zoned::ErrorCode::kFailedPrecondition);

  f.plugins.add("fake-main", FakeCniPlugins::prints_on_add(fake_result("10.1.0.2/24", "10.1.0.1")));
  f.conf("10-net.conf", R"({"cniVersion":"1.0.0","name":"one","type":"fake-main"})");
  status = cni.status();
  CHECK(status.ready);
  CHECK(status.network_name == "one");
}

TEST_CASE("the first valid config by file name is chosen", "[netplug][cni]") {
  Fixture f;
  f.plugins.add("fake-main", FakeCniPlugins::prints_on_add(fake_result("10.1.0.2/24", "10.1.0.1")));
  f.plugins.add("fake-old", "exit 0", R"(["0.3.1"])");
  f.conf("00-broken.conflist", "{not json");
  f.conf("10-missing-binary.conflist", R"({"cniVersion":"1.0.0","name":"a","plugins":[{"type":"nosuch"}]})");
  f.conf("20-version.conflist", R"({"cniVersion":"1.0.0","name":"b","plugins":[{"type":"fake-old"}]})");
  f.conf("30-legacy.conf", R"({"cniVersion":"0.2.0","name":"c","type":"fake-main"})");
  f.conf("40-good.conflist", R"({"cniVersion":"1.0.0","name":"good","plugins":[{"type":"fake-main"}]})");
  f.conf("50-later.conflist", R"({"cniVersion":"1.0.0","name":"later","plugins":[{"type":"fake-main"}]})");
  CniNetwork cni(f.options);
  NetworkStatus status = cni.status();
  REQUIRE(status.ready);
  CHECK(status.network_name == "good");
  CHECK(status.config_file == f.tmp.path() + "/net.d/40-good.conflist");

  std::filesystem::remove(f.tmp.path() + "/net.d/40-good.conflist");
  std::filesystem::remove(f.tmp.path() + "/net.d/50-later.conflist");
  status = cni.status();
  CHECK_FALSE(status.ready);
  CHECK_THAT(status.message, ContainsSubstring("not found"));
  CHECK_THAT(status.message, ContainsSubstring("does not support cniVersion 1.0.0"));
  CHECK_THAT(status.message, ContainsSubstring("0.2.0"));
}

TEST_CASE("ADD runs the chain with the CNI environment, prevResult and runtimeConfig", "[netplug][cni]") {
  Fixture f;
  f.plugins.add("fake-main", FakeCniPlugins::prints_on_add(fake_result("10.1.0.2/24", "10.1.0.1")));
  f.plugins.add("fake-portmap", FakeCniPlugins::prints_on_add(fake_result("10.1.0.2/24", "10.1.0.1")));
  f.conf("10-chain.conflist", kChain);
  CniNetwork cni(f.options);
  auto attachment = cni.setup(f.request());
  REQUIRE(attachment.ok());
  CHECK(attachment->network_name == "podnet");
  CHECK(attachment->ifname == "eth0");
  CHECK(pod_ips(attachment->result, "eth0") == std::vector<std::string>{"10.1.0.2"});

  auto calls = f.plugins.calls();
  REQUIRE(calls.size() == 2);
  CHECK(calls[0].plugin == "fake-main");
  CHECK(calls[0].command == "ADD");
  CHECK_THAT(calls[0].env, ContainsSubstring("CNI_CONTAINERID=sandbox1\n"));
  CHECK_THAT(calls[0].env, ContainsSubstring("CNI_NETNS=/run/netns/fake-sandbox1\n"));
  CHECK_THAT(calls[0].env, ContainsSubstring("CNI_IFNAME=eth0\n"));
  CHECK_THAT(calls[0].env, ContainsSubstring("CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;"
                                             "K8S_POD_INFRA_CONTAINER_ID=sandbox1;K8S_POD_UID=uid-1\n"));
  CHECK_THAT(calls[0].env, ContainsSubstring("CNI_PATH=" + f.tmp.path() + "/none:" + f.plugins.dir() + "\n"));
  json first = json::parse(calls[0].stdin);
  CHECK(first["name"] == "podnet");
  CHECK(first["cniVersion"] == "1.0.0");
  CHECK(first["bridge"] == "cni0");
  CHECK_FALSE(first.contains("prevResult"));
  CHECK_FALSE(first.contains("runtimeConfig"));  // fake-main declares no capability
  json second = json::parse(calls[1].stdin);
  CHECK(second["prevResult"]["ips"][0]["address"] == "10.1.0.2/24");
  CHECK(second["runtimeConfig"]["portMappings"][0]["hostPort"] == 8080);
  CHECK(second["runtimeConfig"]["portMappings"][0]["containerPort"] == 80);
  CHECK(second["runtimeConfig"]["portMappings"][0]["protocol"] == "tcp");
  CHECK_FALSE(second["runtimeConfig"].contains("dns"));  // not declared
}

TEST_CASE("a failing plugin in the chain rolls back with DEL and leaves no cache", "[netplug][cni]") {
  Fixture f;
  f.plugins.add("fake-main", FakeCniPlugins::prints_on_add(fake_result("10.1.0.2/24", "10.1.0.1")));
  f.plugins.add(
      "fake-portmap",
      "if [ \"$CNI_COMMAND\" = ADD ]; then echo '{\"cniVersion\":\"1.0.0\",\"code\":7,\"msg\":\"no iptables\"}'; "
      "exit 1; fi");
  f.conf("10-chain.conflist", kChain);
  CniNetwork cni(f.options);
  auto attachment = cni.setup(f.request());
  REQUIRE_FALSE(attachment.ok());
  CHECK_THAT(attachment.error().message(), ContainsSubstring("no iptables"));
  auto calls = f.plugins.calls();
  REQUIRE(calls.size() == 4);
  CHECK(calls[2].plugin == "fake-portmap");
  CHECK(calls[2].command == "DEL");
  CHECK(calls[3].plugin == "fake-main");
  CHECK(calls[3].command == "DEL");
  auto cached = cni.cached();
  REQUIRE(cached.ok());
  CHECK(cached->empty());
}

TEST_CASE("plugins printing garbage, too much, or hanging are errors", "[netplug][cni]") {
  Fixture f;
  f.conf("10-one.conflist", R"({"cniVersion":"1.0.0","name":"one","plugins":[{"type":"fake-main"}]})");
  SECTION("garbage") {
    f.plugins.add("fake-main", "echo 'this is not json'");
    CniNetwork cni(f.options);
    auto r = cni.setup(f.request());
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message(), ContainsSubstring("not valid JSON"));
  }
  SECTION("too much") {
    f.plugins.add("fake-main", "[ \"$CNI_COMMAND\" = ADD ] && head -c 400000 /dev/zero | tr '\\0' ' '; exit 0");
    CniNetwork cni(f.options);
    auto r = cni.setup(f.request());
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message(), ContainsSubstring("larger than"));
  }
  SECTION("hanging") {
    f.plugins.add("fake-main", "[ \"$CNI_COMMAND\" = ADD ] && exec sleep 30; exit 0");
    f.options.exec.timeout = std::chrono::milliseconds(500);
    CniNetwork cni(f.options);
    auto r = cni.setup(f.request());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code() == zoned::ErrorCode::kDeadlineExceeded);
  }
  SECTION("stderr noise does not spoil the result") {
    f.plugins.add("fake-main", "echo 'log line on stderr' >&2\n" +
                                   FakeCniPlugins::prints_on_add(fake_result("10.1.0.7/24", "10.1.0.1")));
    CniNetwork cni(f.options);
    auto r = cni.setup(f.request());
    REQUIRE(r.ok());
    CHECK(r->result.ips.at(0).address == "10.1.0.7");
  }
}

TEST_CASE("the cache survives a restart and DEL uses the cached config", "[netplug][cni]") {
  Fixture f;
  f.plugins.add("fake-main", FakeCniPlugins::prints_on_add(fake_result("10.1.0.9/24", "10.1.0.1")));
  f.conf("10-one.conflist", R"({"cniVersion":"1.0.0","name":"one","plugins":[{"type":"fake-main","marker":"v1"}]})");
  {
    CniNetwork cni(f.options);
    REQUIRE(cni.setup(f.request()).ok());
  }
  // The admin changes the config while the daemon is down.
  f.conf("10-one.conflist", R"({"cniVersion":"1.0.0","name":"one","plugins":[{"type":"fake-main","marker":"v2"}]})");
  CniNetwork restarted(f.options);
  auto found = restarted.attachment("sandbox1");
  REQUIRE(found.ok());
  REQUIRE(found->has_value());
  CHECK((*found)->result.ips.at(0).address == "10.1.0.9");
  REQUIRE(restarted.check("sandbox1").ok());
  REQUIRE(restarted.teardown("sandbox1", "/run/netns/fake-sandbox1").ok());
  auto calls = f.plugins.calls();
  REQUIRE(calls.size() == 3);
  CHECK(calls[1].command == "CHECK");
  CHECK(calls[2].command == "DEL");
  json del = json::parse(calls[2].stdin);
  CHECK(del["marker"] == "v1");
  CHECK(del["prevResult"]["ips"][0]["address"] == "10.1.0.9/24");
  CHECK_THAT(calls[2].env, ContainsSubstring("CNI_NETNS=\n"));  // the namespace does not exist
  auto after = restarted.attachment("sandbox1");
  REQUIRE(after.ok());
  CHECK_FALSE(after->has_value());
}

TEST_CASE("pod fields that cannot be carried in CNI_ARGS are refused", "[netplug][cni]") {
  CHECK_FALSE(build_cni_args(PodRef{"id", "a;K8S_POD_NAME=evil", "ns", "u"}).ok());
  CHECK_FALSE(build_cni_args(PodRef{"id", "a", "ns=x", "u"}).ok());
  CHECK_FALSE(build_cni_args(PodRef{"id", "a\n", "ns", "u"}).ok());
  CHECK(build_cni_args(PodRef{"id", "a", "ns", "u"}).ok());
  Fixture f;
  f.plugins.add("fake-main", "exit 0");
  f.conf("10-one.conflist", R"({"cniVersion":"1.0.0","name":"one","plugins":[{"type":"fake-main"}]})");
  CniNetwork cni(f.options);
  AttachRequest bad = f.request("../escape");
  CHECK(cni.setup(bad).error().code() == zoned::ErrorCode::kInvalidArgument);
}

TEST_CASE("an ADD cut short by a crash leaves a pending entry that reconciliation deletes", "[netplug][cni]") {
  Fixture f;
  f.plugins.add("fake-main", "exit 0");
  f.conf("10-one.conflist", R"({"cniVersion":"1.0.0","name":"one","plugins":[{"type":"fake-main"}]})");
  // What setup() records before running ADD; the daemon died before completing it.
  ResultCache cache(f.options.cache_dir);
  CachedAttachment pending{"one",
                           "deadbeef",
                           "eth0",
                           "/run/netns/fake-gone",
                           R"({"cniVersion":"1.0.0","name":"one","plugins":[{"type":"fake-main"}]})",
                           "IgnoreUnknown=1",
                           "{}",
                           "",
                           PodRef{"deadbeef", "p", "ns", "u"}};
  REQUIRE(cache.store(pending).ok());
  CachedAttachment live = pending;
  live.container_id = "alive";
  REQUIRE(cache.store(live).ok());
  f.tmp.write("cache/garbage-entry", "{not json");

  CniNetwork cni(f.options);
  NetnsManager netns(f.tmp.path() + "/netns");
  ReconcileReport report = reconcile(cni, netns, {"alive"});
  CHECK(report.errors.empty());
  CHECK(report.deleted_attachments == std::vector<std::string>{"one/deadbeef/eth0"});
  auto calls = f.plugins.calls();
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].command == "DEL");
  CHECK_THAT(calls[0].env, ContainsSubstring("CNI_CONTAINERID=deadbeef\n"));
  CHECK_FALSE(json::parse(calls[0].stdin).contains("prevResult"));  // there was no result yet
  auto left = cni.cached();
  REQUIRE(left.ok());
  REQUIRE(left->size() == 1);
  CHECK(left->at(0).container_id == "alive");
}

TEST_CASE("the cache refuses names that would escape its directory", "[netplug][cni]") {
  TempDir tmp;
  ResultCache cache(tmp.path());
  CachedAttachment entry{"net", "../../etc", "eth0", "", "{}", "", "{}", "", {}};
  CHECK(cache.store(entry).error().code() == zoned::ErrorCode::kInvalidArgument);
  entry.container_id = "ok";
  entry.ifname = "eth0/x";
  CHECK_FALSE(cache.store(entry).ok());
  entry.ifname = "eth0";
  entry.network_name = "-bad";
  CHECK_FALSE(cache.store(entry).ok());
  CHECK(cache.load("net", "missing", "eth0").ok());
  CHECK_FALSE(cache.load("net", "missing", "eth0")->has_value());
}
