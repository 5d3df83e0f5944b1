#include "zoned/admin/admin_service.h"

#include <algorithm>

#include "streams.h"
#include "translate.h"
#include "zoned/cri/rpc.h"

namespace zoned::admin {
namespace {

namespace zr = zone_runtime;
using cri::run_rpc;

// WaitContainer waits in slices this long, so that a client that went away frees its thread.
constexpr std::chrono::milliseconds kWaitSlice{1000};

bool cancelled(const grpc::ServerContext* ctx) {
  return ctx != nullptr && ctx->IsCancelled();
}

Status require(const std::string& value, std::string_view field) {
  if (value.empty()) return Error(ErrorCode::kInvalidArgument, std::string(field) + " is missing");
  return ok_status();
}

template <typename Record>
void sort_by_creation(std::vector<Record>& records) {
  std::sort(records.begin(), records.end(), [](const Record& a, const Record& b) {
    return a.created_at_ns != b.created_at_ns ? a.created_at_ns < b.created_at_ns : a.id < b.id;
  });
}

Result<zr::ContainerRecord> wait_in_slices(zr::ZoneManager& zones, const grpc::ServerContext* ctx,
                                           const std::string& container, int64_t timeout_ms) {
  using Clock = std::chrono::steady_clock;
  auto deadline = timeout_ms > 0 ? Clock::now() + std::chrono::milliseconds(timeout_ms) : Clock::time_point::max();
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    auto slice = std::clamp(left, std::chrono::milliseconds(0), kWaitSlice);
    auto record = zones.wait_container(container, slice);
    if (record.ok() || record.error().code() != ErrorCode::kDeadlineExceeded) return record;
    if (cancelled(ctx)) return Error(ErrorCode::kCancelled, "the client went away");
    if (Clock::now() >= deadline) {
      return Error(ErrorCode::kDeadlineExceeded,
                   "container " + container + " did not exit within " + std::to_string(timeout_ms) + " ms");
    }
  }
}

}  // namespace

AdminService::AdminService(zr::ZoneManager& zones) : zones_(zones) {}

grpc::Status AdminService::ListZones(grpc::ServerContext*, const v1::ListZonesRequest*,
                                     v1::ListZonesResponse* response) {
  return run_rpc("admin.ListZones", [&]() -> Status {
    auto zones = zones_.list_zones();
    sort_by_creation(zones);
    for (const auto& zone : zones) to_proto(zone, response->add_zones());
    return ok_status();
  });
}

grpc::Status AdminService::GetZone(grpc::ServerContext*, const v1::GetZoneRequest* request,
                                   v1::GetZoneResponse* response) {
  return run_rpc("admin.GetZone", [&]() -> Status {
    ZONED_TRY(require(request->zone(), "zone"));
    auto zone = zones_.get_zone(request->zone());
    if (!zone.ok()) return std::move(zone).take_error();
    to_proto(*zone, response->mutable_zone());
    return ok_status();
  });
}

grpc::Status AdminService::CreateZone(grpc::ServerContext*, const v1::CreateZoneRequest* request,
                                      v1::CreateZoneResponse* response) {
  return run_rpc("admin.CreateZone", [&]() -> Status {
    auto spec = from_proto(request->spec());
    if (!spec.ok()) return std::move(spec).take_error();
    auto zone = zones_.create_zone(*spec);
    if (!zone.ok()) return std::move(zone).take_error();
    to_proto(*zone, response->mutable_zone());
    return ok_status();
  });
}

grpc::Status AdminService::StopZone(grpc::ServerContext*, const v1::StopZoneRequest* request, v1::StopZoneResponse*) {
  return run_rpc("admin.StopZone", [&]() -> Status {
    ZONED_TRY(require(request->zone(), "zone"));
    auto grace = grace_from_proto(request->grace_seconds(), "grace_seconds");
    if (!grace.ok()) return std::move(grace).take_error();
    return zones_.stop_zone(request->zone(), *grace);
  });
}

grpc::Status AdminService::RemoveZone(grpc::ServerContext*, const v1::RemoveZoneRequest* request,
                                      v1::RemoveZoneResponse*) {
  return run_rpc("admin.RemoveZone", [&]() -> Status {
    ZONED_TRY(require(request->zone(), "zone"));
    return zones_.remove_zone(request->zone());
  });
}

grpc::Status AdminService::Console(grpc::ServerContext*, const v1::ConsoleRequest* request,
                                   v1::ConsoleResponse* response) {
  return run_rpc("admin.Console", [&]() -> Status {
    ZONED_TRY(require(request->zone(), "zone"));
    size_t tail =
        request->tail_bytes() == 0 ? kMaxConsoleBytes : std::min<size_t>(request->tail_bytes(), kMaxConsoleBytes);
    auto text = zones_.console(request->zone(), tail);
    if (!text.ok()) return std::move(text).take_error();
    response->set_data(std::move(*text));
    return ok_status();
  });
}

grpc::Status AdminService::FollowConsole(grpc::ServerContext* ctx, const v1::ConsoleRequest* request,
                                         grpc::ServerWriter<v1::ConsoleChunk>* writer) {
  return run_rpc("admin.FollowConsole", [&]() -> Status {
    ZONED_TRY(require(request->zone(), "zone"));
    return follow_console(zones_, *ctx, *request, *writer);
  });
}

grpc::Status AdminService::ZoneStats(grpc::ServerContext*, const v1::ZoneStatsRequest* request,
                                     v1::ZoneStatsResponse* response) {
  return run_rpc("admin.ZoneStats", [&]() -> Status {
    ZONED_TRY(require(request->zone(), "zone"));
    auto zone = zones_.get_zone(request->zone());
    if (!zone.ok()) return std::move(zone).take_error();
    auto stats = zones_.stats(zone->id);
    if (!stats.ok()) return std::move(stats).take_error();
    to_proto(*stats, zone->id, response);
    return ok_status();
  });
}

grpc::Status AdminService::CreateContainer(grpc::ServerContext*, const v1::CreateContainerRequest* request,
                                           v1::CreateContainerResponse* response) {
  return run_rpc("admin.CreateContainer", [&]() -> Status {
    ZONED_TRY(require(request->zone(), "zone"));
    auto spec = from_proto(request->spec());
    if (!spec.ok()) return std::move(spec).take_error();
    auto container = zones_.create_container(request->zone(), *spec);
    if (!container.ok()) return std::move(container).take_error();
    to_proto(*container, response->mutable_container());
    return ok_status();
  });
}

grpc::Status AdminService::StartContainer(grpc::ServerContext*, const v1::StartContainerRequest* request,
                                          v1::StartContainerResponse*) {
  return run_rpc("admin.StartContainer", [&]() -> Status {
    ZONED_TRY(require(request->container(), "container"));
    return zones_.start_container(request->container());
  });
}

grpc::Status AdminService::StopContainer(grpc::ServerContext*, const v1::StopContainerRequest* request,
                                         v1::StopContainerResponse*) {
  return run_rpc("admin.StopContainer", [&]() -> Status {
    ZONED_TRY(require(request->container(), "container"));
    auto grace = grace_from_proto(request->grace_seconds(), "grace_seconds");
    if (!grace.ok()) return std::move(grace).take_error();
    return zones_.stop_container(request->container(), *grace);
  });
}

grpc::Status AdminService::RemoveContainer(grpc::ServerContext*, const v1::RemoveContainerRequest* request,
                                           v1::RemoveContainerResponse*) {
  return run_rpc("admin.RemoveContainer", [&]() -> Status {
    ZONED_TRY(require(request->container(), "container"));
    return zones_.remove_container(request->container());
  });
}

grpc::Status AdminService::ListContainers(grpc::ServerContext*, const v1::ListContainersRequest* request,
                                          v1::ListContainersResponse* response) {
  return run_rpc("admin.ListContainers", [&]() -> Status {
    std::string zone_id;
    if (!request->zone().empty()) {
      // The filter may be a name or a prefix, like everywhere else; an unknown zone is NotFound.
      auto zone = zones_.get_zone(request->zone());
      if (!zone.ok()) return std::move(zone).take_error();
      zone_id = zone->id;
    }
    auto containers = zones_.list_containers(zone_id);
    sort_by_creation(containers);
    for (const auto& container : containers) to_proto(container, response->add_containers());
    return ok_status();
  });
}

grpc::Status AdminService::GetContainer(grpc::ServerContext*, const v1::GetContainerRequest* request,
                                        v1::GetContainerResponse* response) {
  return run_rpc("admin.GetContainer", [&]() -> Status {
    ZONED_TRY(require(request->container(), "container"));
    auto container = zones_.get_container(request->container());
    if (!container.ok()) return std::move(container).take_error();
    to_proto(*container, response->mutable_container());
    return ok_status();
  });
}

grpc::Status AdminService::WaitContainer(grpc::ServerContext* ctx, const v1::WaitContainerRequest* request,
                                         v1::WaitContainerResponse* response) {
  return run_rpc("admin.WaitContainer", [&]() -> Status {
    ZONED_TRY(require(request->container(), "container"));
    if (request->timeout_ms() < 0) return Error(ErrorCode::kInvalidArgument, "timeout_ms must not be negative");
    auto container = wait_in_slices(zones_, ctx, request->container(), request->timeout_ms());
    if (!container.ok()) return std::move(container).take_error();
    to_proto(*container, response->mutable_container());
    return ok_status();
  });
}

grpc::Status AdminService::ContainerLogs(grpc::ServerContext* ctx, const v1::ContainerLogsRequest* request,
                                         grpc::ServerWriter<v1::ContainerLogsChunk>* writer) {
  return run_rpc("admin.ContainerLogs", [&]() -> Status {
    ZONED_TRY(require(request->container(), "container"));
    return stream_container_logs(zones_, *ctx, *request, *writer);
  });
}

grpc::Status AdminService::ExecSync(grpc::ServerContext*, const v1::ExecSyncRequest* request,
                                    v1::ExecSyncResponse* response) {
  return run_rpc("admin.ExecSync", [&]() -> Status {
    ZONED_TRY(require(request->container(), "container"));
    auto exec = from_proto(*request);
    if (!exec.ok()) return std::move(exec).take_error();
    if (request->timeout_ms() < 0) return Error(ErrorCode::kInvalidArgument, "timeout_ms must not be negative");
    auto timeout =
        std::chrono::milliseconds(request->timeout_ms() == 0 ? kDefaultExecTimeoutMs : request->timeout_ms());
    size_t max_output = request->max_output_bytes() == 0
                            ? kDefaultExecOutputBytes
                            : std::min<size_t>(request->max_output_bytes(), kMaxExecOutputBytes);
    auto result = zones_.exec_sync(*exec, timeout, max_output);
    if (!result.ok()) return std::move(result).take_error();
    response->set_exit_code(result->exit_code);
    response->set_signal(result->signal);
    response->set_stdout(std::move(result->stdout_data));
    response->set_stderr(std::move(result->stderr_data));
    response->set_output_truncated(result->output_truncated);
    return ok_status();
  });
}

grpc::Status AdminService::Exec(grpc::ServerContext* ctx,
                                grpc::ServerReaderWriter<v1::ExecServerMessage, v1::ExecClientMessage>* stream) {
  return run_rpc("admin.Exec", [&]() -> Status { return run_exec(zones_, *ctx, *stream); });
}

}  // namespace zoned::admin
