#include "zoned/common/fs.h"

#include <sys/stat.h>

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "support/temp_dir.h"

using Catch::Matchers::ContainsSubstring;

TEST_CASE("make_dirs creates nested directories and accepts existing ones") {
  zoned::testing::TempDir tmp;
  std::string deep = tmp.file("a/b/c");
  REQUIRE(zoned::fs::make_dirs(deep, 0700).ok());
  struct stat st {};
  REQUIRE(::stat(deep.c_str(), &st) == 0);
  CHECK(S_ISDIR(st.st_mode));
  CHECK(zoned::fs::make_dirs(deep, 0700).ok());
}

TEST_CASE("make_dirs refuses a path through a regular file") {
  zoned::testing::TempDir tmp;
  tmp.write("f", "");
  auto st = zoned::fs::make_dirs(tmp.file("f/x"), 0700);
  REQUIRE_FALSE(st.ok());
  CHECK_THAT(st.error().describe(), ContainsSubstring("not a directory"));
}

TEST_CASE("check_writable_dir detects a read-only mount or missing dir") {
  CHECK_FALSE(zoned::fs::check_writable_dir("/nonexistent-dir-for-test").ok());
  // /proc is never writable for new files, even for root.
  auto st = zoned::fs::check_writable_dir("/proc");
  REQUIRE_FALSE(st.ok());
  CHECK_THAT(st.error().describe(), ContainsSubstring("not writable"));
  zoned::testing::TempDir tmp;
  CHECK(zoned::fs::check_writable_dir(tmp.path()).ok());
}
