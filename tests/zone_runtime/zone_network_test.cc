// ZoneManager and pod networking: the NIC in the domain spec, the on_domain_created hook (where
// the CRI layer wires the vif) and ConfigureNetwork to the agent, with everything undone when
// one of them fails. FakeZoneHost; no Xen.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <chrono>

#include "fakes/fake_image_store.h"
#include "fakes/fake_zone_host.h"
#include "support/temp_dir.h"
#include "zoned/common/log.h"
#include "zoned/zone_runtime/zone_manager.h"

namespace zoned::zone_runtime {
namespace {

using namespace std::chrono_literals;
using Catch::Matchers::ContainsSubstring;
using testing::FakeZoneHost;
using testing::TempDir;

struct NetFixture {
  TempDir dir;
  FakeZoneHost host;
  testing::FakeImageStore images;
  ZoneManagerOptions options;
  std::unique_ptr<ZoneManager> manager;

  NetFixture() {
    log::configure(log::Level::kWarn, log::Format::kText);
    options.state_dir = dir.path() + "/state";
    options.kernel = dir.write("vmlinux", "not really a kernel");
    options.initramfs = dir.write("initramfs.cpio", "not really an initramfs");
    options.agent_timeout = 5s;
    options.request_timeout = 5s;
    auto opened = ZoneManager::open(options, host, images, host.devices.attacher());
    REQUIRE(opened.ok());
    manager = std::move(*opened);
  }
  ~NetFixture() { manager.reset(); }
};

const std::string kConfig = R"({"mac":"0a:58:0a:58:00:05","mtu":1500})";

}  // namespace

TEST_CASE_METHOD(NetFixture, "a zone with a NIC: the domain gets the MAC, the hook its domid, the agent the config",
                 "[zone-manager][network]") {
  ZoneSpec spec;
  spec.name = "pod";
  spec.nic_mac = "0a:58:0a:58:00:05";
  spec.network_config_json = kConfig;
  uint32_t hooked = 0;
  spec.on_domain_created = [&](uint32_t domid) {
    hooked = domid;
    return ok_status();
  };
  auto zone = manager->create_zone(spec);
  REQUIRE(zone.ok());
  CHECK(hooked == zone->domid);
  CHECK(hooked != 0);
  const auto specs = host.created_specs();
  REQUIRE(specs.size() == 1);
  REQUIRE(specs[0].nic.has_value());
  CHECK(specs[0].nic->mac == "0a:58:0a:58:00:05");
  auto agent = host.agent(zone->domid);
  REQUIRE(agent);
  CHECK(agent->saw("ConfigureNetwork " + kConfig));
  CHECK_FALSE(zone->spec.on_domain_created);  // the caller's, not kept
}

TEST_CASE_METHOD(NetFixture, "a zone without a NIC has no network device and no ConfigureNetwork",
                 "[zone-manager][network]") {
  ZoneSpec spec;
  spec.name = "plain";
  auto zone = manager->create_zone(spec);
  REQUIRE(zone.ok());
  REQUIRE(host.created_specs().size() == 1);
  CHECK_FALSE(host.created_specs()[0].nic.has_value());
  for (const auto& r : host.agent(zone->domid)->requests()) CHECK(r.rfind("ConfigureNetwork", 0) != 0);
}

TEST_CASE_METHOD(NetFixture, "a failing hook or a refused ConfigureNetwork fails create_zone, nothing is left",
                 "[zone-manager][network]") {
  ZoneSpec spec;
  spec.name = "pod";
  spec.nic_mac = "0a:58:0a:58:00:05";
  SECTION("the hook fails") {
    spec.on_domain_created = [](uint32_t) { return Status(Error(ErrorCode::kInternal, "wiring failed")); };
    auto zone = manager->create_zone(spec);
    REQUIRE_FALSE(zone.ok());
    CHECK_THAT(zone.error().describe(), ContainsSubstring("wiring failed"));
  }
  SECTION("the agent refuses the config") {
    spec.network_config_json = "not json";
    auto zone = manager->create_zone(spec);
    REQUIRE_FALSE(zone.ok());
    CHECK_THAT(zone.error().describe(), ContainsSubstring("configuring the network"));
  }
  CHECK(manager->list_zones().empty());
  auto domains = host.list_domains();
  REQUIRE(domains.ok());
  CHECK(domains->empty());
  // the name is free again
  spec.on_domain_created = nullptr;
  spec.network_config_json.clear();
  CHECK(manager->create_zone(spec).ok());
}

}  // namespace zoned::zone_runtime

namespace zoned::zone_runtime {

TEST_CASE_METHOD(NetFixture, "a caller-chosen zone id is used, checked and unique", "[zone-manager][network]") {
  ZoneSpec spec;
  spec.name = "a";
  spec.id = std::string(64, 'c');
  auto zone = manager->create_zone(spec);
  REQUIRE(zone.ok());
  CHECK(zone->id == spec.id);
  spec.name = "b";
  auto again = manager->create_zone(spec);
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().code() == ErrorCode::kAlreadyExists);
  for (const std::string& bad : {std::string(63, 'c'), std::string(64, 'C'), std::string(64, 'g')}) {
    spec.id = bad;
    auto refused = manager->create_zone(spec);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code() == ErrorCode::kInvalidArgument);
  }
}

}  // namespace zoned::zone_runtime
