#include "erofs_builder.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>

#include "apply_layers.h"
#include "erofs_inspect.h"
#include "fs_inspect.h"
#include "layer_builder.h"
#include "support/temp_dir.h"

namespace zoned::image_store {
namespace {

using namespace zoned::testing;

TEST_CASE("mkfs.erofs builds an image that keeps contents, owners, modes, mtimes and xattrs") {
  TempDir dir;
  std::string tree = dir.file("tree");
  REQUIRE(::mkdir(tree.c_str(), 0755) == 0);
  TarItem su = file("bin/su", "su binary", 04755);
  su.uid = 1000;
  su.gid = 1001;
  su.mtime = 1'600'000'000;
  TarItem noted = file("etc/noted", "n");
  noted.xattrs = {{"user.note", "hello"}};
  REQUIRE(apply_layers(tree, {make_layer({su, directory("tmp", 01777), symlink("lib", "usr/lib"), noted,
                                          file("etc/plain", "p"), hardlink("bin/su2", "bin/su")})})
              .ok());
  std::string image = dir.file("root.erofs");
  REQUIRE(build_erofs({}, tree, image).ok());
  CHECK(erofs_fsck(image));

  std::string extracted = dir.file("extracted");
  REQUIRE(erofs_extract(image, extracted));
  CHECK(read_text(extracted + "/bin/su") == "su binary");
  CHECK(link_target(extracted + "/lib") == "usr/lib");
  auto st = lstat_of(extracted + "/bin/su");
  CHECK(st->st_mtime == 1'600'000'000);
  if (::geteuid() == 0) {
    CHECK(st->st_uid == 1000);
    CHECK(st->st_gid == 1001);
  }
  CHECK(erofs_raw_mode(image, "/bin/su") == (S_IFREG | 04755));
  CHECK(erofs_raw_mode(image, "/tmp") == (S_IFDIR | 01777));
  auto su_dump = erofs_dump(image, "/bin/su");
  REQUIRE(su_dump);
  CHECK(dump_field(*su_dump, "Links") == "2");
  auto noted_dump = erofs_dump(image, "/etc/noted");
  auto plain_dump = erofs_dump(image, "/etc/plain");
  REQUIRE((noted_dump && plain_dump));
  CHECK(dump_field(*noted_dump, "Xattr size") != "0");
  CHECK(dump_field(*plain_dump, "Xattr size") == "0");
}

TEST_CASE("mkfs.erofs failures are errors with its output") {
  TempDir dir;
  auto status = build_erofs({}, dir.file("missing-dir"), dir.file("out.erofs"));
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().message().starts_with("building EROFS image: mkfs.erofs exited with status"));
}

TEST_CASE("a missing mkfs.erofs is reported") {
  TempDir dir;
  ErofsOptions options;
  options.mkfs_erofs = "/nonexistent/mkfs.erofs";
  auto status = build_erofs(options, dir.path(), dir.file("out.erofs"));
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().code() == ErrorCode::kNotFound);
}

}  // namespace
}  // namespace zoned::image_store
