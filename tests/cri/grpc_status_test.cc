#include "zoned/cri/grpc_status.h"

#include <catch2/catch_test_macros.hpp>
#include <cerrno>

using zoned::Error;
using zoned::ErrorCode;

TEST_CASE("domain errors map to gRPC codes with their full message") {
  auto s = zoned::cri::to_grpc_status(zoned::sys_error("open /x", ENOENT).wrap("image busybox"));
  CHECK(s.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(s.error_message() == "image busybox: open /x: No such file or directory");
  CHECK(zoned::cri::to_grpc_code(ErrorCode::kInvalidArgument) == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(zoned::cri::to_grpc_code(ErrorCode::kUnavailable) == grpc::StatusCode::UNAVAILABLE);
  CHECK(zoned::cri::to_grpc_code(ErrorCode::kResourceExhausted) == grpc::StatusCode::RESOURCE_EXHAUSTED);
  CHECK(zoned::cri::to_grpc_code(ErrorCode::kInternal) == grpc::StatusCode::INTERNAL);
}
