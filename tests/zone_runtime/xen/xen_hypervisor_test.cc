// The real XenHypervisor without Xen: the probe, pointed at files the test controls (each
// missing piece of a Xen dom0 has its own reason), and every operation's argument checks and
// failure when Xen cannot be reached. The operations themselves are proven in the devbox.
#include "zoned/xen/xen_hypervisor.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <atomic>
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <cstring>

#include "support/temp_dir.h"
#include "zoned/common/unique_fd.h"

using Catch::Matchers::ContainsSubstring;
using zoned::ErrorCode;
using zoned::zone_runtime::DomainSpec;
using zoned::zone_runtime::XenHypervisor;
using zoned::zone_runtime::XenPaths;

namespace {

// A XenHypervisor whose Xen paths all point into an empty directory: no Xen at all.
struct NoXen {
  zoned::testing::TempDir tmp;
  XenHypervisor xen{XenPaths{tmp.file("privcmd"), tmp.file("caps"), tmp.file("xs.sock"), {}, {}}};
};

DomainSpec valid_spec() {
  DomainSpec spec;
  spec.name = "zoned-test";
  spec.uuid = "00000000-0000-4000-8000-000000000001";
  spec.kernel = "/usr/share/zoned/vmlinux";
  return spec;
}

}  // namespace

TEST_CASE("no privcmd device: XenUnavailable naming the device") {
  zoned::testing::TempDir tmp;
  XenHypervisor xen(XenPaths{tmp.file("privcmd"), tmp.file("caps"), tmp.file("xs.sock"), {}, {}});
  auto s = xen.probe();
  CHECK_FALSE(s.ready);
  CHECK(s.reason == "XenUnavailable");
  CHECK_THAT(s.message, ContainsSubstring(tmp.file("privcmd")) && ContainsSubstring("dom0"));
}

TEST_CASE("not the control domain: XenNotControlDomain") {
  zoned::testing::TempDir tmp;
  std::string privcmd = tmp.write("privcmd", "");
  std::string caps = tmp.write("caps", "\n");
  XenHypervisor xen(XenPaths{privcmd, caps, tmp.file("xs.sock"), {}, {}});
  auto s = xen.probe();
  CHECK_FALSE(s.ready);
  CHECK(s.reason == "XenNotControlDomain");
}

TEST_CASE("no xenstored: XenstoreUnavailable, without blocking") {
  zoned::testing::TempDir tmp;
  std::string privcmd = tmp.write("privcmd", "");
  std::string caps = tmp.write("caps", "control_d\n");
  XenHypervisor xen(XenPaths{privcmd, caps, tmp.file("xs.sock"), {}, {}});
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

TEST_CASE("create_domain checks the spec before anything else") {
  NoXen no;
  DomainSpec spec = valid_spec();
  spec.uuid = "nope";
  auto r = no.xen.create_domain(spec);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code() == ErrorCode::kInvalidArgument);
  CHECK_THAT(r.error().message(), ContainsSubstring("creating domain zoned-test") && ContainsSubstring("uuid"));
}

TEST_CASE("without Xen, domain operations fail with Unavailable and say why") {
  NoXen no;
  auto created = no.xen.create_domain(valid_spec());
  REQUIRE_FALSE(created.ok());
  CHECK(created.error().code() == ErrorCode::kUnavailable);
  CHECK_THAT(created.error().message(), ContainsSubstring("privcmd"));
  auto listed = no.xen.list_domains();
  REQUIRE_FALSE(listed.ok());
  CHECK(listed.error().code() == ErrorCode::kUnavailable);
  auto destroyed = no.xen.destroy_domain(5);
  REQUIRE_FALSE(destroyed.ok());
  CHECK(destroyed.error().code() == ErrorCode::kUnavailable);
  auto added = no.xen.add_disk(5, {"/dev/loop0", "xvdb", true});
  REQUIRE_FALSE(added.ok());
  CHECK(added.error().code() == ErrorCode::kUnavailable);
  auto removed = no.xen.remove_disk(5, "xvdb");
  REQUIRE_FALSE(removed.ok());
  CHECK(removed.error().code() == ErrorCode::kUnavailable);
}

TEST_CASE("dom0 and reserved domain ids are refused") {
  NoXen no;
  for (uint32_t domid : {0u, 0x7FF0u, 0x7FF4u, 0xFFFFFFFFu}) {
    auto s = no.xen.destroy_domain(domid);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().code() == ErrorCode::kInvalidArgument);
  }
  auto s = no.xen.add_disk(0, {"/dev/loop0", "xvdb", true});
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("disk arguments are checked before the toolstack is asked") {
  NoXen no;
  auto added = no.xen.add_disk(3, {"relative/loop0", "xvdb", true});
  REQUIRE_FALSE(added.ok());
  CHECK(added.error().code() == ErrorCode::kInvalidArgument);
  auto removed = no.xen.remove_disk(3, "hda");
  REQUIRE_FALSE(removed.ok());
  CHECK(removed.error().code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("without xenstored: xenstore and console fail with Unavailable") {
  NoXen no;
  auto read = no.xen.xenstore_read("/local/domain/0/name");
  REQUIRE_FALSE(read.ok());
  CHECK(read.error().code() == ErrorCode::kUnavailable);
  auto written = no.xen.xenstore_write("/local/domain/3/x", "1");
  REQUIRE_FALSE(written.ok());
  CHECK(written.error().code() == ErrorCode::kUnavailable);
  auto console = no.xen.console_path(3);
  REQUIRE_FALSE(console.ok());
  CHECK(console.error().code() == ErrorCode::kUnavailable);
}

TEST_CASE("a channel must live in the domain's own xenstore directory") {
  NoXen no;
  for (const char* path : {"/local/domain/4/data/vchan", "/local/domain/3", "/local/domain/3/", "data/vchan",
                           "/local/domain/0/data/vchan", "/local/domain/33/data/vchan"}) {
    INFO(path);
    auto channel = no.xen.connect_channel(3, path);
    REQUIRE_FALSE(channel.ok());
    CHECK(channel.error().code() == ErrorCode::kInvalidArgument);
  }
  auto dom0 = no.xen.connect_channel(0, "/local/domain/0/data/vchan");
  REQUIRE_FALSE(dom0.ok());
  CHECK(dom0.error().code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("a domain-change callback without xenstored is never called and stops with the hypervisor") {
  std::atomic<int> calls{0};
  {
    NoXen no;
    no.xen.set_domain_change_callback([&] { ++calls; });
    no.xen.set_domain_change_callback([&] { ++calls; });  // replacing stops the first watch
  }
  CHECK(calls == 0);
}
