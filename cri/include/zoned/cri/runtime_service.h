// CRI RuntimeService: pod sandboxes are zones, containers run in them (ZoneManager). What CRI
// needs beyond ZoneManager's records (metadata, labels, annotations, log paths, the configs as
// kubelet sent them) is kept by the PodStore under <state_dir>/cri/ and survives restarts.
//
// Calls on different pods run in parallel; calls on the same pod are serialised (one lock per
// pod). Exec, Attach and PortForward return URLs of the streaming server (set_streaming_server;
// UNAVAILABLE without one). UpdateContainerResources runs `crun update` in the zone.
// CheckpointContainer, GetContainerEvents (kubelet's evented PLEG, alpha) and the metrics RPCs
// answer UNIMPLEMENTED with a message. Pods whose runtime handler is not ours are refused with a message naming the
// handlers this runtime serves (RoutingRuntimeService in upstream.h sends them upstream
// instead, when one is configured).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "api.grpc.pb.h"
#include "zoned/common/result.h"
#include "zoned/zone_runtime/hypervisor.h"
#include "zoned/zone_runtime/zone_manager.h"

namespace zoned::image_store {
class ImageStore;
}

namespace zoned::streaming {
class StreamingServer;
}

namespace zoned::cri {

class PodNetwork;
class PodStore;
struct SandboxRecord;
struct CriContainerRecord;

struct RuntimeServiceOptions {
  std::string state_dir;                          // records live in <state_dir>/cri
  std::string runtime_handler = "edera";          // the RuntimeClass handler that runs pods in zones
  std::string default_runtime_handler = "edera";  // used when a pod names none
  std::string cgroup_driver = "systemd";          // RuntimeConfig's answer: "systemd" or "cgroupfs"
  std::string config_json = "{}";                 // reported in verbose Status
  // Pod networking (CNI + vif wiring; pod_network.h). Null: pods get no network device and
  // Status reports NetworkReady=false. Not owned; outlives the service.
  PodNetwork* network = nullptr;
};

class RuntimeService final : public runtime::v1::RuntimeService::Service {
 public:
  // `images` (optional) resolves image ids to repo digests for ContainerStatus.image_ref.
  static Result<std::unique_ptr<RuntimeService>> open(const RuntimeServiceOptions& options,
                                                      zone_runtime::Hypervisor& hypervisor,
                                                      zone_runtime::ZoneManager& zones,
                                                      image_store::ImageStore* images = nullptr);
  ~RuntimeService() override;
  // The server behind Exec, Attach and PortForward URLs; must outlive the service's RPCs.
  void set_streaming_server(streaming::StreamingServer* server);
  // Whether this runtime's records hold the pod or container (an id or unique id prefix):
  // RoutingRuntimeService (upstream.h) sends the calls on other ids upstream.
  bool owns_sandbox(const std::string& id);
  bool owns_container(const std::string& id);

  using Ctx = grpc::ServerContext;
  grpc::Status Version(Ctx*, const runtime::v1::VersionRequest*, runtime::v1::VersionResponse*) override;
  grpc::Status Status(Ctx*, const runtime::v1::StatusRequest*, runtime::v1::StatusResponse*) override;
  grpc::Status RuntimeConfig(Ctx*, const runtime::v1::RuntimeConfigRequest*,
                             runtime::v1::RuntimeConfigResponse*) override;
  grpc::Status UpdateRuntimeConfig(Ctx*, const runtime::v1::UpdateRuntimeConfigRequest*,
                                   runtime::v1::UpdateRuntimeConfigResponse*) override;

  grpc::Status RunPodSandbox(Ctx*, const runtime::v1::RunPodSandboxRequest*,
                             runtime::v1::RunPodSandboxResponse*) override;
  grpc::Status StopPodSandbox(Ctx*, const runtime::v1::StopPodSandboxRequest*,
                              runtime::v1::StopPodSandboxResponse*) override;
  grpc::Status RemovePodSandbox(Ctx*, const runtime::v1::RemovePodSandboxRequest*,
                                runtime::v1::RemovePodSandboxResponse*) override;
  grpc::Status PodSandboxStatus(Ctx*, const runtime::v1::PodSandboxStatusRequest*,
                                runtime::v1::PodSandboxStatusResponse*) override;
  grpc::Status ListPodSandbox(Ctx*, const runtime::v1::ListPodSandboxRequest*,
                              runtime::v1::ListPodSandboxResponse*) override;

  grpc::Status CreateContainer(Ctx*, const runtime::v1::CreateContainerRequest*,
                               runtime::v1::CreateContainerResponse*) override;
  grpc::Status StartContainer(Ctx*, const runtime::v1::StartContainerRequest*,
                              runtime::v1::StartContainerResponse*) override;
  grpc::Status StopContainer(Ctx*, const runtime::v1::StopContainerRequest*,
                             runtime::v1::StopContainerResponse*) override;
  grpc::Status RemoveContainer(Ctx*, const runtime::v1::RemoveContainerRequest*,
                               runtime::v1::RemoveContainerResponse*) override;
  grpc::Status ListContainers(Ctx*, const runtime::v1::ListContainersRequest*,
                              runtime::v1::ListContainersResponse*) override;
  grpc::Status ContainerStatus(Ctx*, const runtime::v1::ContainerStatusRequest*,
                               runtime::v1::ContainerStatusResponse*) override;
  grpc::Status UpdateContainerResources(Ctx*, const runtime::v1::UpdateContainerResourcesRequest*,
                                        runtime::v1::UpdateContainerResourcesResponse*) override;
  grpc::Status ReopenContainerLog(Ctx*, const runtime::v1::ReopenContainerLogRequest*,
                                  runtime::v1::ReopenContainerLogResponse*) override;
  grpc::Status ExecSync(Ctx*, const runtime::v1::ExecSyncRequest*, runtime::v1::ExecSyncResponse*) override;
  grpc::Status Exec(Ctx*, const runtime::v1::ExecRequest*, runtime::v1::ExecResponse*) override;
  grpc::Status Attach(Ctx*, const runtime::v1::AttachRequest*, runtime::v1::AttachResponse*) override;
  grpc::Status PortForward(Ctx*, const runtime::v1::PortForwardRequest*, runtime::v1::PortForwardResponse*) override;

  // Not implemented: UNIMPLEMENTED, saying so (the generated default has no message).
  grpc::Status CheckpointContainer(Ctx*, const runtime::v1::CheckpointContainerRequest*,
                                   runtime::v1::CheckpointContainerResponse*) override;
  grpc::Status GetContainerEvents(Ctx*, const runtime::v1::GetEventsRequest*,
                                  grpc::ServerWriter<runtime::v1::ContainerEventResponse>*) override;
  grpc::Status ListMetricDescriptors(Ctx*, const runtime::v1::ListMetricDescriptorsRequest*,
                                     runtime::v1::ListMetricDescriptorsResponse*) override;
  grpc::Status ListPodSandboxMetrics(Ctx*, const runtime::v1::ListPodSandboxMetricsRequest*,
                                     runtime::v1::ListPodSandboxMetricsResponse*) override;

  grpc::Status ContainerStats(Ctx*, const runtime::v1::ContainerStatsRequest*,
                              runtime::v1::ContainerStatsResponse*) override;
  grpc::Status ListContainerStats(Ctx*, const runtime::v1::ListContainerStatsRequest*,
                                  runtime::v1::ListContainerStatsResponse*) override;
  grpc::Status PodSandboxStats(Ctx*, const runtime::v1::PodSandboxStatsRequest*,
                               runtime::v1::PodSandboxStatsResponse*) override;
  grpc::Status ListPodSandboxStats(Ctx*, const runtime::v1::ListPodSandboxStatsRequest*,
                                   runtime::v1::ListPodSandboxStatsResponse*) override;

 private:
  RuntimeService(const RuntimeServiceOptions& options, zone_runtime::Hypervisor& hypervisor,
                 zone_runtime::ZoneManager& zones, image_store::ImageStore* images, std::unique_ptr<PodStore> store);

  // One mutex per pod id: the pod's calls serialise, other pods' run in parallel.
  std::shared_ptr<std::mutex> pod_lock(const std::string& sandbox_id);
  void forget_pod_lock(const std::string& sandbox_id);
  zoned::Status reconcile();

  // sandbox_rpcs.cc
  zoned::Status run_pod_sandbox(const runtime::v1::RunPodSandboxRequest& request,
                                runtime::v1::RunPodSandboxResponse* response);
  zoned::Status stop_pod_sandbox(const std::string& id);
  zoned::Status remove_pod_sandbox(const std::string& id);
  zoned::Status stop_sandbox_locked(SandboxRecord& record);
  bool sandbox_ready(const SandboxRecord& record);
  // container_rpcs.cc
  zoned::Status create_container(const runtime::v1::CreateContainerRequest& request, std::string* id);
  zoned::Status remove_container_locked(const CriContainerRecord& record);
  void fill_container_status(const CriContainerRecord& record, runtime::v1::ContainerStatus* out);
  std::string image_ref_of(const std::string& image_id);
  // streaming_rpcs.cc
  Result<CriContainerRecord> running_container(const std::string& id);
  zoned::Status streaming_available() const;
  // stats_rpcs.cc
  void fill_pod_stats(const SandboxRecord& record, runtime::v1::PodSandboxStats* out);

  RuntimeServiceOptions options_;
  zone_runtime::Hypervisor& hypervisor_;
  zone_runtime::ZoneManager& zones_;
  image_store::ImageStore* images_;
  std::unique_ptr<PodStore> store_;
  std::mutex locks_mu_;
  std::map<std::string, std::shared_ptr<std::mutex>> pod_locks_;
  streaming::StreamingServer* streaming_ = nullptr;
};

// The CRI API version this runtime serves (VersionResponse.version).
inline constexpr const char* kCriApiVersion = "0.1.0";

}  // namespace zoned::cri
