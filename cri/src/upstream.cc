// Routing between zoned's own CRI services and an upstream CRI runtime (upstream.h).
#include "zoned/cri/upstream.h"

#include <set>

#include "zoned/common/log.h"

namespace zoned::cri {

namespace v1 = runtime::v1;

namespace {

constexpr int kMaxMessageBytes = 16 * 1024 * 1024;  // as kubelet's client and our server

// A client context carrying the incoming call's deadline and cancellation.
std::unique_ptr<grpc::ClientContext> client_context(grpc::ServerContext* ctx) {
  if (ctx == nullptr) return std::make_unique<grpc::ClientContext>();
  return grpc::ClientContext::FromServerContext(*ctx);
}

// An upstream failure, said to be one: kubelet's logs should point at the right runtime.
grpc::Status upstream_error(const grpc::Status& s, const RoutingOptions& o, const std::string& what) {
  return grpc::Status(s.error_code(),
                      "upstream CRI runtime (" + o.upstream_endpoint + "), " + what + ": " + s.error_message());
}

template <typename Stub, typename Request, typename Response>
grpc::Status forward(Stub& stub, grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
                     grpc::ServerContext* ctx, const Request& request, Response* response, const RoutingOptions& o,
                     const std::string& what) {
  auto cc = client_context(ctx);
  grpc::Status s = (stub.*method)(cc.get(), request, response);
  return s.ok() ? s : upstream_error(s, o, what);
}

// A List call's answer: ours, then the upstream's items after them. Both must succeed: half a
// list would make kubelet think the missing pods are gone.
template <typename Stub, typename Request, typename Response, typename Items>
grpc::Status merged_list(const grpc::Status& ours, Stub& stub,
                         grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
                         grpc::ServerContext* ctx, const Request& request, Response* response, const RoutingOptions& o,
                         const std::string& what, Items items) {
  if (!ours.ok()) return ours;
  Response theirs;
  grpc::Status s = forward(stub, method, ctx, request, &theirs, o, what);
  if (!s.ok()) return s;
  for (auto& item : *items(theirs)) *items(*response)->Add() = std::move(item);
  return s;
}

std::string handler_of(const std::string& requested, const RoutingOptions& o) {
  return requested.empty() ? o.default_runtime_handler : requested;
}

}  // namespace

Result<std::shared_ptr<grpc::Channel>> upstream_channel(const std::string& endpoint) {
  std::string target = endpoint;
  if (!target.empty() && target[0] == '/') target = "unix:" + target;
  if (target.rfind("unix:", 0) != 0 || target.size() <= 5) {
    return Error(ErrorCode::kInvalidArgument,
                 "upstream CRI endpoint '" + endpoint + "' must be a unix socket (unix:///path or /path)");
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

// ---- RuntimeService ----

RoutingRuntimeService::RoutingRuntimeService(RuntimeService& zoned, std::shared_ptr<grpc::Channel> upstream,
                                             RoutingOptions options)
    : zoned_(zoned), upstream_(v1::RuntimeService::NewStub(std::move(upstream))), options_(std::move(options)) {}

#define ZONED_ROUTE_BY(owns, id_expr, Method, what)                                                         \
  do {                                                                                                      \
    if (zoned_.owns(id_expr)) return zoned_.Method(ctx, request, response);                                 \
    return forward(*upstream_, &v1::RuntimeService::Stub::Method, ctx, *request, response, options_, what); \
  } while (0)

grpc::Status RoutingRuntimeService::Version(Ctx* ctx, const v1::VersionRequest* request,
                                            v1::VersionResponse* response) {
  return zoned_.Version(ctx, request, response);
}

grpc::Status RoutingRuntimeService::Status(Ctx* ctx, const v1::StatusRequest* request, v1::StatusResponse* response) {
  grpc::Status ours = zoned_.Status(ctx, request, response);
  if (!ours.ok()) return ours;
  v1::StatusResponse theirs;
  grpc::Status s = forward(*upstream_, &v1::RuntimeService::Stub::Status, ctx, *request, &theirs, options_, "Status");
  bool upstream_ready = false;
  std::string why;
  if (!s.ok()) {
    why = s.error_message();
  } else {
    for (const auto& c : theirs.status().conditions()) {
      if (c.type() != "RuntimeReady") continue;
      upstream_ready = c.status();
      if (!c.status())
        why =
            "upstream CRI runtime (" + options_.upstream_endpoint + ") is not ready: " + c.reason() + " " + c.message();
    }
    if (!upstream_ready && why.empty())
      why = "upstream CRI runtime (" + options_.upstream_endpoint + ") reports no RuntimeReady";
    std::set<std::string> names;
    for (const auto& h : response->runtime_handlers()) names.insert(h.name());
    for (const auto& h : theirs.runtime_handlers()) {
      if (names.insert(h.name()).second) *response->add_runtime_handlers() = h;
    }
    if (request->verbose()) {
      for (const auto& [key, value] : theirs.info()) (*response->mutable_info())["upstream." + key] = value;
    }
  }
  if (!upstream_ready) {
    for (auto& c : *response->mutable_status()->mutable_conditions()) {
      if (c.type() != "RuntimeReady" || !c.status()) continue;
      c.set_status(false);
      c.set_reason("UpstreamRuntimeNotReady");
      c.set_message(why);
    }
  }
  return grpc::Status::OK;
}

grpc::Status RoutingRuntimeService::RuntimeConfig(Ctx* ctx, const v1::RuntimeConfigRequest* request,
                                                  v1::RuntimeConfigResponse* response) {
  return zoned_.RuntimeConfig(ctx, request, response);
}

grpc::Status RoutingRuntimeService::UpdateRuntimeConfig(Ctx* ctx, const v1::UpdateRuntimeConfigRequest* request,
                                                        v1::UpdateRuntimeConfigResponse* response) {
  grpc::Status ours = zoned_.UpdateRuntimeConfig(ctx, request, response);
  if (!ours.ok()) return ours;
  v1::UpdateRuntimeConfigResponse theirs;
  return forward(*upstream_, &v1::RuntimeService::Stub::UpdateRuntimeConfig, ctx, *request, &theirs, options_,
                 "UpdateRuntimeConfig");
}

grpc::Status RoutingRuntimeService::RunPodSandbox(Ctx* ctx, const v1::RunPodSandboxRequest* request,
                                                  v1::RunPodSandboxResponse* response) {
  const std::string handler = handler_of(request->runtime_handler(), options_);
  if (handler == options_.runtime_handler) return zoned_.RunPodSandbox(ctx, request, response);
  log::info("forwarding a pod to the upstream CRI runtime",
            {{"pod", request->config().metadata().namespace_() + "/" + request->config().metadata().name()},
             {"handler", handler}});
  return forward(*upstream_, &v1::RuntimeService::Stub::RunPodSandbox, ctx, *request, response, options_,
                 "RunPodSandbox (handler \"" + handler + "\")");
}

grpc::Status RoutingRuntimeService::StopPodSandbox(Ctx* ctx, const v1::StopPodSandboxRequest* request,
                                                   v1::StopPodSandboxResponse* response) {
  ZONED_ROUTE_BY(owns_sandbox, request->pod_sandbox_id(), StopPodSandbox, "StopPodSandbox");
}

grpc::Status RoutingRuntimeService::RemovePodSandbox(Ctx* ctx, const v1::RemovePodSandboxRequest* request,
                                                     v1::RemovePodSandboxResponse* response) {
  ZONED_ROUTE_BY(owns_sandbox, request->pod_sandbox_id(), RemovePodSandbox, "RemovePodSandbox");
}

grpc::Status RoutingRuntimeService::PodSandboxStatus(Ctx* ctx, const v1::PodSandboxStatusRequest* request,
                                                     v1::PodSandboxStatusResponse* response) {
  ZONED_ROUTE_BY(owns_sandbox, request->pod_sandbox_id(), PodSandboxStatus, "PodSandboxStatus");
}

grpc::Status RoutingRuntimeService::ListPodSandbox(Ctx* ctx, const v1::ListPodSandboxRequest* request,
                                                   v1::ListPodSandboxResponse* response) {
  return merged_list(zoned_.ListPodSandbox(ctx, request, response), *upstream_,
                     &v1::RuntimeService::Stub::ListPodSandbox, ctx, *request, response, options_, "ListPodSandbox",
                     [](auto& r) { return r.mutable_items(); });
}

grpc::Status RoutingRuntimeService::CreateContainer(Ctx* ctx, const v1::CreateContainerRequest* request,
                                                    v1::CreateContainerResponse* response) {
  ZONED_ROUTE_BY(owns_sandbox, request->pod_sandbox_id(), CreateContainer, "CreateContainer");
}

grpc::Status RoutingRuntimeService::StartContainer(Ctx* ctx, const v1::StartContainerRequest* request,
                                                   v1::StartContainerResponse* response) {
  ZONED_ROUTE_BY(owns_container, request->container_id(), StartContainer, "StartContainer");
}

grpc::Status RoutingRuntimeService::StopContainer(Ctx* ctx, const v1::StopContainerRequest* request,
                                                  v1::StopContainerResponse* response) {
  ZONED_ROUTE_BY(owns_container, request->container_id(), StopContainer, "StopContainer");
}

grpc::Status RoutingRuntimeService::RemoveContainer(Ctx* ctx, const v1::RemoveContainerRequest* request,
                                                    v1::RemoveContainerResponse* response) {
  ZONED_ROUTE_BY(owns_container, request->container_id(), RemoveContainer, "RemoveContainer");
}

grpc::Status RoutingRuntimeService::ListContainers(Ctx* ctx, const v1::ListContainersRequest* request,
                                                   v1::ListContainersResponse* response) {
  return merged_list(zoned_.ListContainers(ctx, request, response), *upstream_,
                     &v1::RuntimeService::Stub::ListContainers, ctx, *request, response, options_, "ListContainers",
                     [](auto& r) { return r.mutable_containers(); });
}

grpc::Status RoutingRuntimeService::ContainerStatus(Ctx* ctx, const v1::ContainerStatusRequest* request,
                                                    v1::ContainerStatusResponse* response) {
  ZONED_ROUTE_BY(owns_container, request->container_id(), ContainerStatus, "ContainerStatus");
}

grpc::Status RoutingRuntimeService::UpdateContainerResources(Ctx* ctx,
                                                             const v1::UpdateContainerResourcesRequest* request,
                                                             v1::UpdateContainerResourcesResponse* response) {
  ZONED_ROUTE_BY(owns_container, request->container_id(), UpdateContainerResources, "UpdateContainerResources");
}

grpc::Status RoutingRuntimeService::ReopenContainerLog(Ctx* ctx, const v1::ReopenContainerLogRequest* request,
                                                       v1::ReopenContainerLogResponse* response) {
  ZONED_ROUTE_BY(owns_container, request->container_id(), ReopenContainerLog, "ReopenContainerLog");
}

grpc::Status RoutingRuntimeService::ExecSync(Ctx* ctx, const v1::ExecSyncRequest* request,
                                             v1::ExecSyncResponse* response) {
  ZONED_ROUTE_BY(owns_container, request->container_id(), ExecSync, "ExecSync");
}

grpc::Status RoutingRuntimeService::Exec(Ctx* ctx, const v1::ExecRequest* request, v1::ExecResponse* response) {
  ZONED_ROUTE_BY(owns_container, request->container_id(), Exec, "Exec");
}

grpc::Status RoutingRuntimeService::Attach(Ctx* ctx, const v1::AttachRequest* request, v1::AttachResponse* response) {
  ZONED_ROUTE_BY(owns_container, request->container_id(), Attach, "Attach");
}

grpc::Status RoutingRuntimeService::PortForward(Ctx* ctx, const v1::PortForwardRequest* request,
                                                v1::PortForwardResponse* response) {
  ZONED_ROUTE_BY(owns_sandbox, request->pod_sandbox_id(), PortForward, "PortForward");
}

grpc::Status RoutingRuntimeService::CheckpointContainer(Ctx* ctx, const v1::CheckpointContainerRequest* request,
                                                        v1::CheckpointContainerResponse* response) {
  ZONED_ROUTE_BY(owns_container, request->container_id(), CheckpointContainer, "CheckpointContainer");
}

grpc::Status RoutingRuntimeService::GetContainerEvents(Ctx* ctx, const v1::GetEventsRequest* request,
                                                       grpc::ServerWriter<v1::ContainerEventResponse>* writer) {
  return zoned_.GetContainerEvents(ctx, request, writer);
}

grpc::Status RoutingRuntimeService::ListMetricDescriptors(Ctx* ctx, const v1::ListMetricDescriptorsRequest* request,
                                                          v1::ListMetricDescriptorsResponse* response) {
  return zoned_.ListMetricDescriptors(ctx, request, response);
}

grpc::Status RoutingRuntimeService::ListPodSandboxMetrics(Ctx* ctx, const v1::ListPodSandboxMetricsRequest* request,
                                                          v1::ListPodSandboxMetricsResponse* response) {
  return zoned_.ListPodSandboxMetrics(ctx, request, response);
}

grpc::Status RoutingRuntimeService::ContainerStats(Ctx* ctx, const v1::ContainerStatsRequest* request,
                                                   v1::ContainerStatsResponse* response) {
  ZONED_ROUTE_BY(owns_container, request->container_id(), ContainerStats, "ContainerStats");
}

grpc::Status RoutingRuntimeService::ListContainerStats(Ctx* ctx, const v1::ListContainerStatsRequest* request,
                                                       v1::ListContainerStatsResponse* response) {
  return merged_list(zoned_.ListContainerStats(ctx, request, response), *upstream_,
                     &v1::RuntimeService::Stub::ListContainerStats, ctx, *request, response, options_,
                     "ListContainerStats", [](auto& r) { return r.mutable_stats(); });
}

grpc::Status RoutingRuntimeService::PodSandboxStats(Ctx* ctx, const v1::PodSandboxStatsRequest* request,
                                                    v1::PodSandboxStatsResponse* response) {
  ZONED_ROUTE_BY(owns_sandbox, request->pod_sandbox_id(), PodSandboxStats, "PodSandboxStats");
}

grpc::Status RoutingRuntimeService::ListPodSandboxStats(Ctx* ctx, const v1::ListPodSandboxStatsRequest* request,
                                                        v1::ListPodSandboxStatsResponse* response) {
  return merged_list(zoned_.ListPodSandboxStats(ctx, request, response), *upstream_,
                     &v1::RuntimeService::Stub::ListPodSandboxStats, ctx, *request, response, options_,
                     "ListPodSandboxStats", [](auto& r) { return r.mutable_stats(); });
}

#undef ZONED_ROUTE_BY

// ---- ImageService ----

RoutingImageService::RoutingImageService(v1::ImageService::Service& zoned, std::shared_ptr<grpc::Channel> upstream,
                                         RoutingOptions options)
    : zoned_(zoned), upstream_(v1::ImageService::NewStub(std::move(upstream))), options_(std::move(options)) {}

grpc::Status RoutingImageService::ListImages(grpc::ServerContext* ctx, const v1::ListImagesRequest* request,
                                             v1::ListImagesResponse* response) {
  grpc::Status ours = zoned_.ListImages(ctx, request, response);
  if (!ours.ok()) return ours;
  v1::ListImagesResponse theirs;
  grpc::Status s =
      forward(*upstream_, &v1::ImageService::Stub::ListImages, ctx, *request, &theirs, options_, "ListImages");
  if (!s.ok()) return s;
  std::set<std::string> ids;
  for (const auto& image : response->images()) ids.insert(image.id());
  for (auto& image : *theirs.mutable_images()) {
    if (ids.insert(image.id()).second) *response->add_images() = std::move(image);
  }
  return s;
}

grpc::Status RoutingImageService::ImageStatus(grpc::ServerContext* ctx, const v1::ImageStatusRequest* request,
                                              v1::ImageStatusResponse* response) {
  const std::string& handler = request->image().runtime_handler();
  if (handler.empty() || handler == options_.runtime_handler) {
    grpc::Status ours = zoned_.ImageStatus(ctx, request, response);
    if (!ours.ok() || response->has_image() || handler == options_.runtime_handler) return ours;
    response->Clear();
  }
  return forward(*upstream_, &v1::ImageService::Stub::ImageStatus, ctx, *request, response, options_, "ImageStatus");
}

grpc::Status RoutingImageService::PullImage(grpc::ServerContext* ctx, const v1::PullImageRequest* request,
                                            v1::PullImageResponse* response) {
  const std::string& handler = request->image().runtime_handler();
  const bool to_zoned = handler.empty() || handler == options_.runtime_handler;
  const bool to_upstream = handler != options_.runtime_handler;
  if (to_zoned) {
    grpc::Status ours = zoned_.PullImage(ctx, request, response);
    if (!ours.ok()) return ours;
  }
  if (!to_upstream) return grpc::Status::OK;
  v1::PullImageResponse theirs;
  grpc::Status s = forward(*upstream_, &v1::ImageService::Stub::PullImage, ctx, *request, &theirs, options_,
                           "PullImage " + request->image().image());
  if (!s.ok()) return s;
  if (!to_zoned) *response = std::move(theirs);
  return s;
}

grpc::Status RoutingImageService::RemoveImage(grpc::ServerContext* ctx, const v1::RemoveImageRequest* request,
                                              v1::RemoveImageResponse* response) {
  grpc::Status ours = zoned_.RemoveImage(ctx, request, response);
  if (!ours.ok()) return ours;
  v1::RemoveImageResponse theirs;
  return forward(*upstream_, &v1::ImageService::Stub::RemoveImage, ctx, *request, &theirs, options_, "RemoveImage");
}

grpc::Status RoutingImageService::ImageFsInfo(grpc::ServerContext* ctx, const v1::ImageFsInfoRequest* request,
                                              v1::ImageFsInfoResponse* response) {
  grpc::Status ours = zoned_.ImageFsInfo(ctx, request, response);
  if (!ours.ok()) return ours;
  v1::ImageFsInfoResponse theirs;
  grpc::Status s =
      forward(*upstream_, &v1::ImageService::Stub::ImageFsInfo, ctx, *request, &theirs, options_, "ImageFsInfo");
  if (!s.ok()) return s;
  for (auto& fs : *theirs.mutable_image_filesystems()) *response->add_image_filesystems() = std::move(fs);
  for (auto& fs : *theirs.mutable_container_filesystems()) *response->add_container_filesystems() = std::move(fs);
  return s;
}

}  // namespace zoned::cri
