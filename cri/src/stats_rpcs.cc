// Stats from the zones' agents (ZoneManager::stats): ContainerStats, ListContainerStats,
// PodSandboxStats, ListPodSandboxStats. A pod whose zone is not running has no numbers, only
// its attributes (as a stopped pod in containerd).
#include <map>
#include <optional>

#include "cri_util.h"
#include "pod_store.h"
#include "zoned/cri/rpc.h"
#include "zoned/cri/runtime_service.h"

namespace zoned::cri {

namespace v1 = runtime::v1;

namespace {

void fill_attributes(const CriContainerRecord& r, v1::ContainerAttributes* a) {
  a->set_id(r.id);
  *a->mutable_metadata() = r.config.metadata();
  *a->mutable_labels() = r.config.labels();
  *a->mutable_annotations() = r.config.annotations();
}

void fill_container_numbers(const zone_runtime::ZoneStats& zone, const std::string& id, v1::ContainerStats* out) {
  for (const auto& c : zone.containers) {
    if (c.id != id) continue;
    out->mutable_cpu()->set_timestamp(zone.timestamp_ns);
    out->mutable_cpu()->mutable_usage_core_nano_seconds()->set_value(c.cpu_usage_ns);
    out->mutable_memory()->set_timestamp(zone.timestamp_ns);
    out->mutable_memory()->mutable_working_set_bytes()->set_value(c.memory_working_set_bytes);
    return;
  }
}

}  // namespace

void RuntimeService::fill_pod_stats(const SandboxRecord& record, v1::PodSandboxStats* out) {
  auto* a = out->mutable_attributes();
  a->set_id(record.id);
  *a->mutable_metadata() = record.config.metadata();
  *a->mutable_labels() = record.config.labels();
  *a->mutable_annotations() = record.config.annotations();
  auto* linux = out->mutable_linux();
  std::optional<zone_runtime::ZoneStats> zone;
  if (sandbox_ready(record)) {
    if (auto s = zones_.stats(record.id); s.ok()) zone = std::move(*s);
  }
  if (zone) {
    linux->mutable_cpu()->set_timestamp(zone->timestamp_ns);
    linux->mutable_cpu()->mutable_usage_core_nano_seconds()->set_value(zone->cpu_usage_ns);
    linux->mutable_memory()->set_timestamp(zone->timestamp_ns);
    uint64_t used = zone->memory_total_bytes > zone->memory_available_bytes
                        ? zone->memory_total_bytes - zone->memory_available_bytes
                        : 0;
    linux->mutable_memory()->mutable_working_set_bytes()->set_value(used);
    linux->mutable_memory()->mutable_usage_bytes()->set_value(used);
    linux->mutable_memory()->mutable_available_bytes()->set_value(zone->memory_available_bytes);
  }
  for (const auto& c : store_->containers(record.id)) {
    auto* cs = linux->add_containers();
    fill_attributes(c, cs->mutable_attributes());
    if (zone) fill_container_numbers(*zone, c.id, cs);
  }
}

grpc::Status RuntimeService::ContainerStats(Ctx*, const v1::ContainerStatsRequest* request,
                                            v1::ContainerStatsResponse* response) {
  return run_rpc("ContainerStats", [&]() -> zoned::Status {
    if (request->container_id().empty()) return Error(ErrorCode::kInvalidArgument, "container id is empty");
    auto record = store_->container(request->container_id());
    if (!record) return Error(ErrorCode::kNotFound, "container " + request->container_id() + " not found");
    auto* out = response->mutable_stats();
    fill_attributes(*record, out->mutable_attributes());
    auto pod = store_->sandbox(record->sandbox_id);
    if (pod && sandbox_ready(*pod)) {
      auto zone = zones_.stats(record->sandbox_id);
      if (!zone.ok()) return std::move(zone).take_error().wrap("stats of container " + record->id.substr(0, 12));
      fill_container_numbers(*zone, record->id, out);
    }
    return ok_status();
  });
}

grpc::Status RuntimeService::ListContainerStats(Ctx*, const v1::ListContainerStatsRequest* request,
                                                v1::ListContainerStatsResponse* response) {
  return run_rpc("ListContainerStats", [&]() -> zoned::Status {
    const auto& filter = request->filter();
    std::map<std::string, std::optional<zone_runtime::ZoneStats>> by_zone;  // one query per zone
    for (const auto& record : store_->containers()) {
      if (!filter.id().empty() && !has_prefix(record.id, filter.id())) continue;
      if (!filter.pod_sandbox_id().empty() && !has_prefix(record.sandbox_id, filter.pod_sandbox_id())) continue;
      if (!labels_match(record.config.labels(), filter.label_selector())) continue;
      auto [it, fresh] = by_zone.try_emplace(record.sandbox_id);
      if (fresh) {
        auto pod = store_->sandbox(record.sandbox_id);
        if (pod && sandbox_ready(*pod)) {
          if (auto s = zones_.stats(record.sandbox_id); s.ok()) it->second = std::move(*s);
        }
      }
      auto* out = response->add_stats();
      fill_attributes(record, out->mutable_attributes());
      if (it->second) fill_container_numbers(*it->second, record.id, out);
    }
    return ok_status();
  });
}

grpc::Status RuntimeService::PodSandboxStats(Ctx*, const v1::PodSandboxStatsRequest* request,
                                             v1::PodSandboxStatsResponse* response) {
  return run_rpc("PodSandboxStats", [&]() -> zoned::Status {
    if (request->pod_sandbox_id().empty()) return Error(ErrorCode::kInvalidArgument, "pod sandbox id is empty");
    auto record = store_->sandbox(request->pod_sandbox_id());
    if (!record) return Error(ErrorCode::kNotFound, "pod sandbox " + request->pod_sandbox_id() + " not found");
    fill_pod_stats(*record, response->mutable_stats());
    return ok_status();
  });
}

grpc::Status RuntimeService::ListPodSandboxStats(Ctx*, const v1::ListPodSandboxStatsRequest* request,
                                                 v1::ListPodSandboxStatsResponse* response) {
  return run_rpc("ListPodSandboxStats", [&]() -> zoned::Status {
    const auto& filter = request->filter();
    for (const auto& record : store_->sandboxes()) {
      if (!filter.id().empty() && !has_prefix(record.id, filter.id())) continue;
      if (!labels_match(record.config.labels(), filter.label_selector())) continue;
      fill_pod_stats(record, response->add_stats());
    }
    return ok_status();
  });
}

}  // namespace zoned::cri
