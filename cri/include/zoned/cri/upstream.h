// Forwarding to an upstream CRI runtime ([cri] upstream_endpoint, e.g. containerd): pods whose
// RuntimeClass handler is not zoned's run there, unchanged, and kubelet still sees one runtime.
//
// RoutingRuntimeService sits in front of zoned's RuntimeService:
// - RunPodSandbox goes by handler (empty: the default handler): zoned's own handler stays here,
//   any other goes upstream.
// - Calls naming a pod or container go where that id lives: here when zoned's records know it,
//   upstream otherwise (so Stop/Remove of an id neither knows stay idempotent: upstream answers).
// - The List* calls merge both answers. When upstream fails they fail too, naming it: a partial
//   list would make kubelet believe the upstream pods are gone and start them again.
// - Status is zoned's, with upstream's handlers added and RuntimeReady false while upstream is
//   not ready or unreachable. Version and RuntimeConfig are zoned's; UpdateRuntimeConfig goes
//   to both.
// RoutingImageService: a pull whose ImageSpec names a handler goes to that handler's runtime;
// without one (kubelet before the RuntimeClassInImageCriApi gate) the image goes to both, so
// either runtime can start it. ListImages and ImageFsInfo merge; ImageStatus asks zoned first;
// RemoveImage removes from both.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "api.grpc.pb.h"
#include "zoned/cri/runtime_service.h"

namespace zoned::cri {

struct RoutingOptions {
  std::string runtime_handler = "edera";          // served by zoned
  std::string default_runtime_handler = "edera";  // a pod or pull naming no handler uses this
  std::string upstream_endpoint;                  // for the messages, e.g. unix:///run/containerd/containerd.sock
};

class RoutingRuntimeService final : public runtime::v1::RuntimeService::Service {
 public:
  // `zoned` must outlive this service.
  RoutingRuntimeService(RuntimeService& zoned, std::shared_ptr<grpc::Channel> upstream, RoutingOptions options);

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
  grpc::Status CheckpointContainer(Ctx*, const runtime::v1::CheckpointContainerRequest*,
                                   runtime::v1::CheckpointContainerResponse*) override;
  // zoned's answers (not implemented, with a message).
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
  RuntimeService& zoned_;
  std::unique_ptr<runtime::v1::RuntimeService::Stub> upstream_;
  RoutingOptions options_;
};

class RoutingImageService final : public runtime::v1::ImageService::Service {
 public:
  // `zoned` must outlive this service.
  RoutingImageService(runtime::v1::ImageService::Service& zoned, std::shared_ptr<grpc::Channel> upstream,
                      RoutingOptions options);

  grpc::Status ListImages(grpc::ServerContext*, const runtime::v1::ListImagesRequest*,
                          runtime::v1::ListImagesResponse*) override;
  grpc::Status ImageStatus(grpc::ServerContext*, const runtime::v1::ImageStatusRequest*,
                           runtime::v1::ImageStatusResponse*) override;
  grpc::Status PullImage(grpc::ServerContext*, const runtime::v1::PullImageRequest*,
                         runtime::v1::PullImageResponse*) override;
  grpc::Status RemoveImage(grpc::ServerContext*, const runtime::v1::RemoveImageRequest*,
                           runtime::v1::RemoveImageResponse*) override;
  grpc::Status ImageFsInfo(grpc::ServerContext*, const runtime::v1::ImageFsInfoRequest*,
                           runtime::v1::ImageFsInfoResponse*) override;

 private:
  runtime::v1::ImageService::Service& zoned_;
  std::unique_ptr<runtime::v1::ImageService::Stub> upstream_;
  RoutingOptions options_;
};

// The channel to an upstream CRI endpoint ("unix:///path" or "unix:/path"; a bare absolute
// path is taken as a unix socket). Kubelet-sized messages (16 MiB).
Result<std::shared_ptr<grpc::Channel>> upstream_channel(const std::string& endpoint);

}  // namespace zoned::cri
