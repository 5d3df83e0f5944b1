#include "layer_applier.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>

#include "apply_layers.h"
#include "fs_inspect.h"
#include "layer_builder.h"
#include "support/temp_dir.h"

namespace zoned::image_store {
namespace {

using namespace zoned::testing;

// A valid VFS_CAP_REVISION_2 capability: cap_net_bind_service, effective.
std::string net_bind_capability() {
  std::string cap(20, '\0');
  cap[0] = 0x01;  // magic_etc = 0x02000001, little-endian
  cap[3] = 0x02;
  cap[5] = 0x04;  // permitted[0] = 1 << 10
  return cap;
}

bool root_user() {
  return ::geteuid() == 0;
}

TEST_CASE("a layer's files, directories, modes, ownership, mtimes and xattrs are applied") {
  auto compression = GENERATE(Compression::kNone, Compression::kGzip, Compression::kZstd);
  TempDir dir;
  TarItem hostname = file("etc/hostname", "zone\n");
  hostname.uid = 1000;
  hostname.gid = 1001;
  TarItem su = file("bin/su", "#!/bin/true\n", 04755);
  TarItem ping = file("bin/ping", "ping", 0755);
  ping.xattrs = {{"security.capability", net_bind_capability()},
                 {"user.note", "hi"},
                 {"trusted.t", "1"},
                 {"security.selinux", "system_u:object_r:bin_t:s0"}};
  TarItem etc = directory("etc");
  etc.mtime = 1'600'000'000;
  REQUIRE(apply_layers(dir.path(), {make_layer({etc, hostname, directory("bin"), su, file("bin/sg", "", 02711), ping,
                                                directory("tmp", 01777)},
                                               compression)})
              .ok());
  CHECK(read_text(dir.file("etc/hostname")) == "zone\n");
  auto st = lstat_of(dir.file("etc/hostname"));
  CHECK((st->st_mode & 07777) == 0644);
  CHECK(st->st_mtime == 1'700'000'000);
  if (root_user()) {
    CHECK(st->st_uid == 1000);
    CHECK(st->st_gid == 1001);
  }
  CHECK((lstat_of(dir.file("bin/su"))->st_mode & 07777) == 04755);
  CHECK((lstat_of(dir.file("bin/sg"))->st_mode & 07777) == 02711);
  CHECK((lstat_of(dir.file("tmp"))->st_mode & 07777) == 01777);
  // The directory's mtime survives the file written into it afterwards.
  CHECK(lstat_of(dir.file("etc"))->st_mtime == 1'600'000'000);
  CHECK(xattr_of(dir.file("bin/ping"), "user.note") == "hi");
  CHECK_FALSE(xattr_of(dir.file("bin/ping"), "security.selinux").has_value());
  if (root_user()) {
    CHECK(xattr_of(dir.file("bin/ping"), "security.capability") == net_bind_capability());
    CHECK(xattr_of(dir.file("bin/ping"), "trusted.t") == "1");
  }
}

TEST_CASE("missing parent directories are created") {
  TempDir dir;
  REQUIRE(apply_layers(dir.path(), {make_layer({file("a/b/c", "deep")})}).ok());
  CHECK(read_text(dir.file("a/b/c")) == "deep");
  CHECK((lstat_of(dir.file("a/b"))->st_mode & 07777) == 0755);
}

TEST_CASE("the root entry sets the root directory's mode") {
  TempDir dir;
  REQUIRE(apply_layers(dir.path(), {make_layer({directory("./", 0751), file("./f", "x")})}).ok());
  CHECK((lstat_of(dir.path())->st_mode & 07777) == 0751);
  CHECK(exists(dir.file("f")));
}

TEST_CASE("whiteouts delete lower files and directories and never appear") {
  TempDir dir;
  auto lower = make_layer({file("a/keep", "1"), file("a/gone", "2"), file("b/dir/x", "3"), file("c", "4")});
  auto upper =
      make_layer({whiteout("a/gone"), whiteout("b/dir"), whiteout("nothing/here"), whiteout("c")}, Compression::kZstd);
  REQUIRE(apply_layers(dir.path(), {lower, upper}).ok());
  CHECK(names_in(dir.file("a")) == std::set<std::string>{"keep"});
  CHECK(names_in(dir.file("b")).empty());
  CHECK(names_in(dir.path()) == std::set<std::string>{"a", "b"});
}

TEST_CASE("a whiteout does not hide a file of its own layer") {
  TempDir dir;
  auto lower = make_layer({file("a/x", "old")});
  auto upper = make_layer({file("a/x", "new"), whiteout("a/x")});
  REQUIRE(apply_layers(dir.path(), {lower, upper}).ok());
  CHECK(read_text(dir.file("a/x")) == "new");
}

TEST_CASE("an opaque directory hides lower contents but keeps its own layer's") {
  TempDir dir;
  auto lower = make_layer({file("d/old", "1"), file("d/sub/old", "2"), file("d/sub2/old", "3"), file("e", "4")});
  auto upper = make_layer({file("d/before", "b"), file("d/sub/mine", "m"), opaque("d"), file("d/after", "a")});
  REQUIRE(apply_layers(dir.path(), {lower, upper}).ok());
  CHECK(names_in(dir.file("d")) == std::set<std::string>{"before", "sub", "after"});
  CHECK(names_in(dir.file("d/sub")) == std::set<std::string>{"mine"});
  CHECK(exists(dir.file("e")));
}

TEST_CASE("hard links share the inode, within and across layers") {
  TempDir dir;
  auto lower = make_layer({file("bin/busybox", "bb", 0755), hardlink("bin/sh", "bin/busybox")});
  auto upper = make_layer({hardlink("usr/bin/ls", "bin/busybox")}, Compression::kNone);
  REQUIRE(apply_layers(dir.path(), {lower, upper}).ok());
  auto bb = lstat_of(dir.file("bin/busybox"));
  CHECK(lstat_of(dir.file("bin/sh"))->st_ino == bb->st_ino);
  CHECK(lstat_of(dir.file("usr/bin/ls"))->st_ino == bb->st_ino);
  CHECK(bb->st_nlink == 3);
}

TEST_CASE("symlinks are kept verbatim") {
  TempDir dir;
  REQUIRE(apply_layers(dir.path(), {make_layer({symlink("abs", "/etc/passwd"), symlink("rel", "../../x"),
                                                symlink("lib", "usr/lib")})})
              .ok());
  CHECK(link_target(dir.file("abs")) == "/etc/passwd");
  CHECK(link_target(dir.file("rel")) == "../../x");
  CHECK(S_ISLNK(lstat_of(dir.file("lib"))->st_mode));
}

TEST_CASE("files, directories and symlinks replace each other across layers") {
  TempDir dir;
  auto lower = make_layer({file("x", "file"), file("y/inner", "in"), symlink("s", "/etc"), file("t", "t")});
  auto upper = make_layer({directory("x"), file("x/f", "now a dir"), file("y", "now a file"), directory("s"),
                           file("s/f", "f"), symlink("t", "x")});
  REQUIRE(apply_layers(dir.path(), {lower, upper}).ok());
  CHECK(read_text(dir.file("x/f")) == "now a dir");
  CHECK(read_text(dir.file("y")) == "now a file");
  CHECK(S_ISDIR(lstat_of(dir.file("s"))->st_mode));
  CHECK(read_text(dir.file("s/f")) == "f");
  CHECK(link_target(dir.file("t")) == "x");
}

TEST_CASE("FIFOs are created; device nodes are skipped; char 0:0 is a whiteout") {
  TempDir dir;
  auto lower = make_layer({file("gone", "x"), fifo("run/p")});
  auto upper =
      make_layer({device("dev/null", S_IFCHR, 1, 3), device("dev/sda", S_IFBLK, 8, 0), device("gone", S_IFCHR, 0, 0)});
  REQUIRE(apply_layers(dir.path(), {lower, upper}).ok());
  CHECK(S_ISFIFO(lstat_of(dir.file("run/p"))->st_mode));
  CHECK_FALSE(exists(dir.file("dev/null")));
  CHECK_FALSE(exists(dir.file("dev/sda")));
  CHECK_FALSE(exists(dir.file("gone")));
}

TEST_CASE("non-ASCII names are written as UTF-8") {
  TempDir dir;
  REQUIRE(apply_layers(dir.path(), {make_layer({file("caf\xc3\xa9/\xe2\x9c\x93", "ok")})}).ok());
  CHECK(read_text(dir.file("caf\xc3\xa9/\xe2\x9c\x93")) == "ok");
}

TEST_CASE("the diff_id covers the whole uncompressed stream and must match") {
  TempDir dir;
  std::string tar = make_tar({file("f", "data")}) + std::string(4096, '\0');  // padding after the end
  Layer layer = layer_from_tar(tar, Compression::kGzip);
  CHECK(apply_layers(dir.path(), {layer}).ok());

  Layer wrong = layer;
  wrong.diff_id = oci::sha256_of("something else");
  auto status = apply_layers(dir.path(), {wrong});
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().message() == "uncompressed layer does not match the config's diff_id: expected " +
                                        wrong.diff_id.str() + ", got " + layer.diff_id.str());
}

TEST_CASE("a blob that is not a tar is an error") {
  TempDir dir;
  Layer layer = layer_from_tar(std::string(2000, 'z'), Compression::kGzip);
  auto status = apply_layers(dir.path(), {layer});
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().code() == ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace zoned::image_store
