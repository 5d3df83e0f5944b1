// The streaming RPCs of AdminService, one file each. They return a Status; the service wraps
// them with run_rpc like the unary ones.
#pragma once

#include <grpcpp/grpcpp.h>

#include <string_view>

#include "admin.grpc.pb.h"
#include "zoned/common/result.h"
#include "zoned/zone_runtime/zone_manager.h"

namespace zoned::admin {

// console_follow.cc
Status follow_console(zone_runtime::ZoneManager& zones, grpc::ServerContext& ctx, const v1::ConsoleRequest& request,
                      grpc::ServerWriter<v1::ConsoleChunk>& writer);

// The length of the longest suffix of `previous` that is also a prefix of `current`: how much of
// a new console snapshot was already in the last one (both are tails of one growing stream).
size_t console_overlap(std::string_view previous, std::string_view current);

// container_logs.cc
Status stream_container_logs(zone_runtime::ZoneManager& zones, grpc::ServerContext& ctx,
                             const v1::ContainerLogsRequest& request,
                             grpc::ServerWriter<v1::ContainerLogsChunk>& writer);

// exec_stream.cc
Status run_exec(zone_runtime::ZoneManager& zones, grpc::ServerContext& ctx,
                grpc::ServerReaderWriter<v1::ExecServerMessage, v1::ExecClientMessage>& stream);

}  // namespace zoned::admin
