// The one place where domain errors become gRPC status codes.
#pragma once

#include <grpcpp/support/status.h>

#include "zoned/common/error.h"

namespace zoned::cri {

grpc::StatusCode to_grpc_code(ErrorCode code);
grpc::Status to_grpc_status(const Error& error);

}  // namespace zoned::cri
