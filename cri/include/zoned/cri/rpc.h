// Wraps every RPC handler once: logs the call and its outcome, and turns a domain Error into a
// gRPC status (through grpc_status.h). Handlers return zoned::Status.
#pragma once

#include <grpcpp/support/status.h>

#include <chrono>
#include <string_view>

#include "zoned/common/log.h"
#include "zoned/common/result.h"
#include "zoned/cri/grpc_status.h"

namespace zoned::cri {

template <typename Handler>
grpc::Status run_rpc(std::string_view rpc, Handler&& handler) {
  auto start = std::chrono::steady_clock::now();
  Status result = handler();
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
  if (result.ok()) {
    log::debug("rpc", {{"rpc", rpc}, {"duration_us", micros}});
    return grpc::Status::OK;
  }
  const Error& error = result.error();
  log::warn(
      "rpc failed",
      {{"rpc", rpc}, {"duration_us", micros}, {"code", error_code_name(error.code())}, {"error", error.describe()}});
  return to_grpc_status(error);
}

}  // namespace zoned::cri
