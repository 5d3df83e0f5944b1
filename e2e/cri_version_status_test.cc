// CRI Version and Status from the host, through the devbox's socket, answered by zoned running
// in a Xen dom0. ZONED_E2E_SOCKET names the host-side socket (set by e2e/run).
#include <grpcpp/grpcpp.h>

#include <catch2/catch_test_macros.hpp>
#include <cstdlib>
#include <string>

#include "api.grpc.pb.h"

namespace v1 = runtime::v1;
using namespace std::chrono_literals;

namespace {
std::unique_ptr<v1::RuntimeService::Stub> client() {
  const char* socket = std::getenv("ZONED_E2E_SOCKET");
  REQUIRE(socket != nullptr);
  return v1::RuntimeService::NewStub(
      grpc::CreateChannel(std::string("unix:") + socket, grpc::InsecureChannelCredentials()));
}
void set_deadline(grpc::ClientContext& ctx) {
  ctx.set_deadline(std::chrono::system_clock::now() + 20s);
}
}  // namespace

TEST_CASE("Version through the devbox socket names our runtime") {
  auto stub = client();
  grpc::ClientContext ctx;
  set_deadline(ctx);
  v1::VersionRequest request;
  request.set_version("v1");
  v1::VersionResponse response;
  grpc::Status status = stub->Version(&ctx, request, &response);
  INFO(status.error_message());
  REQUIRE(status.ok());
  CHECK(response.runtime_name() == "zoned");
  CHECK(response.runtime_version() == "0.1.0");
  CHECK(response.runtime_api_version() == "v1");
}

TEST_CASE("Status in dom0: RuntimeReady, with Xen's details") {
  auto stub = client();
  grpc::ClientContext ctx;
  set_deadline(ctx);
  v1::StatusRequest request;
  request.set_verbose(true);
  v1::StatusResponse response;
  grpc::Status status = stub->Status(&ctx, request, &response);
  INFO(status.error_message());
  REQUIRE(status.ok());
  bool found = false;
  for (const auto& c : response.status().conditions()) {
    if (c.type() != "RuntimeReady") continue;
    found = true;
    INFO("reason=" << c.reason() << " message=" << c.message());
    CHECK(c.status());
  }
  CHECK(found);
  INFO(response.info().at("xen"));
  CHECK(response.info().at("xen").find("\"xen_version\":\"4.17") != std::string::npos);
}
