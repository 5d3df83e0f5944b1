// Xen's domain flags and shutdown reasons -> DomainRunState, and the reported counters.
#include "zoned/xen/domain_info.h"

#include <catch2/catch_test_macros.hpp>

#include "zoned/xen/domain_config.h"

using zoned::zone_runtime::DomainRunState;

namespace {

libxl_dominfo info_with(bool shutdown, bool dying, libxl_shutdown_reason reason) {
  libxl_dominfo info;
  libxl_dominfo_init(&info);
  info.shutdown = shutdown;
  info.dying = dying;
  info.shutdown_reason = reason;
  return info;
}

}  // namespace

TEST_CASE("a domain that is not shut down is running (running, blocked or paused)") {
  auto info = info_with(false, false, LIBXL_SHUTDOWN_REASON_UNKNOWN);
  CHECK(zoned::xen::run_state(info) == DomainRunState::kRunning);
  info.paused = true;
  CHECK(zoned::xen::run_state(info) == DomainRunState::kRunning);
}

TEST_CASE("dying wins over any shutdown reason") {
  CHECK(zoned::xen::run_state(info_with(true, true, LIBXL_SHUTDOWN_REASON_CRASH)) == DomainRunState::kDying);
  CHECK(zoned::xen::run_state(info_with(false, true, LIBXL_SHUTDOWN_REASON_UNKNOWN)) == DomainRunState::kDying);
}

TEST_CASE("shutdown reasons") {
  auto state = [](libxl_shutdown_reason r) { return zoned::xen::run_state(info_with(true, false, r)); };
  CHECK(state(LIBXL_SHUTDOWN_REASON_POWEROFF) == DomainRunState::kPoweroff);
  CHECK(state(LIBXL_SHUTDOWN_REASON_REBOOT) == DomainRunState::kReboot);
  CHECK(state(LIBXL_SHUTDOWN_REASON_SOFT_RESET) == DomainRunState::kReboot);
  CHECK(state(LIBXL_SHUTDOWN_REASON_CRASH) == DomainRunState::kCrashed);
  CHECK(state(LIBXL_SHUTDOWN_REASON_WATCHDOG) == DomainRunState::kCrashed);
  CHECK(state(LIBXL_SHUTDOWN_REASON_SUSPEND) == DomainRunState::kPoweroff);
  CHECK(state(LIBXL_SHUTDOWN_REASON_UNKNOWN) == DomainRunState::kPoweroff);
}

TEST_CASE("to_domain_info copies id, uuid, memory, vcpus and cpu time") {
  auto info = info_with(false, false, LIBXL_SHUTDOWN_REASON_UNKNOWN);
  info.domid = 7;
  info.uuid = *zoned::xen::parse_uuid("00000000-0000-4000-8000-0000000000aa");
  info.current_memkb = 262144;
  info.vcpu_online = 2;
  info.cpu_time = 123456789;
  auto d = zoned::xen::to_domain_info(info, "zoned-x");
  CHECK(d.domid == 7);
  CHECK(d.name == "zoned-x");
  CHECK(d.uuid == "00000000-0000-4000-8000-0000000000aa");
  CHECK(d.state == DomainRunState::kRunning);
  CHECK(d.memory_kib == 262144);
  CHECK(d.vcpus_online == 2);
  CHECK(d.cpu_time_ns == 123456789);
}
