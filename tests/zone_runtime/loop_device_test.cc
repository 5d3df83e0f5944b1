// Loop devices, for real: read-only, autoclear, detached by the destructor, kept by release(),
// and found again by list_attached_loops / detach_loop_if_backing. Needs root and
// /dev/loop-control; skips otherwise.
#include "zoned/zone_runtime/loop_device.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <fstream>
#include <optional>
#include <string>

#include "support/eventually.h"
#include "support/temp_dir.h"
#include "zoned/common/unique_fd.h"

using Catch::Matchers::ContainsSubstring;
using zoned::ErrorCode;
using zoned::UniqueFd;
using zoned::zone_runtime::AttachedLoop;
using zoned::zone_runtime::LoopDevice;

namespace {

bool loops_usable() {
  return ::geteuid() == 0 && ::access("/dev/loop-control", R_OK | W_OK) == 0;
}

#define REQUIRE_LOOPS() \
  if (!loops_usable()) SKIP("needs root and /dev/loop-control")

// A 1 MiB file with a recognisable first block.
std::string image(zoned::testing::TempDir& tmp, const std::string& name = "image.bin") {
  std::string content(1024 * 1024, '\0');
  content.replace(0, 13, "zoned-loop-ok");
  return tmp.write(name, content);
}

std::string sysfs(const std::string& device, const std::string& attribute) {
  std::ifstream in("/sys/block/" + device.substr(device.rfind('/') + 1) + "/" + attribute);
  std::string line;
  std::getline(in, line);
  return line;
}

std::optional<AttachedLoop> listed(const std::string& device) {
  auto all = zoned::zone_runtime::list_attached_loops();
  REQUIRE(all.ok());
  for (const auto& l : *all) {
    if (l.device == device) return l;
  }
  return std::nullopt;
}

// Whether `device` is detached within 5 s. Autoclear and a deferred LOOP_CLR_FD take effect
// when the kernel drops the device's last reference, which on recent kernels can be a moment
// after the last close() returns (CI saw it still attached right after the close).
bool detached(const std::string& device) {
  return zoned::testing::eventually([&] { return !listed(device).has_value(); });
}

}  // namespace

TEST_CASE("attach_read_only: a read-only, autoclear loop device backed by the file") {
  REQUIRE_LOOPS();
  zoned::testing::TempDir tmp;
  std::string file = image(tmp);
  auto loop = LoopDevice::attach_read_only(file);
  INFO((loop.ok() ? std::string() : loop.error().describe()));
  REQUIRE(loop.ok());
  CHECK_THAT(loop->path(), ContainsSubstring("/dev/loop"));
  CHECK(loop->owned());
  CHECK(sysfs(loop->path(), "ro") == "1");
  CHECK(sysfs(loop->path(), "loop/backing_file") == file);
  CHECK(sysfs(loop->path(), "loop/autoclear") == "1");

  UniqueFd fd(::open(loop->path().c_str(), O_RDONLY | O_CLOEXEC));
  REQUIRE(fd.valid());
  char buf[13];
  REQUIRE(::pread(fd.get(), buf, sizeof buf, 0) == static_cast<ssize_t>(sizeof buf));
  CHECK(std::string(buf, sizeof buf) == "zoned-loop-ok");
  uint64_t size = 0;
  REQUIRE(::ioctl(fd.get(), BLKGETSIZE64, &size) == 0);
  CHECK(size == 1024 * 1024);
}

TEST_CASE("writes through the device fail") {
  REQUIRE_LOOPS();
  zoned::testing::TempDir tmp;
  auto loop = LoopDevice::attach_read_only(image(tmp));
  INFO((loop.ok() ? std::string() : loop.error().describe()));
  REQUIRE(loop.ok());
  UniqueFd rw(::open(loop->path().c_str(), O_RDWR | O_CLOEXEC));
  if (rw.valid()) {
    CHECK(::pwrite(rw.get(), "x", 1, 0) < 0);
  } else {
    CHECK(errno == EROFS);
  }
}

TEST_CASE("the destructor detaches") {
  REQUIRE_LOOPS();
  zoned::testing::TempDir tmp;
  std::string file = image(tmp);
  std::string path;
  {
    auto loop = LoopDevice::attach_read_only(file);
    INFO((loop.ok() ? std::string() : loop.error().describe()));
    REQUIRE(loop.ok());
    path = loop->path();
    REQUIRE(listed(path).has_value());
  }
  CHECK(detached(path));
}

TEST_CASE("release keeps the device attached while it has another user; autoclear frees it after") {
  REQUIRE_LOOPS();
  zoned::testing::TempDir tmp;
  std::string file = image(tmp);
  auto loop = LoopDevice::attach_read_only(file);
  INFO((loop.ok() ? std::string() : loop.error().describe()));
  REQUIRE(loop.ok());
  const std::string path = loop->path();
  UniqueFd user(::open(path.c_str(), O_RDONLY | O_CLOEXEC));  // stands in for blkback
  REQUIRE(user.valid());
  loop->release();
  CHECK_FALSE(loop->owned());
  auto attached = listed(path);
  REQUIRE(attached.has_value());
  CHECK(attached->backing_file == file);
  CHECK(attached->read_only);
  CHECK(attached->autoclear);
  user.reset();  // the last user goes: the kernel detaches
  CHECK(detached(path));
}

TEST_CASE("release with no other user: autoclear frees the device at once") {
  REQUIRE_LOOPS();
  zoned::testing::TempDir tmp;
  auto loop = LoopDevice::attach_read_only(image(tmp));
  INFO((loop.ok() ? std::string() : loop.error().describe()));
  REQUIRE(loop.ok());
  const std::string path = loop->path();
  loop->release();
  CHECK(detached(path));
}

TEST_CASE("detach while another user holds it is deferred until that user closes") {
  REQUIRE_LOOPS();
  zoned::testing::TempDir tmp;
  auto loop = LoopDevice::attach_read_only(image(tmp));
  INFO((loop.ok() ? std::string() : loop.error().describe()));
  REQUIRE(loop.ok());
  const std::string path = loop->path();
  UniqueFd user(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  REQUIRE(user.valid());
  CHECK(loop->detach().ok());
  CHECK_FALSE(loop->owned());
  char c;
  CHECK(::pread(user.get(), &c, 1, 0) == 1);  // still readable by its user
  user.reset();
  CHECK(detached(path));
}

TEST_CASE("two attachments of one file get two devices") {
  REQUIRE_LOOPS();
  zoned::testing::TempDir tmp;
  std::string file = image(tmp);
  auto a = LoopDevice::attach_read_only(file);
  auto b = LoopDevice::attach_read_only(file);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->path() != b->path());
}

TEST_CASE("moving a LoopDevice moves ownership") {
  REQUIRE_LOOPS();
  zoned::testing::TempDir tmp;
  auto loop = LoopDevice::attach_read_only(image(tmp));
  INFO((loop.ok() ? std::string() : loop.error().describe()));
  REQUIRE(loop.ok());
  const std::string path = loop->path();
  LoopDevice moved = std::move(*loop);
  CHECK(moved.path() == path);
  CHECK(moved.owned());
  CHECK(listed(path).has_value());
  auto other = LoopDevice::attach_read_only(image(tmp, "other.bin"));
  REQUIRE(other.ok());
  const std::string other_path = other->path();
  moved = std::move(*other);  // the first device is detached by the assignment
  CHECK(detached(path));
  CHECK(listed(other_path).has_value());
}

TEST_CASE("attach errors: missing file, directory") {
  REQUIRE_LOOPS();
  zoned::testing::TempDir tmp;
  auto missing = LoopDevice::attach_read_only(tmp.file("nope"));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code() == ErrorCode::kNotFound);
  CHECK_THAT(missing.error().message(), ContainsSubstring(tmp.file("nope")));
  auto dir = LoopDevice::attach_read_only(tmp.path());
  REQUIRE_FALSE(dir.ok());
  CHECK(dir.error().code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("detach_loop_if_backing detaches only the device backed by that file") {
  REQUIRE_LOOPS();
  zoned::testing::TempDir tmp;
  std::string file = image(tmp);
  std::string other = image(tmp, "other.bin");
  auto loop = LoopDevice::attach_read_only(file);
  INFO((loop.ok() ? std::string() : loop.error().describe()));
  REQUIRE(loop.ok());
  const std::string path = loop->path();
  UniqueFd user(::open(path.c_str(), O_RDONLY | O_CLOEXEC));  // keeps it attached after release
  REQUIRE(user.valid());
  loop->release();

  auto wrong = zoned::zone_runtime::detach_loop_if_backing(path, other);
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error().code() == ErrorCode::kFailedPrecondition);
  CHECK(listed(path).has_value());

  CHECK(zoned::zone_runtime::detach_loop_if_backing(path, file).ok());
  user.reset();
  CHECK(detached(path));
  // Not attached any more: nothing to do, no error.
  CHECK(zoned::zone_runtime::detach_loop_if_backing(path, file).ok());
}

TEST_CASE("detach_loop_if_backing recognises a backing file that was deleted") {
  REQUIRE_LOOPS();
  zoned::testing::TempDir tmp;
  std::string file = image(tmp);
  auto loop = LoopDevice::attach_read_only(file);
  INFO((loop.ok() ? std::string() : loop.error().describe()));
  REQUIRE(loop.ok());
  const std::string path = loop->path();
  REQUIRE(::unlink(file.c_str()) == 0);
  auto attached = listed(path);
  REQUIRE(attached.has_value());
  CHECK(attached->backing_file == file + " (deleted)");
  CHECK(zoned::zone_runtime::detach_loop_if_backing(path, file).ok());
  loop->release();
  CHECK(detached(path));
}

TEST_CASE("list_attached_loops reads a sysfs tree (parsing, without real devices)") {
  zoned::testing::TempDir tmp;
  auto dir = [&](const std::string& p) { REQUIRE(::mkdir(tmp.file(p).c_str(), 0755) == 0); };
  dir("loop0");
  dir("loop0/loop");
  tmp.write("loop0/loop/backing_file", "/images/a.erofs\n");
  tmp.write("loop0/loop/autoclear", "1\n");
  tmp.write("loop0/ro", "1\n");
  dir("loop1");  // free: no loop/backing_file
  tmp.write("loop1/ro", "0\n");
  dir("loop12");
  dir("loop12/loop");
  tmp.write("loop12/loop/backing_file", "/images/b.erofs (deleted)\n");
  tmp.write("loop12/loop/autoclear", "0\n");
  tmp.write("loop12/ro", "0\n");
  dir("loopy");  // not a loop device name
  dir("sda");
  auto all = zoned::zone_runtime::list_attached_loops(tmp.path());
  REQUIRE(all.ok());
  REQUIRE(all->size() == 2);
  CHECK((*all)[0].device == "/dev/loop0");
  CHECK((*all)[0].backing_file == "/images/a.erofs");
  CHECK((*all)[0].read_only);
  CHECK((*all)[0].autoclear);
  CHECK((*all)[1].device == "/dev/loop12");
  CHECK((*all)[1].backing_file == "/images/b.erofs (deleted)");
  CHECK_FALSE((*all)[1].read_only);
  CHECK_FALSE((*all)[1].autoclear);
}
