// The real XenHypervisor probe, pointed at files the test controls. Each missing piece of a Xen
// dom0 must be reported with its own reason.
#include "zoned/zone_runtime/xen_hypervisor.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <cstring>

#include "support/temp_dir.h"
#include "zoned/common/unique_fd.h"

using Catch::Matchers::ContainsSubstring;
using zoned::zone_runtime::XenHypervisor;
using zoned::zone_runtime::XenPaths;

TEST_CASE("no privcmd device: XenUnavailable naming the device") {
  zoned::testing::TempDir tmp;
  XenHypervisor xen(XenPaths{tmp.file("privcmd"), tmp.file("caps"), tmp.file("xs.sock")});
  auto s = xen.probe();
  CHECK_FALSE(s.ready);
  CHECK(s.reason == "XenUnavailable");
  CHECK_THAT(s.message, ContainsSubstring(tmp.file("privcmd")) && ContainsSubstring("dom0"));
}

TEST_CASE("not the control domain: XenNotControlDomain") {
  zoned::testing::TempDir tmp;
  std::string privcmd = tmp.write("privcmd", "");
  std::string caps = tmp.write("caps", "\n");
  XenHypervisor xen(XenPaths{privcmd, caps, tmp.file("xs.sock")});
  auto s = xen.probe();
  CHECK_FALSE(s.ready);
  CHECK(s.reason == "XenNotControlDomain");
}

TEST_CASE("no xenstored: XenstoreUnavailable, without blocking") {
  zoned::testing::TempDir tmp;
  std::string privcmd = tmp.write("privcmd", "");
  std::string caps = tmp.write("caps", "control_d\n");
  XenHypervisor xen(XenPaths{privcmd, caps, tmp.file("xs.sock")});
  auto s = xen.probe();
  CHECK_FALSE(s.ready);
  CHECK(s.reason == "XenstoreUnavailable");
  CHECK_THAT(s.message, ContainsSubstring("xenstored"));
}

TEST_CASE("the default probe on a host without Xen is not ready and says why") {
  XenHypervisor xen;
  auto s = xen.probe();
  if (::access("/dev/xen/privcmd", F_OK) == 0) {
    SKIP("this machine has /dev/xen/privcmd; the no-Xen case cannot be observed here");
  }
  CHECK_FALSE(s.ready);
  CHECK(s.reason == "XenUnavailable");
  CHECK_THAT(s.message, ContainsSubstring("/dev/xen/privcmd"));
}
