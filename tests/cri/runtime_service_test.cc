#include "zoned/cri/runtime_service.h"

#include <catch2/catch_test_macros.hpp>
#include <nlohmann/json.hpp>

#include "fakes/fake_hypervisor.h"
#include "zoned/common/version.h"

namespace v1 = runtime::v1;

namespace {
const v1::RuntimeCondition* find_condition(const v1::StatusResponse& r, const std::string& type) {
  for (const auto& c : r.status().conditions()) {
    if (c.type() == type) return &c;
  }
  return nullptr;
}
}  // namespace

TEST_CASE("Version names this runtime and API v1") {
  zoned::testing::FakeHypervisor hv;
  zoned::cri::RuntimeService service(hv, "{}");
  v1::VersionRequest request;
  request.set_version("v1");
  v1::VersionResponse response;
  REQUIRE(service.Version(nullptr, &request, &response).ok());
  CHECK(response.runtime_name() == "zoned");
  CHECK(response.runtime_version() == zoned::kVersion);
  CHECK(response.runtime_api_version() == "v1");
  CHECK(response.version() == "0.1.0");
}

TEST_CASE("Status reports RuntimeReady from the hypervisor probe") {
  zoned::testing::FakeHypervisor hv;
  zoned::cri::RuntimeService service(hv, R"({"socket_path":"/s"})");
  v1::StatusRequest request;

  SECTION("not ready: the reason and message pass through") {
    hv.next.ready = false;
    hv.next.reason = "XenUnavailable";
    hv.next.message = "/dev/xen/privcmd is missing";
    v1::StatusResponse response;
    REQUIRE(service.Status(nullptr, &request, &response).ok());
    const auto* c = find_condition(response, "RuntimeReady");
    REQUIRE(c != nullptr);
    CHECK_FALSE(c->status());
    CHECK(c->reason() == "XenUnavailable");
    CHECK(c->message() == "/dev/xen/privcmd is missing");
    CHECK(response.info().empty());
  }
  SECTION("ready") {
    hv.next.ready = true;
    hv.next.details["xen_version"] = "4.17.5";
    request.set_verbose(true);
    v1::StatusResponse response;
    REQUIRE(service.Status(nullptr, &request, &response).ok());
    const auto* c = find_condition(response, "RuntimeReady");
    REQUIRE(c != nullptr);
    CHECK(c->status());
    auto xen = nlohmann::json::parse(response.info().at("xen"));
    CHECK(xen["xen_version"] == "4.17.5");
    CHECK(xen["ready"] == true);
    CHECK(nlohmann::json::parse(response.info().at("config"))["socket_path"] == "/s");
  }
  // Networking is not implemented yet, and Status must say so.
  v1::StatusResponse response;
  REQUIRE(service.Status(nullptr, &request, &response).ok());
  const auto* net = find_condition(response, "NetworkReady");
  REQUIRE(net != nullptr);
  CHECK_FALSE(net->status());
  CHECK(hv.probes >= 1);
}
