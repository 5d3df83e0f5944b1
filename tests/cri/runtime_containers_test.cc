// The CRI RuntimeService's containers over a real unix socket against FakeZoneManager:
// lifecycle, idempotence, names, filters, status fields, logs, the CRI config -> OCI input
// translation, ExecSync, stats and ReopenContainerLog.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "runtime_fixture.h"

namespace v1 = runtime::v1;
using Catch::Matchers::ContainsSubstring;
using zoned::testing::RuntimeFixture;

namespace {
std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

grpc::Status exec_sync(RuntimeFixture& f, const std::string& id, const std::vector<std::string>& cmd, int64_t timeout,
                       v1::ExecSyncResponse* out) {
  grpc::ClientContext cc;
  v1::ExecSyncRequest request;
  request.set_container_id(id);
  for (const auto& a : cmd) request.add_cmd(a);
  request.set_timeout(timeout);
  return f.stub->ExecSync(&cc, request, out);
}
}  // namespace

TEST_CASE("container lifecycle: create, start, exit with its code, CRI log under the pod's log directory") {
  RuntimeFixture f;
  std::string pod = f.run_pod("web");
  std::string id = f.create_container(pod, "web", "hello", {"echo", "hello", "world"});
  CHECK(id.size() == 64);

  v1::ContainerStatusResponse status;
  REQUIRE(f.container_status(id, &status).ok());
  CHECK(status.status().state() == v1::CONTAINER_CREATED);
  CHECK(status.status().created_at() > 0);
  CHECK(status.status().started_at() == 0);
  const std::string log_path = f.log_dir + "/web/hello/0.log";
  CHECK(status.status().log_path() == log_path);
  CHECK(f.zones.last_container_spec().log_path == log_path);

  REQUIRE(f.start_container(id).ok());
  REQUIRE(f.container_status(id, &status, true).ok());
  const auto& s = status.status();
  CHECK(s.state() == v1::CONTAINER_EXITED);
  CHECK(s.exit_code() == 0);
  CHECK(s.reason() == "Completed");
  CHECK(s.started_at() > 0);
  CHECK(s.finished_at() >= s.started_at());
  CHECK(s.metadata().name() == "hello");
  CHECK(s.image().image() == "busybox");
  CHECK(s.image_ref() == "sha256:" + std::string(64, 'a'));
  CHECK(s.image_id() == "sha256:" + std::string(64, 'a'));
  CHECK(s.labels().at("container") == "hello");
  CHECK(s.annotations().at("io.example/role") == "test");
  CHECK(nlohmann::json::parse(status.info().at("info"))["sandboxID"] == pod);
  CHECK_THAT(read_all(log_path), ContainsSubstring(" stdout F hello world\n"));

  // A second start of an exited container is refused.
  CHECK(f.start_container(id).error_code() == grpc::StatusCode::FAILED_PRECONDITION);

  std::string failing = f.create_container(pod, "web", "fails", {"exit", "3"});
  REQUIRE(f.start_container(failing).ok());
  REQUIRE(f.container_status(failing, &status).ok());
  CHECK(status.status().exit_code() == 3);
  CHECK(status.status().reason() == "Error");
}

TEST_CASE("stop and remove are idempotent; removing a running container stops it first") {
  RuntimeFixture f;
  std::string pod = f.run_pod("p");
  std::string id = f.create_container(pod, "p", "sleeper", {"sleep"});
  REQUIRE(f.start_container(id).ok());
  v1::ContainerStatusResponse status;
  REQUIRE(f.container_status(id, &status).ok());
  CHECK(status.status().state() == v1::CONTAINER_RUNNING);

  REQUIRE(f.stop_container(id, 7).ok());
  CHECK(f.zones.last_grace() == std::chrono::seconds(7));
  REQUIRE(f.container_status(id, &status).ok());
  CHECK(status.status().state() == v1::CONTAINER_EXITED);
  CHECK(f.stop_container(id).ok());
  REQUIRE(f.remove_container(id).ok());
  CHECK(f.remove_container(id).ok());
  CHECK(f.container_status(id, &status).error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(f.stop_container("8f1c2c1e-2a52-4a5e-9a0b-4f2d1c3b5a69").ok());
  CHECK(f.remove_container("8f1c2c1e-2a52-4a5e-9a0b-4f2d1c3b5a69").ok());

  std::string running = f.create_container(pod, "p", "running", {"sleep"});
  REQUIRE(f.start_container(running).ok());
  REQUIRE(f.remove_container(running).ok());
  CHECK_FALSE(f.zones.get_container(running).ok());

  // A container that never started is left as it is (containerd does the same).
  std::string created = f.create_container(pod, "p", "created", {"sleep"});
  REQUIRE(f.stop_container(created, 3).ok());
  REQUIRE(f.container_status(created, &status).ok());
  CHECK(status.status().state() == v1::CONTAINER_CREATED);

  // Removing the pod stops and removes what is left in it.
  std::string last = f.create_container(pod, "p", "last", {"sleep"});
  REQUIRE(f.start_container(last).ok());
  REQUIRE(f.remove_pod(pod).ok());
  CHECK(f.list_containers().empty());
  CHECK(f.zones.list_containers("").empty());
}

TEST_CASE("containers: duplicate names, bad input, a pod that is not ready") {
  RuntimeFixture f;
  std::string pod = f.run_pod("p");
  std::string first = f.create_container(pod, "p", "app", {"sleep"});
  std::string id;
  auto dup = f.create_container(pod, f.pod_config("p"), f.container_config("app", {"sleep"}), &id);
  CHECK(dup.error_code() == grpc::StatusCode::ALREADY_EXISTS);
  CHECK_THAT(dup.error_message(), ContainsSubstring("app_p_default_uid-p_0") && ContainsSubstring(first));
  auto next = f.container_config("app", {"sleep"});
  next.mutable_metadata()->set_attempt(1);
  next.set_log_path("app/1.log");
  CHECK(f.create_container(pod, f.pod_config("p"), next, &id).ok());

  CHECK(f.create_container(std::string(64, 'f'), f.pod_config("p"), f.container_config("x", {}), &id).error_code() ==
        grpc::StatusCode::NOT_FOUND);
  CHECK(f.create_container("", f.pod_config("p"), f.container_config("x", {}), &id).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);
  v1::ContainerConfig no_meta;
  no_meta.mutable_image()->set_image("busybox");
  CHECK(f.create_container(pod, f.pod_config("p"), no_meta, &id).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  auto escape = f.container_config("esc", {"sleep"});
  escape.set_log_path("../../etc/evil.log");
  auto escaped = f.create_container(pod, f.pod_config("p"), escape, &id);
  CHECK(escaped.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(escaped.error_message(), ContainsSubstring("leaves the log directory"));
  auto missing_image = f.container_config("img", {"sleep"});
  missing_image.mutable_image()->set_image("nginx");
  CHECK(f.create_container(pod, f.pod_config("p"), missing_image, &id).error_code() == grpc::StatusCode::NOT_FOUND);
  // The failed create left no reservation behind.
  missing_image.mutable_image()->set_image("alpine");
  CHECK(f.create_container(pod, f.pod_config("p"), missing_image, &id).ok());

  REQUIRE(f.stop_pod(pod).ok());
  auto not_ready = f.create_container(pod, f.pod_config("p"), f.container_config("late", {}), &id);
  CHECK(not_ready.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK_THAT(not_ready.error_message(), ContainsSubstring("not ready"));
}

TEST_CASE("mounts from the node are refused naming them") {
  RuntimeFixture f;
  std::string pod = f.run_pod("p");
  auto c = f.container_config("vol", {"sleep"});
  auto* m = c.add_mounts();
  m->set_host_path("/var/lib/kubelet/pods/x/etc-hosts");
  m->set_container_path("/etc/hosts");
  auto* d = c.add_mounts();
  d->set_host_path("/tmp/data");
  d->set_container_path("/data");
  std::string id;
  auto s = f.create_container(pod, f.pod_config("p"), c, &id);
  CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(s.error_message(), ContainsSubstring("/var/lib/kubelet/pods/x/etc-hosts -> /etc/hosts") &&
                                    ContainsSubstring("/tmp/data -> /data"));
  auto dev = f.container_config("dev", {"sleep"});
  dev.add_devices()->set_host_path("/dev/fuse");
  s = f.create_container(pod, f.pod_config("p"), dev, &id);
  CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(s.error_message(), ContainsSubstring("/dev/fuse"));
}

TEST_CASE("the CRI config becomes the zone container's OCI input") {
  RuntimeFixture f;
  auto pod_config = f.pod_config("sec");
  (*pod_config.mutable_linux()->mutable_sysctls())["net.core.somaxconn"] = "1024";
  std::string pod;
  REQUIRE(f.run_pod(pod_config, &pod).ok());
  std::string profile = f.tmp.write("profile.json", R"({"defaultAction":"SCMP_ACT_ALLOW"})");

  auto c = f.container_config("app", {"/bin/app"});
  c.add_args("--serve");
  auto* env = c.add_envs();
  env->set_key("MODE");
  env->set_value("test");
  c.set_working_dir("/srv");
  c.set_tty(true);
  c.set_stdin(true);
  auto* sc = c.mutable_linux()->mutable_security_context();
  sc->mutable_run_as_user()->set_value(1000);
  sc->mutable_run_as_group()->set_value(2000);
  sc->add_supplemental_groups(3000);
  sc->mutable_capabilities()->add_add_capabilities("NET_ADMIN");
  sc->mutable_capabilities()->add_drop_capabilities("CHOWN");
  sc->set_readonly_rootfs(true);
  sc->set_no_new_privs(true);
  sc->add_masked_paths("/proc/secret");
  sc->mutable_seccomp()->set_profile_type(v1::SecurityProfile::Localhost);
  sc->mutable_seccomp()->set_localhost_ref(profile);
  sc->mutable_namespace_options()->set_pid(v1::CONTAINER);
  c.mutable_linux()->mutable_resources()->set_memory_limit_in_bytes(64 << 20);
  c.mutable_linux()->mutable_resources()->set_cpu_shares(512);
  std::string id;
  auto created = f.create_container(pod, pod_config, c, &id);
  INFO(created.error_message());
  REQUIRE(created.ok());

  auto spec = f.zones.last_container_spec();
  CHECK(spec.image == "busybox");
  CHECK(spec.name == "app_0");
  CHECK(spec.labels.at("container") == "app");
  const auto& in = spec.oci;
  CHECK(in.command == std::vector<std::string>{"/bin/app"});
  CHECK(in.args == std::vector<std::string>{"--serve"});
  REQUIRE(in.env.size() == 1);
  CHECK(in.env[0] == std::make_pair(std::string("MODE"), std::string("test")));
  CHECK(in.working_dir == "/srv");
  CHECK(in.tty);
  CHECK(in.stdin);
  CHECK(in.run_as_user == 1000);
  CHECK(in.run_as_group == 2000);
  CHECK(in.supplemental_groups == std::vector<int64_t>{3000});
  CHECK(in.add_capabilities == std::vector<std::string>{"NET_ADMIN"});
  CHECK(in.drop_capabilities == std::vector<std::string>{"CHOWN"});
  CHECK_FALSE(in.privileged);
  CHECK(in.readonly_rootfs);
  CHECK(in.no_new_privileges);
  REQUIRE(in.masked_paths.has_value());
  CHECK(*in.masked_paths == std::vector<std::string>{"/proc/secret"});
  CHECK_FALSE(in.readonly_paths.has_value());
  CHECK(in.seccomp == zoned::oci::SeccompMode::kLocalhost);
  CHECK_THAT(in.seccomp_localhost_json, ContainsSubstring("SCMP_ACT_ALLOW"));
  CHECK_FALSE(in.share_pid_namespace);
  CHECK(in.sysctls.at("net.core.somaxconn") == "1024");
  CHECK(in.hostname == "sec");
  CHECK(in.resources.memory_limit_bytes == 64 << 20);
  CHECK(in.resources.cpu_shares == 512);
  CHECK(in.annotations.at("io.kubernetes.cri.sandbox-id") == pod);
  CHECK(in.annotations.at("io.example/role") == "test");

  SECTION("no seccomp profile means unconfined; RuntimeDefault; a missing Localhost file fails") {
    auto plain = f.container_config("plain", {"sleep"});
    REQUIRE(f.create_container(pod, pod_config, plain, &id).ok());
    CHECK(f.zones.last_container_spec().oci.seccomp == zoned::oci::SeccompMode::kUnconfined);
    CHECK(f.zones.last_container_spec().oci.share_pid_namespace);  // POD, the default
    auto def = f.container_config("def", {"sleep"});
    def.mutable_linux()->mutable_security_context()->mutable_seccomp()->set_profile_type(
        v1::SecurityProfile::RuntimeDefault);
    REQUIRE(f.create_container(pod, pod_config, def, &id).ok());
    CHECK(f.zones.last_container_spec().oci.seccomp == zoned::oci::SeccompMode::kRuntimeDefault);
    auto missing = f.container_config("missing", {"sleep"});
    missing.mutable_linux()->mutable_security_context()->mutable_seccomp()->set_profile_type(
        v1::SecurityProfile::Localhost);
    missing.mutable_linux()->mutable_security_context()->mutable_seccomp()->set_localhost_ref("/nonexistent.json");
    auto s = f.create_container(pod, pod_config, missing, &id);
    CHECK(s.error_code() == grpc::StatusCode::NOT_FOUND);
    CHECK_THAT(s.error_message(), ContainsSubstring("/nonexistent.json"));
  }
  SECTION("a container may not ask for the node's namespaces either") {
    auto host = f.container_config("host", {"sleep"});
    host.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_network(v1::NODE);
    CHECK(f.create_container(pod, pod_config, host, &id).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  }
}

TEST_CASE("ListContainers filters by id prefix, state, pod and labels") {
  RuntimeFixture f;
  std::string p1 = f.run_pod("p1");
  std::string p2 = f.run_pod("p2");
  std::string a = f.create_container(p1, "p1", "a", {"sleep"});
  std::string b = f.create_container(p1, "p1", "b", {"echo", "done"});
  std::string c = f.create_container(p2, "p2", "c", {"sleep"});
  REQUIRE(f.start_container(a).ok());
  REQUIRE(f.start_container(b).ok());
  CHECK(f.list_containers().size() == 3);

  v1::ContainerFilter by_id;
  by_id.set_id(a.substr(0, 12));
  auto got = f.list_containers(by_id);
  REQUIRE(got.size() == 1);
  CHECK(got[0].id() == a);
  CHECK(got[0].pod_sandbox_id() == p1);
  CHECK(got[0].metadata().name() == "a");
  CHECK(got[0].image().image() == "busybox");
  CHECK(got[0].image_ref() == "sha256:" + std::string(64, 'a'));
  CHECK(got[0].state() == v1::CONTAINER_RUNNING);
  CHECK(got[0].labels().at("container") == "a");
  CHECK(got[0].annotations().at("io.example/role") == "test");

  v1::ContainerFilter by_pod;
  by_pod.set_pod_sandbox_id(p2);
  got = f.list_containers(by_pod);
  REQUIRE(got.size() == 1);
  CHECK(got[0].id() == c);

  for (auto [state, expected] :
       {std::pair{v1::CONTAINER_RUNNING, a}, std::pair{v1::CONTAINER_EXITED, b}, std::pair{v1::CONTAINER_CREATED, c}}) {
    v1::ContainerFilter by_state;
    by_state.mutable_state()->set_state(state);
    got = f.list_containers(by_state);
    REQUIRE(got.size() == 1);
    CHECK(got[0].id() == expected);
  }

  v1::ContainerFilter by_label;
  (*by_label.mutable_label_selector())["container"] = "b";
  got = f.list_containers(by_label);
  REQUIRE(got.size() == 1);
  CHECK(got[0].id() == b);
}

TEST_CASE("ExecSync: output and exit code, the timeout is passed down and DEADLINE_EXCEEDED comes back") {
  RuntimeFixture f;
  std::string pod = f.run_pod("p");
  std::string id = f.create_container(pod, "p", "app", {"sleep"});
  REQUIRE(f.start_container(id).ok());

  v1::ExecSyncResponse response;
  REQUIRE(exec_sync(f, id, {"echo", "hi"}, 5, &response).ok());
  CHECK(response.stdout() == "hi\n");
  CHECK(response.stderr().empty());
  CHECK(response.exit_code() == 0);
  CHECK(f.zones.last_exec_timeout() == std::chrono::seconds(5));
  CHECK(f.zones.last_max_output() > 0);
  CHECK(f.zones.last_max_output() <= 8u << 20);
  CHECK(f.zones.last_exec().container_id == id);

  REQUIRE(exec_sync(f, id, {"echo-err", "oops"}, 0, &response).ok());
  CHECK(response.stderr() == "oops\n");
  CHECK(response.exit_code() == 1);
  CHECK(f.zones.last_exec_timeout() >= std::chrono::hours(1));  // 0: no timeout

  auto timed_out = exec_sync(f, id, {"sleep"}, 1, &response);
  CHECK(timed_out.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED);
  CHECK(f.zones.last_exec_timeout() == std::chrono::seconds(1));

  CHECK(exec_sync(f, id, {}, 1, &response).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(exec_sync(f, std::string(64, 'e'), {"echo"}, 1, &response).error_code() == grpc::StatusCode::NOT_FOUND);
  REQUIRE(f.stop_container(id).ok());
  CHECK(exec_sync(f, id, {"echo"}, 1, &response).error_code() == grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_CASE("ReopenContainerLog: a running container gets a new file; an exited one is refused") {
  RuntimeFixture f;
  std::string pod = f.run_pod("p");
  std::string id = f.create_container(pod, "p", "app", {"sleep"});
  REQUIRE(f.start_container(id).ok());
  const std::string log_path = f.log_dir + "/p/app/0.log";
  REQUIRE(::rename(log_path.c_str(), (log_path + ".1").c_str()) == 0);
  {
    grpc::ClientContext cc;
    v1::ReopenContainerLogRequest request;
    request.set_container_id(id);
    v1::ReopenContainerLogResponse response;
    REQUIRE(f.stub->ReopenContainerLog(&cc, request, &response).ok());
  }
  std::ifstream reopened(log_path);
  CHECK(reopened.good());
  REQUIRE(f.stop_container(id).ok());
  grpc::ClientContext cc;
  v1::ReopenContainerLogRequest request;
  request.set_container_id(id);
  v1::ReopenContainerLogResponse response;
  CHECK(f.stub->ReopenContainerLog(&cc, request, &response).error_code() == grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_CASE("UpdateContainerResources: checked limits reach the zone, ContainerStatus reports them across a restart") {
  RuntimeFixture f;
  std::string pod = f.run_pod("p");
  std::string id = f.create_container(pod, "p", "app", {"sleep"});
  REQUIRE(f.start_container(id).ok());
  auto update = [&](const std::string& container, const v1::LinuxContainerResources& r) {
    grpc::ClientContext cc;
    v1::UpdateContainerResourcesRequest request;
    request.set_container_id(container);
    *request.mutable_linux() = r;
    v1::UpdateContainerResourcesResponse response;
    return f.stub->UpdateContainerResources(&cc, request, &response);
  };
  v1::LinuxContainerResources limits;
  limits.set_cpu_period(100000);
  limits.set_cpu_quota(25000);
  limits.set_memory_limit_in_bytes(128LL << 20);
  (*limits.mutable_unified())["memory.high"] = "100M";
  auto s = update(id, limits);
  INFO(s.error_message());
  REQUIRE(s.ok());
  auto applied = f.zones.resources_updates();
  REQUIRE(applied.size() == 1);
  CHECK(applied[0].first == id);
  CHECK(nlohmann::json::parse(applied[0].second) == nlohmann::json({{"cpu", {{"period", 100000}, {"quota", 25000}}},
                                                                    {"memory", {{"limit", 128LL << 20}}},
                                                                    {"unified", {{"memory.high", "100M"}}}}));
  f.restart();
  v1::ContainerStatusResponse status;
  REQUIRE(f.container_status(id, &status).ok());
  CHECK(status.status().resources().linux().cpu_quota() == 25000);
  CHECK(status.status().resources().linux().memory_limit_in_bytes() == 128LL << 20);

  // Bad limits never reach the zone; unknown ids and exited containers are refused.
  v1::LinuxContainerResources bad;
  bad.set_cpu_shares(1);
  auto refused = update(id, bad);
  CHECK(refused.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(refused.error_message(), ContainsSubstring("cpu_shares"));
  CHECK(f.zones.resources_updates().size() == 1);
  CHECK(update(std::string(64, 'f'), limits).error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(update("", limits).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  REQUIRE(f.stop_container(id).ok());
  CHECK(update(id, limits).error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  REQUIRE(f.container_status(id, &status).ok());
  CHECK(status.status().resources().linux().cpu_quota() == 25000);  // unchanged by the refusals
}

TEST_CASE("stats of pods and containers come from the zone") {
  RuntimeFixture f;
  std::string pod = f.run_pod("p");
  std::string id = f.create_container(pod, "p", "app", {"sleep"});
  REQUIRE(f.start_container(id).ok());
  {
    grpc::ClientContext cc;
    v1::ContainerStatsRequest request;
    request.set_container_id(id);
    v1::ContainerStatsResponse response;
    REQUIRE(f.stub->ContainerStats(&cc, request, &response).ok());
    CHECK(response.stats().attributes().id() == id);
    CHECK(response.stats().attributes().labels().at("container") == "app");
    CHECK(response.stats().cpu().usage_core_nano_seconds().value() == 1000);
    CHECK(response.stats().memory().working_set_bytes().value() == 4096);
  }
  {
    grpc::ClientContext cc;
    v1::PodSandboxStatsRequest request;
    request.set_pod_sandbox_id(pod);
    v1::PodSandboxStatsResponse response;
    REQUIRE(f.stub->PodSandboxStats(&cc, request, &response).ok());
    const auto& s = response.stats();
    CHECK(s.attributes().id() == pod);
    CHECK(s.attributes().metadata().name() == "p");
    CHECK(s.linux().cpu().usage_core_nano_seconds().value() == 123456789);
    CHECK(s.linux().memory().working_set_bytes().value() == 128u << 20);
    REQUIRE(s.linux().containers_size() == 1);
    CHECK(s.linux().containers(0).attributes().id() == id);
  }
  std::string other = f.run_pod("q");
  REQUIRE(f.stop_pod(other).ok());
  {
    grpc::ClientContext cc;
    v1::ListPodSandboxStatsResponse response;
    REQUIRE(f.stub->ListPodSandboxStats(&cc, v1::ListPodSandboxStatsRequest(), &response).ok());
    REQUIRE(response.stats_size() == 2);
  }
  grpc::ClientContext cc;
  v1::ListContainerStatsRequest request;
  request.mutable_filter()->set_pod_sandbox_id(pod);
  v1::ListContainerStatsResponse response;
  REQUIRE(f.stub->ListContainerStats(&cc, request, &response).ok());
  REQUIRE(response.stats_size() == 1);
  CHECK(response.stats(0).memory().working_set_bytes().value() == 4096);
  grpc::ClientContext missing_cc;
  v1::ContainerStatsRequest missing;
  missing.set_container_id(std::string(64, 'd'));
  v1::ContainerStatsResponse missing_response;
  CHECK(f.stub->ContainerStats(&missing_cc, missing, &missing_response).error_code() == grpc::StatusCode::NOT_FOUND);
}
