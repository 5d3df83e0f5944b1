// The CRI RuntimeService over a real unix socket against FakeZoneManager: runtime-wide RPCs,
// pod sandboxes (lifecycle, idempotence, names, filters, bad input, restart, concurrency).
#include "zoned/cri/runtime_service.h"

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "runtime_fixture.h"
#include "zoned/common/version.h"

namespace v1 = runtime::v1;
using Catch::Matchers::ContainsSubstring;
using zoned::testing::RuntimeFixture;

namespace {
const v1::RuntimeCondition* find_condition(const v1::StatusResponse& r, const std::string& type) {
  for (const auto& c : r.status().conditions()) {
    if (c.type() == type) return &c;
  }
  return nullptr;
}
}  // namespace

TEST_CASE("Version names this runtime and API v1") {
  RuntimeFixture f;
  grpc::ClientContext cc;
  v1::VersionRequest request;
  request.set_version("v1");
  v1::VersionResponse response;
  REQUIRE(f.stub->Version(&cc, request, &response).ok());
  CHECK(response.runtime_name() == "zoned");
  CHECK(response.runtime_version() == zoned::kVersion);
  CHECK(response.runtime_api_version() == "v1");
  CHECK(response.version() == "0.1.0");
}

TEST_CASE("Status: RuntimeReady from the hypervisor probe, NetworkReady false, handlers listed") {
  RuntimeFixture f;
  f.hv.next.ready = false;
  f.hv.next.reason = "XenUnavailable";
  f.hv.next.message = "/dev/xen/privcmd is missing";
  {
    grpc::ClientContext cc;
    v1::StatusResponse response;
    REQUIRE(f.stub->Status(&cc, v1::StatusRequest(), &response).ok());
    const auto* c = find_condition(response, "RuntimeReady");
    REQUIRE(c != nullptr);
    CHECK_FALSE(c->status());
    CHECK(c->reason() == "XenUnavailable");
    CHECK(c->message() == "/dev/xen/privcmd is missing");
    const auto* net = find_condition(response, "NetworkReady");
    REQUIRE(net != nullptr);
    CHECK_FALSE(net->status());
    CHECK(response.info().empty());
    REQUIRE(response.runtime_handlers_size() == 2);
    CHECK(response.runtime_handlers(0).name().empty());
    CHECK(response.runtime_handlers(1).name() == "edera");
  }
  f.hv.next.ready = true;
  f.hv.next.details["xen_version"] = "4.17.5";
  grpc::ClientContext cc;
  v1::StatusRequest request;
  request.set_verbose(true);
  v1::StatusResponse response;
  REQUIRE(f.stub->Status(&cc, request, &response).ok());
  CHECK(find_condition(response, "RuntimeReady")->status());
  CHECK(nlohmann::json::parse(response.info().at("xen"))["xen_version"] == "4.17.5");
  CHECK(nlohmann::json::parse(response.info().at("cri"))["runtime_handler"] == "edera");
}

TEST_CASE("RuntimeConfig answers the configured cgroup driver; UpdateRuntimeConfig keeps the pod CIDR") {
  RuntimeFixture f;
  {
    grpc::ClientContext cc;
    v1::RuntimeConfigResponse response;
    REQUIRE(f.stub->RuntimeConfig(&cc, v1::RuntimeConfigRequest(), &response).ok());
    CHECK(response.linux().cgroup_driver() == v1::CgroupDriver::SYSTEMD);
  }
  {
    grpc::ClientContext cc;
    v1::UpdateRuntimeConfigRequest request;
    request.mutable_runtime_config()->mutable_network_config()->set_pod_cidr("10.244.1.0/24");
    v1::UpdateRuntimeConfigResponse response;
    REQUIRE(f.stub->UpdateRuntimeConfig(&cc, request, &response).ok());
  }
  {
    grpc::ClientContext cc;
    v1::UpdateRuntimeConfigRequest request;
    request.mutable_runtime_config()->mutable_network_config()->set_pod_cidr("10.0.0.0/8; rm -rf /");
    v1::UpdateRuntimeConfigResponse response;
    CHECK(f.stub->UpdateRuntimeConfig(&cc, request, &response).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  }
  f.options.cgroup_driver = "cgroupfs";
  f.restart();
  {
    grpc::ClientContext cc;
    v1::RuntimeConfigResponse response;
    REQUIRE(f.stub->RuntimeConfig(&cc, v1::RuntimeConfigRequest(), &response).ok());
    CHECK(response.linux().cgroup_driver() == v1::CgroupDriver::CGROUPFS);
  }
  grpc::ClientContext cc;
  v1::StatusRequest request;
  request.set_verbose(true);
  v1::StatusResponse response;
  REQUIRE(f.stub->Status(&cc, request, &response).ok());
  CHECK(nlohmann::json::parse(response.info().at("cri"))["pod_cidr"] == "10.244.1.0/24");  // survived the restart
}

TEST_CASE("pod sandbox lifecycle: run, status, stop twice, remove twice") {
  RuntimeFixture f;
  auto config = f.pod_config("web");
  config.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(v1::CONTAINER);
  (*config.mutable_linux()->mutable_sysctls())["net.ipv4.ip_forward"] = "1";
  auto* port = config.add_port_mappings();
  port->set_container_port(80);
  port->set_host_port(8080);
  std::string id;
  REQUIRE(f.run_pod(config, &id).ok());
  CHECK(id.size() == 64);
  CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
  auto zone = f.zones.get_zone(id);
  REQUIRE(zone.ok());
  CHECK(zone->spec.hostname == "web");
  CHECK(zone->spec.labels.at("io.kubernetes.pod.namespace") == "default");

  v1::PodSandboxStatusResponse status;
  REQUIRE(f.pod_status(id, &status, true).ok());
  const auto& s = status.status();
  CHECK(s.id() == id);
  CHECK(s.metadata().name() == "web");
  CHECK(s.metadata().uid() == "uid-web");
  CHECK(s.state() == v1::SANDBOX_READY);
  CHECK(s.created_at() > 0);
  CHECK(s.labels().at("app") == "web");
  CHECK(s.annotations().at("note") == "pod web");
  CHECK(s.runtime_handler() == "edera");
  CHECK(s.linux().namespaces().options().pid() == v1::CONTAINER);
  auto info = nlohmann::json::parse(status.info().at("info"));
  CHECK(info["zone"]["state"] == "running");
  CHECK(info["config"]["port_mappings"][0]["host_port"] == 8080);  // kept for the CNI work

  REQUIRE(f.stop_pod(id).ok());
  REQUIRE(f.pod_status(id, &status).ok());
  CHECK(status.status().state() == v1::SANDBOX_NOTREADY);
  CHECK(f.stop_pod(id).ok());
  REQUIRE(f.remove_pod(id).ok());
  CHECK(f.remove_pod(id).ok());
  CHECK(f.pod_status(id, &status).error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK_FALSE(f.zones.get_zone(id).ok());

  // Unknown ids, even ones that are not ours at all, are already stopped and removed.
  CHECK(f.stop_pod("6f1c2c1e-2a52-4a5e-9a0b-4f2d1c3b5a69").ok());
  CHECK(f.remove_pod("6f1c2c1e-2a52-4a5e-9a0b-4f2d1c3b5a69").ok());
  CHECK(f.stop_pod(std::string(64, 'a')).ok());
}

TEST_CASE("a second pod with the same metadata is refused naming the holder; the name frees on remove") {
  RuntimeFixture f;
  std::string first = f.run_pod("dup");
  std::string second;
  auto refused = f.run_pod(f.pod_config("dup"), &second);
  CHECK(refused.error_code() == grpc::StatusCode::ALREADY_EXISTS);
  CHECK_THAT(refused.error_message(), ContainsSubstring("dup_default_uid-dup_0") && ContainsSubstring(first));
  CHECK(f.zones.list_zones().size() == 1);

  auto next_attempt = f.pod_config("dup");
  next_attempt.mutable_metadata()->set_attempt(1);
  std::string third;
  REQUIRE(f.run_pod(next_attempt, &third).ok());
  REQUIRE(f.remove_pod(first).ok());
  REQUIRE(f.run_pod(f.pod_config("dup"), &second).ok());
}

TEST_CASE("RunPodSandbox refuses bad input and what a zone cannot do") {
  RuntimeFixture f;
  SECTION("no metadata, empty name or uid") {
    v1::PodSandboxConfig empty;
    CHECK(f.run_pod(empty, nullptr).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    auto c = f.pod_config("x");
    c.mutable_metadata()->set_name("");
    auto s = f.run_pod(c, nullptr);
    CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_THAT(s.error_message(), ContainsSubstring("name is empty"));
    c = f.pod_config("x");
    c.mutable_metadata()->set_uid("");
    CHECK(f.run_pod(c, nullptr).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    c = f.pod_config("x");
    c.mutable_metadata()->set_namespace_("a/b");
    CHECK(f.run_pod(c, nullptr).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  }
  SECTION("the node's network, PID and IPC namespaces") {
    for (int which = 0; which < 3; ++which) {
      auto c = f.pod_config("host");
      auto* ns = c.mutable_linux()->mutable_security_context()->mutable_namespace_options();
      if (which == 0) ns->set_network(v1::NODE);
      if (which == 1) ns->set_pid(v1::NODE);
      if (which == 2) ns->set_ipc(v1::NODE);
      auto s = f.run_pod(c, nullptr);
      CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
      CHECK_THAT(s.error_message(), ContainsSubstring("cannot share the node's namespaces"));
    }
  }
  SECTION("a handler that is not ours") {
    auto s = f.run_pod(f.pod_config("other"), nullptr, "runc");
    CHECK(s.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK_THAT(s.error_message(), ContainsSubstring("\"runc\"") && ContainsSubstring("\"edera\""));
    std::string id;
    REQUIRE(f.run_pod(f.pod_config("mine"), &id, "edera").ok());
  }
  SECTION("a sysctl that is not namespaced") {
    auto c = f.pod_config("sys");
    (*c.mutable_linux()->mutable_sysctls())["vm.swappiness"] = "10";
    CHECK(f.run_pod(c, nullptr).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  }
  SECTION("the zone fails to boot: the name is free again") {
    f.zones.set_fail_next(zoned::Error(zoned::ErrorCode::kUnavailable, "xen is down"), "create_zone");
    auto s = f.run_pod(f.pod_config("boot"), nullptr);
    CHECK(s.error_code() == grpc::StatusCode::UNAVAILABLE);
    CHECK_THAT(s.error_message(), ContainsSubstring("xen is down"));
    std::string id;
    CHECK(f.run_pod(f.pod_config("boot"), &id).ok());
  }
  v1::PodSandboxStatusResponse status;
  CHECK(f.pod_status("", &status).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_CASE("ListPodSandbox filters by id prefix, state and labels") {
  RuntimeFixture f;
  std::string a = f.run_pod("a");
  std::string b = f.run_pod("b");
  REQUIRE(f.stop_pod(b).ok());
  CHECK(f.list_pods().size() == 2);

  v1::PodSandboxFilter by_id;
  by_id.set_id(a.substr(0, 10));
  auto got = f.list_pods(by_id);
  REQUIRE(got.size() == 1);
  CHECK(got[0].id() == a);
  CHECK(got[0].metadata().name() == "a");
  CHECK(got[0].labels().at("app") == "a");
  CHECK(got[0].annotations().at("note") == "pod a");
  CHECK(got[0].runtime_handler() == "edera");

  v1::PodSandboxFilter ready;
  ready.mutable_state()->set_state(v1::SANDBOX_READY);
  got = f.list_pods(ready);
  REQUIRE(got.size() == 1);
  CHECK(got[0].id() == a);
  v1::PodSandboxFilter not_ready;
  not_ready.mutable_state()->set_state(v1::SANDBOX_NOTREADY);
  got = f.list_pods(not_ready);
  REQUIRE(got.size() == 1);
  CHECK(got[0].id() == b);

  v1::PodSandboxFilter labels;
  (*labels.mutable_label_selector())["app"] = "b";
  got = f.list_pods(labels);
  REQUIRE(got.size() == 1);
  CHECK(got[0].id() == b);
  (*labels.mutable_label_selector())["missing"] = "x";
  CHECK(f.list_pods(labels).empty());
}

TEST_CASE("a restarted service finds its pods and containers; a vanished zone makes its pod NOTREADY") {
  RuntimeFixture f;
  std::string kept = f.run_pod("kept");
  std::string gone = f.run_pod("gone");
  std::string c = f.create_container(kept, "kept", "app", {"sleep"});
  std::string lost = f.create_container(gone, "gone", "lost", {"sleep"});
  REQUIRE(f.start_container(c).ok());
  REQUIRE(f.zones.remove_zone(gone).ok());  // e.g. through the admin API while we were down
  f.restart();

  auto pods = f.list_pods();
  REQUIRE(pods.size() == 2);
  v1::PodSandboxStatusResponse status;
  REQUIRE(f.pod_status(kept, &status).ok());
  CHECK(status.status().state() == v1::SANDBOX_READY);
  CHECK(status.status().labels().at("app") == "kept");
  REQUIRE(f.pod_status(gone, &status).ok());
  CHECK(status.status().state() == v1::SANDBOX_NOTREADY);

  v1::ContainerStatusResponse cs;
  REQUIRE(f.container_status(c, &cs).ok());
  CHECK(cs.status().state() == v1::CONTAINER_RUNNING);
  CHECK(cs.status().labels().at("container") == "app");
  REQUIRE(f.container_status(lost, &cs).ok());
  CHECK(cs.status().state() == v1::CONTAINER_EXITED);
  CHECK_THAT(cs.status().message(), ContainsSubstring("zone is gone"));

  // Names are still reserved after the restart.
  auto dup = f.run_pod(f.pod_config("kept"), nullptr);
  CHECK(dup.error_code() == grpc::StatusCode::ALREADY_EXISTS);
  std::string dup_container;
  CHECK(f.create_container(kept, f.pod_config("kept"), f.container_config("app", {"sleep"}), &dup_container)
            .error_code() == grpc::StatusCode::ALREADY_EXISTS);
  REQUIRE(f.remove_pod(gone).ok());
  REQUIRE(f.remove_pod(kept).ok());
  f.restart();
  CHECK(f.list_pods().empty());
  CHECK(f.list_containers().empty());
}

TEST_CASE("a restart removes the zone of a pod whose record was never written, and only that zone") {
  RuntimeFixture f;
  std::string pod = f.run_pod("recorded");
  // What a daemon that died inside RunPodSandbox, after create_zone, leaves behind.
  zoned::zone_runtime::ZoneSpec interrupted;
  interrupted.name = "interrupted";
  interrupted.labels = {{"io.kubernetes.pod.name", "interrupted"}, {"io.zoned.cri-sandbox", "true"}};
  auto orphan = f.zones.create_zone(interrupted);
  REQUIRE(orphan.ok());
  // A zone made through the admin API, even one with pod-like labels, is not the CRI's.
  zoned::zone_runtime::ZoneSpec admin;
  admin.name = "admin-made";
  admin.labels = {{"io.kubernetes.pod.name", "lookalike"}};
  auto mine = f.zones.create_zone(admin);
  REQUIRE(mine.ok());
  REQUIRE(f.zones.get_zone(pod).ok());
  CHECK(f.zones.get_zone(pod)->spec.labels.at("io.zoned.cri-sandbox") == "true");

  f.restart();
  CHECK(f.zones.get_zone(orphan->id).error().code() == zoned::ErrorCode::kNotFound);
  CHECK(f.zones.get_zone(mine->id).ok());
  auto kept = f.zones.get_zone(pod);
  REQUIRE(kept.ok());
  CHECK(kept->state == zoned::zone_runtime::ZoneState::kRunning);
  auto pods = f.list_pods();
  REQUIRE(pods.size() == 1);
  CHECK(pods[0].id() == pod);
}

TEST_CASE("ten pods started at once get ten distinct ids") {
  RuntimeFixture f;
  std::vector<std::thread> threads;
  std::vector<std::string> ids(10);
  std::vector<grpc::Status> results(10);
  for (size_t i = 0; i < 10; ++i) {
    threads.emplace_back([&, i] { results[i] = f.run_pod(f.pod_config("p" + std::to_string(i)), &ids[i]); });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> distinct;
  for (size_t i = 0; i < 10; ++i) {
    INFO(results[i].error_message());
    CHECK(results[i].ok());
    CHECK(ids[i].size() == 64);
    distinct.insert(ids[i]);
  }
  CHECK(distinct.size() == 10);
  CHECK(f.list_pods().size() == 10);
}

TEST_CASE("what is not implemented says so: CheckpointContainer, GetContainerEvents, the metrics RPCs") {
  RuntimeFixture f;
  {
    grpc::ClientContext cc;
    v1::CheckpointContainerResponse response;
    auto s = f.stub->CheckpointContainer(&cc, v1::CheckpointContainerRequest(), &response);
    CHECK(s.error_code() == grpc::StatusCode::UNIMPLEMENTED);
    CHECK_THAT(s.error_message(), ContainsSubstring("CheckpointContainer") && ContainsSubstring("not implemented"));
  }
  {
    grpc::ClientContext cc;
    auto reader = f.stub->GetContainerEvents(&cc, v1::GetEventsRequest());
    v1::ContainerEventResponse event;
    CHECK_FALSE(reader->Read(&event));
    auto s = reader->Finish();
    CHECK(s.error_code() == grpc::StatusCode::UNIMPLEMENTED);
    CHECK_THAT(s.error_message(), ContainsSubstring("GetContainerEvents"));
  }
  for (int i = 0; i < 2; ++i) {
    grpc::ClientContext cc;
    grpc::Status s;
    if (i == 0) {
      v1::ListMetricDescriptorsResponse response;
      s = f.stub->ListMetricDescriptors(&cc, v1::ListMetricDescriptorsRequest(), &response);
    } else {
      v1::ListPodSandboxMetricsResponse response;
      s = f.stub->ListPodSandboxMetrics(&cc, v1::ListPodSandboxMetricsRequest(), &response);
    }
    CHECK(s.error_code() == grpc::StatusCode::UNIMPLEMENTED);
    CHECK_FALSE(s.error_message().empty());
  }
}

TEST_CASE("Exec, Attach, PortForward are UNAVAILABLE without a streaming server") {
  RuntimeFixture f;
  {
    grpc::ClientContext cc;
    v1::ExecResponse response;
    auto s = f.stub->Exec(&cc, v1::ExecRequest(), &response);
    CHECK(s.error_code() == grpc::StatusCode::UNAVAILABLE);
    CHECK_THAT(s.error_message(), ContainsSubstring("streaming server"));
  }
  {
    grpc::ClientContext cc;
    v1::AttachResponse response;
    CHECK(f.stub->Attach(&cc, v1::AttachRequest(), &response).error_code() == grpc::StatusCode::UNAVAILABLE);
  }
  {
    grpc::ClientContext cc;
    v1::PortForwardResponse response;
    CHECK(f.stub->PortForward(&cc, v1::PortForwardRequest(), &response).error_code() == grpc::StatusCode::UNAVAILABLE);
  }
}
