// The CRI RuntimeService on a real unix socket in a temporary directory, backed by
// FakeZoneManager, with a client stub and helpers that REQUIRE success. restart() reopens the
// service on the same state directory and the same zones, as a restarted daemon would.
#pragma once

#include <grpcpp/grpcpp.h>

#include <catch2/catch_test_macros.hpp>
#include <memory>
#include <string>
#include <vector>

#include "api.grpc.pb.h"
#include "fakes/fake_hypervisor.h"
#include "fakes/fake_zone_manager.h"
#include "support/temp_dir.h"
#include "zoned/common/log.h"
#include "zoned/cri/runtime_service.h"
#include "zoned/cri/server.h"

namespace zoned::testing {

namespace crv1 = ::runtime::v1;

class RuntimeFixture {
 public:
  RuntimeFixture() : zones(tmp.path()), socket(tmp.file("cri.sock")), log_dir(tmp.path() + "/pods") {
    log::configure(log::Level::kError, log::Format::kText);  // failed RPCs are warnings; tests cause many
    start();
  }
  ~RuntimeFixture() { stop(); }

  void start() {
    fill_default_options();
    auto opened = cri::RuntimeService::open(options, hv, zones);
    if (!opened.ok()) FAIL("cannot open the runtime service: " << opened.error().describe());
    service = std::move(*opened);
    server = std::make_unique<cri::Server>(std::vector<grpc::Service*>{service.get()});
    auto started = server->start({socket, "", 0660, "CRI"});
    if (!started.ok()) FAIL("cannot start the CRI server: " << started.error().describe());
    stub = crv1::RuntimeService::NewStub(grpc::CreateChannel("unix:" + socket, grpc::InsecureChannelCredentials()));
  }
  void stop() {
    if (server) server->shutdown(std::chrono::seconds(1));
    server.reset();
    service.reset();
  }
  void restart() {
    stop();
    start();
  }

  crv1::PodSandboxConfig pod_config(const std::string& name, const std::string& uid = "") const {
    crv1::PodSandboxConfig c;
    c.mutable_metadata()->set_name(name);
    c.mutable_metadata()->set_namespace_("default");
    c.mutable_metadata()->set_uid(uid.empty() ? "uid-" + name : uid);
    c.mutable_metadata()->set_attempt(0);
    c.set_hostname(name);
    c.set_log_directory(log_dir + "/" + name);
    (*c.mutable_labels())["app"] = name;
    (*c.mutable_annotations())["note"] = "pod " + name;
    return c;
  }

  grpc::Status run_pod(const crv1::PodSandboxConfig& config, std::string* id, const std::string& handler = "") {
    grpc::ClientContext cc;
    crv1::RunPodSandboxRequest request;
    *request.mutable_config() = config;
    request.set_runtime_handler(handler);
    crv1::RunPodSandboxResponse response;
    auto status = stub->RunPodSandbox(&cc, request, &response);
    if (id != nullptr) *id = response.pod_sandbox_id();
    return status;
  }
  std::string run_pod(const std::string& name) {
    std::string id;
    auto status = run_pod(pod_config(name), &id);
    INFO(status.error_message());
    REQUIRE(status.ok());
    return id;
  }

  crv1::ContainerConfig container_config(const std::string& name, const std::vector<std::string>& command) const {
    crv1::ContainerConfig c;
    c.mutable_metadata()->set_name(name);
    c.mutable_image()->set_image("busybox");
    for (const auto& a : command) c.add_command(a);
    c.set_log_path(name + "/0.log");
    (*c.mutable_labels())["container"] = name;
    (*c.mutable_annotations())["io.example/role"] = "test";
    return c;
  }
  grpc::Status create_container(const std::string& pod, const crv1::PodSandboxConfig& pod_config,
                                const crv1::ContainerConfig& config, std::string* id) {
    grpc::ClientContext cc;
    crv1::CreateContainerRequest request;
    request.set_pod_sandbox_id(pod);
    *request.mutable_config() = config;
    *request.mutable_sandbox_config() = pod_config;
    crv1::CreateContainerResponse response;
    auto status = stub->CreateContainer(&cc, request, &response);
    if (id != nullptr) *id = response.container_id();
    return status;
  }
  std::string create_container(const std::string& pod, const std::string& pod_name, const std::string& name,
                               const std::vector<std::string>& command) {
    std::string id;
    auto status = create_container(pod, pod_config(pod_name), container_config(name, command), &id);
    INFO(status.error_message());
    REQUIRE(status.ok());
    return id;
  }

  grpc::Status start_container(const std::string& id) {
    grpc::ClientContext cc;
    crv1::StartContainerRequest request;
    request.set_container_id(id);
    crv1::StartContainerResponse response;
    return stub->StartContainer(&cc, request, &response);
  }
  grpc::Status stop_container(const std::string& id, int64_t timeout = 0) {
    grpc::ClientContext cc;
    crv1::StopContainerRequest request;
    request.set_container_id(id);
    request.set_timeout(timeout);
    crv1::StopContainerResponse response;
    return stub->StopContainer(&cc, request, &response);
  }
  grpc::Status remove_container(const std::string& id) {
    grpc::ClientContext cc;
    crv1::RemoveContainerRequest request;
    request.set_container_id(id);
    crv1::RemoveContainerResponse response;
    return stub->RemoveContainer(&cc, request, &response);
  }
  grpc::Status container_status(const std::string& id, crv1::ContainerStatusResponse* out, bool verbose = false) {
    grpc::ClientContext cc;
    crv1::ContainerStatusRequest request;
    request.set_container_id(id);
    request.set_verbose(verbose);
    return stub->ContainerStatus(&cc, request, out);
  }
  grpc::Status stop_pod(const std::string& id) {
    grpc::ClientContext cc;
    crv1::StopPodSandboxRequest request;
    request.set_pod_sandbox_id(id);
    crv1::StopPodSandboxResponse response;
    return stub->StopPodSandbox(&cc, request, &response);
  }
  grpc::Status remove_pod(const std::string& id) {
    grpc::ClientContext cc;
    crv1::RemovePodSandboxRequest request;
    request.set_pod_sandbox_id(id);
    crv1::RemovePodSandboxResponse response;
    return stub->RemovePodSandbox(&cc, request, &response);
  }
  grpc::Status pod_status(const std::string& id, crv1::PodSandboxStatusResponse* out, bool verbose = false) {
    grpc::ClientContext cc;
    crv1::PodSandboxStatusRequest request;
    request.set_pod_sandbox_id(id);
    request.set_verbose(verbose);
    return stub->PodSandboxStatus(&cc, request, out);
  }
  std::vector<crv1::PodSandbox> list_pods(const crv1::PodSandboxFilter& filter = {}) {
    grpc::ClientContext cc;
    crv1::ListPodSandboxRequest request;
    *request.mutable_filter() = filter;
    crv1::ListPodSandboxResponse response;
    REQUIRE(stub->ListPodSandbox(&cc, request, &response).ok());
    return {response.items().begin(), response.items().end()};
  }
  std::vector<crv1::Container> list_containers(const crv1::ContainerFilter& filter = {}) {
    grpc::ClientContext cc;
    crv1::ListContainersRequest request;
    *request.mutable_filter() = filter;
    crv1::ListContainersResponse response;
    REQUIRE(stub->ListContainers(&cc, request, &response).ok());
    return {response.containers().begin(), response.containers().end()};
  }

  TempDir tmp;
  FakeHypervisor hv;
  FakeZoneManager zones;
  std::string socket;
  std::string log_dir;
  cri::RuntimeServiceOptions options;
  std::unique_ptr<cri::RuntimeService> service;
  std::unique_ptr<cri::Server> server;
  std::unique_ptr<crv1::RuntimeService::Stub> stub;

 private:
  void fill_default_options() {
    if (options.state_dir.empty()) options.state_dir = tmp.path() + "/state";
  }
};

}  // namespace zoned::testing
