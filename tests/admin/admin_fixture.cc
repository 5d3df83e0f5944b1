#include "admin_fixture.h"

#include <catch2/catch_test_macros.hpp>

#include "zoned/common/log.h"

namespace zoned::testing {

AdminFixture::AdminFixture() : zones(tmp.path()), socket(tmp.file("admin.sock")) {
  // Failed RPCs are logged as warnings; the tests cause many on purpose.
  log::configure(log::Level::kError, log::Format::kText);
  server_ = std::make_unique<admin::AdminServer>(zones);
  auto started = server_->start(socket);
  if (!started.ok()) FAIL("cannot start the admin server: " << started.error().describe());
  stub = v1::ZoneAdmin::NewStub(grpc::CreateChannel("unix:" + socket, grpc::InsecureChannelCredentials()));
}

AdminFixture::~AdminFixture() {
  server_->shutdown(std::chrono::seconds(1));
}

v1::Zone AdminFixture::create_zone(const std::string& name, const std::vector<std::string>& images) {
  grpc::ClientContext cc;
  v1::CreateZoneRequest request;
  request.mutable_spec()->set_name(name);
  for (const auto& image : images) request.mutable_spec()->add_images(image);
  v1::CreateZoneResponse response;
  auto status = stub->CreateZone(&cc, request, &response);
  REQUIRE(status.error_message() == "");
  REQUIRE(status.ok());
  return response.zone();
}

v1::Container AdminFixture::create_container(const std::string& zone, const std::string& name,
                                             const std::vector<std::string>& args, const std::string& image) {
  grpc::ClientContext cc;
  v1::CreateContainerRequest request;
  request.set_zone(zone);
  request.mutable_spec()->set_name(name);
  request.mutable_spec()->set_image(image);
  for (const auto& arg : args) request.mutable_spec()->add_args(arg);
  v1::CreateContainerResponse response;
  auto status = stub->CreateContainer(&cc, request, &response);
  REQUIRE(status.error_message() == "");
  REQUIRE(status.ok());
  return response.container();
}

void AdminFixture::start_container(const std::string& id) {
  grpc::ClientContext cc;
  v1::StartContainerRequest request;
  request.set_container(id);
  v1::StartContainerResponse response;
  auto status = stub->StartContainer(&cc, request, &response);
  REQUIRE(status.error_message() == "");
  REQUIRE(status.ok());
}

}  // namespace zoned::testing
