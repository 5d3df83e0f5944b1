// Pod networking through the CRI RuntimeService: a real PodNetwork (netns per pod, CNI with fake
// plugins) over FakeZoneManager, with a fake vif wirer (no Xen, no vif). Needs root for the
// network namespaces; skipped otherwise.
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "netplug/fakes/fake_cni_plugin.h"
#include "runtime_fixture.h"
#include "zoned/cri/pod_network.h"

namespace zoned::testing {
namespace {

using Catch::Matchers::ContainsSubstring;

// FakeVifWirer: records wire/unwire; the pod's eth0 has a fixed MAC and MTU.
class FakeVifWirer final : public cri::VifWirer {
 public:
  explicit FakeVifWirer(std::vector<std::string>* calls) : calls_(calls) {}
  Status wire(const std::string& vif, const std::string& netns, const std::string& ifname) override {
    calls_->push_back("wire " + vif + " " + std::filesystem::path(netns).filename().string() + " " + ifname);
    if (fail_wire) return Error(ErrorCode::kInternal, "fake wiring failure");
    return ok_status();
  }
  Status unwire(const std::string& vif, const std::string&, const std::string&) override {
    calls_->push_back("unwire " + vif);
    return ok_status();
  }
  Result<netplug::LinkInfo> link_info(const std::string&, const std::string& ifname) override {
    return netplug::LinkInfo{ifname, "0a:58:0a:58:00:05", 1450};
  }
  bool fail_wire = false;

 private:
  std::vector<std::string>* calls_;
};

struct NetworkFixture : RuntimeFixture {
  FakeCniPlugins plugins{tmp.path() + "/cni-bin"};
  std::vector<std::string> wiring;
  FakeVifWirer* wirer = nullptr;
  std::unique_ptr<cri::PodNetwork> network;

  NetworkFixture() {
    std::filesystem::create_directories(tmp.path() + "/net.d");
    plugins.add("fake-bridge", FakeCniPlugins::prints_on_add(fake_result("10.88.0.5/16", "10.88.0.1")));
    plugins.add("fake-portmap", FakeCniPlugins::prints_on_add(fake_result("10.88.0.5/16", "10.88.0.1")));
    tmp.write("net.d/10-pods.conflist", R"({"cniVersion":"1.0.0","name":"pods","plugins":[
      {"type":"fake-bridge"},{"type":"fake-portmap","capabilities":{"portMappings":true}}]})");
    cri::PodNetworkOptions o;
    o.cni.conf_dir = tmp.path() + "/net.d";
    o.cni.exec.plugin_dirs = {plugins.dir()};
    o.cni.exec.timeout = std::chrono::seconds(10);
    o.cni.cache_dir = tmp.path() + "/cni-cache";
    o.cni.loopback = false;
    o.netns_dir = tmp.path() + "/netns";
    auto w = std::make_unique<FakeVifWirer>(&wiring);
    wirer = w.get();
    network = std::make_unique<cri::PodNetwork>(o, std::move(w));
    options.network = network.get();
    restart();
  }
  ~NetworkFixture() { stop(); }

  crv1::PodSandboxStatus pod_status(const std::string& id) {
    grpc::ClientContext cc;
    crv1::PodSandboxStatusRequest request;
    request.set_pod_sandbox_id(id);
    crv1::PodSandboxStatusResponse response;
    auto status = stub->PodSandboxStatus(&cc, request, &response);
    REQUIRE(status.ok());
    return response.status();
  }
  void stop_pod(const std::string& id) {
    grpc::ClientContext cc;
    crv1::StopPodSandboxRequest request;
    request.set_pod_sandbox_id(id);
    crv1::StopPodSandboxResponse response;
    auto status = stub->StopPodSandbox(&cc, request, &response);
    REQUIRE(status.ok());
  }
  void remove_pod(const std::string& id) {
    grpc::ClientContext cc;
    crv1::RemovePodSandboxRequest request;
    request.set_pod_sandbox_id(id);
    crv1::RemovePodSandboxResponse response;
    auto status = stub->RemovePodSandbox(&cc, request, &response);
    REQUIRE(status.ok());
  }
  std::vector<std::string> commands() const {
    std::vector<std::string> out;
    for (const auto& c : plugins.calls()) out.push_back(c.plugin + " " + c.command);
    return out;
  }
  bool netns_exists(const std::string& id) const {
    return std::filesystem::exists(tmp.path() + "/netns/zoned-" + id.substr(0, 16));
  }
};

}  // namespace

TEST_CASE_METHOD(NetworkFixture, "a pod's network: CNI ADD with port mappings, the zone gets the MAC, wired vif, IPs",
                 "[cri][network]") {
  if (::geteuid() != 0) SKIP("network namespaces need root");
  auto config = pod_config("web");
  auto* port = config.add_port_mappings();
  port->set_container_port(80);
  port->set_host_port(8080);
  config.mutable_dns_config()->add_servers("10.96.0.10");
  config.mutable_dns_config()->add_searches("default.svc.cluster.local");
  std::string id;
  auto run = run_pod(config, &id);
  REQUIRE(run.ok());
  CHECK(commands() == std::vector<std::string>{"fake-bridge ADD", "fake-portmap ADD"});
  const auto calls = plugins.calls();
  CHECK_THAT(calls[0].env, ContainsSubstring("CNI_CONTAINERID=" + id));
  CHECK_THAT(calls[0].env, ContainsSubstring("K8S_POD_NAME=web"));
  CHECK_THAT(calls[0].env, ContainsSubstring("K8S_POD_UID=uid-web"));
  CHECK_THAT(calls[1].stdin, ContainsSubstring("\"hostPort\":8080"));
  CHECK(netns_exists(id));

  auto zone = zones.get_zone(id);
  REQUIRE(zone.ok());
  CHECK(zone->spec.nic_mac == "0a:58:0a:58:00:05");
  REQUIRE(wiring.size() == 1);
  CHECK(wiring[0] == "wire vif" + std::to_string(zone->domid) + ".0 zoned-" + id.substr(0, 16) + " eth0");
  REQUIRE(zones.network_configs.count(id) == 1);
  const auto agent_config = nlohmann::json::parse(zones.network_configs[id]);
  CHECK(agent_config["mac"] == "0a:58:0a:58:00:05");
  CHECK(agent_config["mtu"] == 1450);
  CHECK(agent_config.dump().find("10.88.0.5") != std::string::npos);
  CHECK(agent_config.dump().find("10.96.0.10") != std::string::npos);

  CHECK(pod_status(id).network().ip() == "10.88.0.5");
  restart();  // the IP comes from the on-disk cache
  CHECK(pod_status(id).network().ip() == "10.88.0.5");

  stop_pod(id);
  CHECK(commands().back() == "fake-bridge DEL");
  const auto after_stop = commands().size();
  stop_pod(id);  // idempotent: nothing left to DEL
  CHECK(commands().size() == after_stop);
  CHECK(pod_status(id).network().ip().empty());
  CHECK(netns_exists(id));
  remove_pod(id);
  CHECK_FALSE(netns_exists(id));
}

TEST_CASE_METHOD(NetworkFixture, "a failing vif wiring undoes everything: CNI DEL, netns gone, no zone",
                 "[cri][network]") {
  if (::geteuid() != 0) SKIP("network namespaces need root");
  wirer->fail_wire = true;
  std::string id;
  auto run = run_pod(pod_config("web"), &id);
  REQUIRE_FALSE(run.ok());
  CHECK_THAT(run.error_message(), ContainsSubstring("fake wiring failure"));
  const auto cmds = commands();
  REQUIRE(cmds.size() == 4);
  CHECK(cmds[2] == "fake-portmap DEL");
  CHECK(cmds[3] == "fake-bridge DEL");
  CHECK(zones.list_zones().empty());
  CHECK(std::filesystem::is_empty(tmp.path() + "/netns"));
}

TEST_CASE_METHOD(NetworkFixture, "Status: NetworkReady follows the CNI config; hostNetwork pods are refused",
                 "[cri][network]") {
  auto ready = [&] {
    grpc::ClientContext cc;
    crv1::StatusResponse response;
    REQUIRE(stub->Status(&cc, crv1::StatusRequest(), &response).ok());
    for (const auto& c : response.status().conditions()) {
      if (c.type() == "NetworkReady") return std::make_pair(c.status(), c.reason());
    }
    FAIL("no NetworkReady condition");
    return std::make_pair(false, std::string());
  };
  CHECK(ready().first);
  std::filesystem::remove(tmp.path() + "/net.d/10-pods.conflist");
  CHECK(ready() == std::make_pair(false, std::string("NoCNIConfig")));

  auto config = pod_config("host");
  config.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_network(crv1::NODE);
  std::string id;
  auto run = run_pod(config, &id);
  REQUIRE_FALSE(run.ok());
  CHECK_THAT(run.error_message(), ContainsSubstring("hostNetwork"));
  CHECK(plugins.calls().empty());
}

}  // namespace zoned::testing
