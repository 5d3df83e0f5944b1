// CRI RuntimeService: pod sandboxes and containers. Implemented so far: Version, Status.
// The remaining RPCs answer UNIMPLEMENTED (the generated base class) until zones exist.
#pragma once

#include <string>

#include "api.grpc.pb.h"
#include "zoned/zone_runtime/hypervisor.h"

namespace zoned::cri {

class RuntimeService final : public runtime::v1::RuntimeService::Service {
 public:
  // `config_json` is reported in verbose Status as the effective configuration.
  RuntimeService(zone_runtime::Hypervisor& hypervisor, std::string config_json);

  grpc::Status Version(grpc::ServerContext* context, const runtime::v1::VersionRequest* request,
                       runtime::v1::VersionResponse* response) override;
  grpc::Status Status(grpc::ServerContext* context, const runtime::v1::StatusRequest* request,
                      runtime::v1::StatusResponse* response) override;

 private:
  zone_runtime::Hypervisor& hypervisor_;
  std::string config_json_;
};

// The CRI API version this runtime serves (VersionResponse.version).
inline constexpr const char* kCriApiVersion = "0.1.0";

}  // namespace zoned::cri
