// The CRI RuntimeService on real Xen (the devbox), through the CRI socket as kubelet uses it:
// pull, run a pod (a zone), create and start a container, read its CRI log file in dom0,
// ExecSync, stop, remove; a daemon restart between steps; ten pods at once. Set up by e2e/run.
#include <grpcpp/grpcpp.h>

#include <array>
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "api.grpc.pb.h"
#include "e2e_support.h"

namespace v1 = runtime::v1;
using Catch::Matchers::ContainsSubstring;
using namespace std::chrono_literals;

namespace {

using zoned::e2e::channel;
using zoned::e2e::dom0;
using zoned::e2e::env;
using zoned::e2e::quote;
using zoned::e2e::with_deadline;

const char* kImage = "registry.k8s.io/busybox:1.36";

std::string pull(v1::ImageService::Stub& images) {
  v1::PullImageRequest request;
  request.mutable_image()->set_image(kImage);
  v1::PullImageResponse response;
  grpc::ClientContext ctx;
  with_deadline(ctx, 300s);
  auto s = images.PullImage(&ctx, request, &response);
  INFO(s.error_message());
  REQUIRE(s.ok());
  return response.image_ref();
}

v1::PodSandboxConfig pod_config(const std::string& name) {
  v1::PodSandboxConfig c;
  c.mutable_metadata()->set_name(name);
  c.mutable_metadata()->set_namespace_("e2e");
  c.mutable_metadata()->set_uid("uid-" + name);
  c.set_hostname(name);
  c.set_log_directory("/var/log/pods/e2e_" + name);
  (*c.mutable_labels())["e2e"] = name;
  return c;
}

std::string run_pod(v1::RuntimeService::Stub& rt, const v1::PodSandboxConfig& config) {
  v1::RunPodSandboxRequest request;
  *request.mutable_config() = config;
  v1::RunPodSandboxResponse response;
  grpc::ClientContext ctx;
  with_deadline(ctx, 180s);
  auto s = rt.RunPodSandbox(&ctx, request, &response);
  INFO(s.error_message());
  REQUIRE(s.ok());
  return response.pod_sandbox_id();
}

v1::ContainerStatus container_status(v1::RuntimeService::Stub& rt, const std::string& id) {
  v1::ContainerStatusRequest request;
  request.set_container_id(id);
  v1::ContainerStatusResponse response;
  grpc::ClientContext ctx;
  with_deadline(ctx, 30s);
  auto s = rt.ContainerStatus(&ctx, request, &response);
  INFO(s.error_message());
  REQUIRE(s.ok());
  return response.status();
}

void remove_pod(v1::RuntimeService::Stub& rt, const std::string& id) {
  v1::RemovePodSandboxRequest request;
  request.set_pod_sandbox_id(id);
  v1::RemovePodSandboxResponse response;
  grpc::ClientContext ctx;
  with_deadline(ctx, 120s);
  auto s = rt.RemovePodSandbox(&ctx, request, &response);
  INFO(s.error_message());
  CHECK(s.ok());
}

}  // namespace

TEST_CASE("CRI: a pod runs a container whose output lands in its CRI log; exec sync; stop; remove") {
  auto images = v1::ImageService::NewStub(channel());
  auto rt = v1::RuntimeService::NewStub(channel());
  const std::string image_id = pull(*images);
  auto pod = pod_config("crihello");
  REQUIRE(dom0("mkdir -p " + pod.log_directory()).first == 0);
  const std::string pod_id = run_pod(*rt, pod);

  v1::CreateContainerRequest create;
  create.set_pod_sandbox_id(pod_id);
  *create.mutable_sandbox_config() = pod;
  create.mutable_config()->mutable_metadata()->set_name("hello");
  create.mutable_config()->mutable_image()->set_image(image_id);
  for (const char* a : {"sh", "-c", "echo hello; echo err >&2; exit 3"}) create.mutable_config()->add_command(a);
  create.mutable_config()->set_log_path("hello/0.log");
  v1::CreateContainerResponse created;
  {
    grpc::ClientContext ctx;
    with_deadline(ctx, 120s);
    auto s = rt->CreateContainer(&ctx, create, &created);
    INFO(s.error_message());
    REQUIRE(s.ok());
  }
  const std::string ctr = created.container_id();
  {
    v1::StartContainerRequest start;
    start.set_container_id(ctr);
    v1::StartContainerResponse started;
    grpc::ClientContext ctx;
    with_deadline(ctx, 60s);
    auto s = rt->StartContainer(&ctx, start, &started);
    INFO(s.error_message());
    REQUIRE(s.ok());
  }
  auto deadline = std::chrono::steady_clock::now() + 60s;
  v1::ContainerStatus status = container_status(*rt, ctr);
  while (status.state() != v1::CONTAINER_EXITED && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1s);
    status = container_status(*rt, ctr);
  }
  REQUIRE(status.state() == v1::CONTAINER_EXITED);
  CHECK(status.exit_code() == 3);
  CHECK(status.reason() == "Error");
  CHECK(status.log_path() == pod.log_directory() + "/hello/0.log");
  CHECK(status.image_ref().find("sha256:") != std::string::npos);

  // The log is complete once the container is reported exited.
  auto [rc, log] = dom0("cat " + status.log_path());
  INFO(log);
  CHECK(rc == 0);
  CHECK_THAT(log, ContainsSubstring(" stdout F hello\n"));
  CHECK_THAT(log, ContainsSubstring(" stderr F err\n"));

  // The daemon restarts; the pod and its container are found again.
  auto restarted = dom0("/usr/lib/devbox/zoned-restart");
  INFO(restarted.second);
  REQUIRE(restarted.first == 0);
  CHECK(container_status(*rt, ctr).exit_code() == 3);

  // A long-running container for ExecSync.
  create.mutable_config()->mutable_metadata()->set_name("sleeper");
  create.mutable_config()->clear_command();
  for (const char* a : {"sleep", "600"}) create.mutable_config()->add_command(a);
  create.mutable_config()->set_log_path("sleeper/0.log");
  v1::CreateContainerResponse sleeper;
  {
    grpc::ClientContext ctx;
    with_deadline(ctx, 120s);
    REQUIRE(rt->CreateContainer(&ctx, create, &sleeper).ok());
    v1::StartContainerRequest start;
    start.set_container_id(sleeper.container_id());
    v1::StartContainerResponse started;
    grpc::ClientContext start_ctx;
    with_deadline(start_ctx, 60s);
    REQUIRE(rt->StartContainer(&start_ctx, start, &started).ok());
  }
  {
    v1::ExecSyncRequest exec;
    exec.set_container_id(sleeper.container_id());
    for (const char* a : {"sh", "-c", "echo out; echo err >&2; hostname; exit 4"}) exec.add_cmd(a);
    exec.set_timeout(30);
    v1::ExecSyncResponse response;
    grpc::ClientContext ctx;
    with_deadline(ctx, 60s);
    auto s = rt->ExecSync(&ctx, exec, &response);
    INFO(s.error_message());
    REQUIRE(s.ok());
    CHECK(response.stdout() == "out\ncrihello\n");
    CHECK(response.stderr() == "err\n");
    CHECK(response.exit_code() == 4);
  }
  {
    v1::ExecSyncRequest exec;
    exec.set_container_id(sleeper.container_id());
    for (const char* a : {"sleep", "30"}) exec.add_cmd(a);
    exec.set_timeout(2);
    v1::ExecSyncResponse response;
    grpc::ClientContext ctx;
    with_deadline(ctx, 60s);
    CHECK(rt->ExecSync(&ctx, exec, &response).error_code() == grpc::StatusCode::DEADLINE_EXCEEDED);
  }
  {
    v1::StopContainerRequest stop;
    stop.set_container_id(sleeper.container_id());
    stop.set_timeout(5);
    v1::StopContainerResponse stopped;
    grpc::ClientContext ctx;
    with_deadline(ctx, 60s);
    REQUIRE(rt->StopContainer(&ctx, stop, &stopped).ok());
    CHECK(container_status(*rt, sleeper.container_id()).state() == v1::CONTAINER_EXITED);
  }
  {
    v1::StopPodSandboxRequest stop;
    stop.set_pod_sandbox_id(pod_id);
    v1::StopPodSandboxResponse stopped;
    grpc::ClientContext ctx;
    with_deadline(ctx, 120s);
    REQUIRE(rt->StopPodSandbox(&ctx, stop, &stopped).ok());
  }
  remove_pod(*rt, pod_id);
  remove_pod(*rt, pod_id);  // idempotent
  dom0("rm -rf " + pod.log_directory());
}

TEST_CASE("CRI: ten pods created at once") {
  auto rt = v1::RuntimeService::NewStub(channel());
  std::vector<std::string> ids(10);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < ids.size(); ++i) {
    threads.emplace_back([&, i] {
      v1::RunPodSandboxRequest request;
      *request.mutable_config() = pod_config("many" + std::to_string(i));
      v1::RunPodSandboxResponse response;
      grpc::ClientContext ctx;
      with_deadline(ctx, 600s);
      if (rt->RunPodSandbox(&ctx, request, &response).ok()) ids[i] = response.pod_sandbox_id();
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> distinct;
  for (const auto& id : ids) {
    CHECK(id.size() == 64);
    if (!id.empty()) distinct.insert(id);
  }
  CHECK(distinct.size() == ids.size());
  for (const auto& id : distinct) remove_pod(*rt, id);
}
