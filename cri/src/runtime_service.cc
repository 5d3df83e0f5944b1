#include "zoned/cri/runtime_service.h"

#include <nlohmann/json.hpp>

#include "zoned/common/version.h"
#include "zoned/cri/rpc.h"

namespace zoned::cri {

namespace v1 = runtime::v1;

RuntimeService::RuntimeService(zone_runtime::Hypervisor& hypervisor, std::string config_json)
    : hypervisor_(hypervisor), config_json_(std::move(config_json)) {}

grpc::Status RuntimeService::Version(grpc::ServerContext*, const v1::VersionRequest*, v1::VersionResponse* response) {
  return run_rpc("Version", [&]() -> zoned::Status {
    response->set_version(kCriApiVersion);
    response->set_runtime_name(kRuntimeName);
    response->set_runtime_version(kVersion);
    response->set_runtime_api_version("v1");
    return ok_status();
  });
}

grpc::Status RuntimeService::Status(grpc::ServerContext*, const v1::StatusRequest* request,
                                    v1::StatusResponse* response) {
  return run_rpc("Status", [&]() -> zoned::Status {
    zone_runtime::HypervisorStatus hv = hypervisor_.probe();
    auto* runtime_ready = response->mutable_status()->add_conditions();
    runtime_ready->set_type("RuntimeReady");
    runtime_ready->set_status(hv.ready);
    runtime_ready->set_reason(hv.reason);
    runtime_ready->set_message(hv.message);

    // Pod networking is not wired up yet; saying so is better than claiming readiness.
    auto* network_ready = response->mutable_status()->add_conditions();
    network_ready->set_type("NetworkReady");
    network_ready->set_status(false);
    network_ready->set_reason("NetworkPluginNotReady");
    network_ready->set_message("pod networking (CNI) is not implemented in this version of zoned");

    if (request->verbose()) {
      nlohmann::json xen = hv.details;
      xen["ready"] = hv.ready;
      (*response->mutable_info())["xen"] = xen.dump();
      (*response->mutable_info())["config"] = config_json_;
    }
    return ok_status();
  });
}

}  // namespace zoned::cri
