// RuntimeService: construction, restart reconciliation, per-pod locks, and the runtime-wide
// RPCs (Version, Status, RuntimeConfig, UpdateRuntimeConfig) plus the ones that are not
// implemented here.
#include "zoned/cri/runtime_service.h"

#include <nlohmann/json.hpp>

#include "pod_store.h"
#include "zoned/common/log.h"
#include "zoned/common/version.h"
#include "zoned/common/zone_annotations.h"
#include "zoned/cri/pod_network.h"
#include "zoned/cri/rpc.h"

namespace zoned::cri {

namespace v1 = runtime::v1;

Result<std::unique_ptr<RuntimeService>> RuntimeService::open(const RuntimeServiceOptions& options,
                                                             zone_runtime::Hypervisor& hypervisor,
                                                             zone_runtime::ZoneManager& zones,
                                                             image_store::ImageStore* images) {
  if (options.state_dir.empty()) return Error(ErrorCode::kInvalidArgument, "CRI runtime: state_dir is empty");
  if (options.runtime_handler.empty())
    return Error(ErrorCode::kInvalidArgument, "CRI runtime: runtime handler is empty");
  if (options.cgroup_driver != "systemd" && options.cgroup_driver != "cgroupfs") {
    return Error(ErrorCode::kInvalidArgument, "CRI runtime: cgroup driver must be systemd or cgroupfs");
  }
  auto store = PodStore::open(options.state_dir + "/cri");
  if (!store.ok()) return std::move(store).take_error();
  std::unique_ptr<RuntimeService> service(new RuntimeService(options, hypervisor, zones, images, std::move(*store)));
  ZONED_TRY(service->reconcile());
  return service;
}

RuntimeService::RuntimeService(const RuntimeServiceOptions& options, zone_runtime::Hypervisor& hypervisor,
                               zone_runtime::ZoneManager& zones, image_store::ImageStore* images,
                               std::unique_ptr<PodStore> store)
    : options_(options), hypervisor_(hypervisor), zones_(zones), images_(images), store_(std::move(store)) {}

RuntimeService::~RuntimeService() = default;

// A pod whose zone is gone or no longer running is NOTREADY from now on. A zone made for a pod
// whose record was never written (the daemon died between create_zone and put_sandbox) cannot
// be reached by any CRI call: it is removed, before the network reconciliation releases its
// pod network. Zones made through the admin API (without the CRI label) are not ours to touch.
zoned::Status RuntimeService::reconcile() {
  size_t orphans = 0;
  for (const auto& zone : zones_.list_zones()) {
    auto label = zone.spec.labels.find(kCriSandboxZoneLabel);
    if (label == zone.spec.labels.end() || label->second != "true") continue;
    if (auto record = store_->sandbox(zone.id); record && record->id == zone.id) continue;
    auto stopped = zones_.stop_zone(zone.id, std::chrono::seconds(0));
    if (!stopped.ok() && stopped.error().code() != ErrorCode::kNotFound) {
      log::warn("cannot stop the zone of an unrecorded pod",
                {{"zone", zone.id.substr(0, 12)}, {"error", stopped.error().describe()}});
      continue;
    }
    auto removed = zones_.remove_zone(zone.id);
    if (!removed.ok() && removed.error().code() != ErrorCode::kNotFound) {
      log::warn("cannot remove the zone of an unrecorded pod",
                {{"zone", zone.id.substr(0, 12)}, {"error", removed.error().describe()}});
      continue;
    }
    ++orphans;
    log::info("removed the zone of a pod whose creation was interrupted", {{"zone", zone.id.substr(0, 12)}});
  }
  size_t pods = 0, not_ready = 0;
  for (auto& record : store_->sandboxes()) {
    ++pods;
    if (!record.ready) continue;
    auto zone = zones_.get_zone(record.id);
    if (zone.ok() && zone->state == zone_runtime::ZoneState::kRunning) continue;
    record.ready = false;
    ++not_ready;
    ZONED_TRY(store_->put_sandbox(record));
  }
  log::info("CRI pods recovered", {{"pods", pods}, {"marked_not_ready", not_ready}, {"orphan_zones_removed", orphans}});
  if (options_.network != nullptr) {  // CNI attachments and netns of pods we no longer know
    std::set<std::string> live;
    for (const auto& record : store_->sandboxes()) live.insert(record.id);
    const auto report = options_.network->reconcile(live);
    log::info("pod networks reconciled", {{"deleted_attachments", report.deleted_attachments.size()},
                                          {"removed_netns", report.removed_netns.size()},
                                          {"errors", report.errors.size()}});
    for (const auto& e : report.errors) log::warn("pod network reconciliation", {{"error", e}});
  }
  return ok_status();
}

bool RuntimeService::owns_sandbox(const std::string& id) {
  return !id.empty() && store_->sandbox(id).has_value();
}

bool RuntimeService::owns_container(const std::string& id) {
  return !id.empty() && store_->container(id).has_value();
}

std::shared_ptr<std::mutex> RuntimeService::pod_lock(const std::string& sandbox_id) {
  std::lock_guard lock(locks_mu_);
  auto& slot = pod_locks_[sandbox_id];
  if (!slot) slot = std::make_shared<std::mutex>();
  return slot;
}

void RuntimeService::forget_pod_lock(const std::string& sandbox_id) {
  std::lock_guard lock(locks_mu_);
  pod_locks_.erase(sandbox_id);
}

grpc::Status RuntimeService::Version(Ctx*, const v1::VersionRequest*, v1::VersionResponse* response) {
  return run_rpc("Version", [&]() -> zoned::Status {
    response->set_version(kCriApiVersion);
    response->set_runtime_name(kRuntimeName);
    response->set_runtime_version(kVersion);
    response->set_runtime_api_version("v1");
    return ok_status();
  });
}

grpc::Status RuntimeService::Status(Ctx*, const v1::StatusRequest* request, v1::StatusResponse* response) {
  return run_rpc("Status", [&]() -> zoned::Status {
    zone_runtime::HypervisorStatus hv = hypervisor_.probe();
    auto* runtime_ready = response->mutable_status()->add_conditions();
    runtime_ready->set_type("RuntimeReady");
    runtime_ready->set_status(hv.ready);
    runtime_ready->set_reason(hv.reason);
    runtime_ready->set_message(hv.message);

    auto* network_ready = response->mutable_status()->add_conditions();
    network_ready->set_type("NetworkReady");
    if (options_.network == nullptr) {
      network_ready->set_status(false);
      network_ready->set_reason("NetworkPluginNotReady");
      network_ready->set_message("pod networking (CNI) is not configured in this zoned");
    } else {
      const auto net = options_.network->status();
      network_ready->set_status(net.ready);
      network_ready->set_reason(net.reason);
      network_ready->set_message(net.message);
    }

    // As containerd: the default handler (empty name) and each named one.
    response->add_runtime_handlers()->set_name("");
    response->add_runtime_handlers()->set_name(options_.runtime_handler);

    if (request->verbose()) {
      nlohmann::json xen = hv.details;
      xen["ready"] = hv.ready;
      (*response->mutable_info())["xen"] = xen.dump();
      (*response->mutable_info())["config"] = options_.config_json;
      nlohmann::json cri = {{"runtime_handler", options_.runtime_handler},
                            {"default_runtime_handler", options_.default_runtime_handler},
                            {"cgroup_driver", options_.cgroup_driver},
                            {"pod_cidr", store_->pod_cidr()}};
      (*response->mutable_info())["cri"] = cri.dump();
    }
    return ok_status();
  });
}

grpc::Status RuntimeService::RuntimeConfig(Ctx*, const v1::RuntimeConfigRequest*, v1::RuntimeConfigResponse* response) {
  return run_rpc("RuntimeConfig", [&]() -> zoned::Status {
    response->mutable_linux()->set_cgroup_driver(options_.cgroup_driver == "systemd" ? v1::CgroupDriver::SYSTEMD
                                                                                     : v1::CgroupDriver::CGROUPFS);
    return ok_status();
  });
}

grpc::Status RuntimeService::UpdateRuntimeConfig(Ctx*, const v1::UpdateRuntimeConfigRequest* request,
                                                 v1::UpdateRuntimeConfigResponse*) {
  return run_rpc("UpdateRuntimeConfig", [&]() -> zoned::Status {
    const std::string& cidr = request->runtime_config().network_config().pod_cidr();
    if (cidr.empty() || cidr == store_->pod_cidr()) return ok_status();
    if (cidr.size() > 128 || cidr.find_first_not_of("0123456789abcdefABCDEF.:/,") != std::string::npos) {
      return Error(ErrorCode::kInvalidArgument, "pod CIDR \"" + cidr.substr(0, 128) + "\" is malformed");
    }
    ZONED_TRY(store_->set_pod_cidr(cidr));
    log::info("pod CIDR set", {{"pod_cidr", cidr}});
    return ok_status();
  });
}

namespace {
grpc::Status not_implemented(const std::string& what) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, what + " is not implemented by zoned");
}
}  // namespace

grpc::Status RuntimeService::CheckpointContainer(Ctx*, const v1::CheckpointContainerRequest*,
                                                 v1::CheckpointContainerResponse*) {
  return not_implemented("CheckpointContainer (checkpointing a container in a zone)");
}

grpc::Status RuntimeService::GetContainerEvents(Ctx*, const v1::GetEventsRequest*,
                                                grpc::ServerWriter<v1::ContainerEventResponse>*) {
  return not_implemented("GetContainerEvents (kubelet's evented PLEG; the generic PLEG's polling works)");
}

grpc::Status RuntimeService::ListMetricDescriptors(Ctx*, const v1::ListMetricDescriptorsRequest*,
                                                   v1::ListMetricDescriptorsResponse*) {
  return not_implemented("ListMetricDescriptors (use ListContainerStats and ListPodSandboxStats)");
}

grpc::Status RuntimeService::ListPodSandboxMetrics(Ctx*, const v1::ListPodSandboxMetricsRequest*,
                                                   v1::ListPodSandboxMetricsResponse*) {
  return not_implemented("ListPodSandboxMetrics (use ListContainerStats and ListPodSandboxStats)");
}

// Exec, Attach and PortForward: streaming_rpcs.cc.

}  // namespace zoned::cri
