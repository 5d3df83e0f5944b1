// AdminService: zoned.admin.v1 (admin/proto/admin.proto) over a ZoneManager. It only
// translates: requests are validated and turned into ZoneManager calls, records into messages,
// and every error goes through the one mapping (zoned/cri/grpc_status.h, via run_rpc).
// Streaming calls (FollowConsole, ContainerLogs with follow, WaitContainer, Exec) notice a
// client that went away within about a second and end.
#pragma once

#include "admin.grpc.pb.h"
#include "zoned/zone_runtime/zone_manager.h"

namespace zoned::admin {

class AdminService final : public v1::ZoneAdmin::Service {
 public:
  // `zones` must outlive the service.
  explicit AdminService(zone_runtime::ZoneManager& zones);

  grpc::Status ListZones(grpc::ServerContext* ctx, const v1::ListZonesRequest* request,
                         v1::ListZonesResponse* response) override;
  grpc::Status GetZone(grpc::ServerContext* ctx, const v1::GetZoneRequest* request,
                       v1::GetZoneResponse* response) override;
  grpc::Status CreateZone(grpc::ServerContext* ctx, const v1::CreateZoneRequest* request,
                          v1::CreateZoneResponse* response) override;
  grpc::Status StopZone(grpc::ServerContext* ctx, const v1::StopZoneRequest* request,
                        v1::StopZoneResponse* response) override;
  grpc::Status RemoveZone(grpc::ServerContext* ctx, const v1::RemoveZoneRequest* request,
                          v1::RemoveZoneResponse* response) override;
  grpc::Status Console(grpc::ServerContext* ctx, const v1::ConsoleRequest* request,
                       v1::ConsoleResponse* response) override;
  grpc::Status FollowConsole(grpc::ServerContext* ctx, const v1::ConsoleRequest* request,
                             grpc::ServerWriter<v1::ConsoleChunk>* writer) override;
  grpc::Status ZoneStats(grpc::ServerContext* ctx, const v1::ZoneStatsRequest* request,
                         v1::ZoneStatsResponse* response) override;

  grpc::Status CreateContainer(grpc::ServerContext* ctx, const v1::CreateContainerRequest* request,
                               v1::CreateContainerResponse* response) override;
  grpc::Status StartContainer(grpc::ServerContext* ctx, const v1::StartContainerRequest* request,
                              v1::StartContainerResponse* response) override;
  grpc::Status StopContainer(grpc::ServerContext* ctx, const v1::StopContainerRequest* request,
                             v1::StopContainerResponse* response) override;
  grpc::Status RemoveContainer(grpc::ServerContext* ctx, const v1::RemoveContainerRequest* request,
                               v1::RemoveContainerResponse* response) override;
  grpc::Status ListContainers(grpc::ServerContext* ctx, const v1::ListContainersRequest* request,
                              v1::ListContainersResponse* response) override;
  grpc::Status GetContainer(grpc::ServerContext* ctx, const v1::GetContainerRequest* request,
                            v1::GetContainerResponse* response) override;
  grpc::Status WaitContainer(grpc::ServerContext* ctx, const v1::WaitContainerRequest* request,
                             v1::WaitContainerResponse* response) override;
  grpc::Status ContainerLogs(grpc::ServerContext* ctx, const v1::ContainerLogsRequest* request,
                             grpc::ServerWriter<v1::ContainerLogsChunk>* writer) override;

  grpc::Status ExecSync(grpc::ServerContext* ctx, const v1::ExecSyncRequest* request,
                        v1::ExecSyncResponse* response) override;
  grpc::Status Exec(grpc::ServerContext* ctx,
                    grpc::ServerReaderWriter<v1::ExecServerMessage, v1::ExecClientMessage>* stream) override;

 private:
  zone_runtime::ZoneManager& zones_;
};

}  // namespace zoned::admin
