// The xenstore client without xenstored: path checks, and Unavailable (never a hang) when
// xenstored's socket is missing.
#include "zoned/xen/xenstore_client.h"

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "support/temp_dir.h"

using Catch::Matchers::ContainsSubstring;
using zoned::ErrorCode;

TEST_CASE("xenstore paths must be absolute, bounded and NUL-free") {
  CHECK(zoned::xen::validate_xenstore_path("/local/domain/3/data").ok());
  CHECK_FALSE(zoned::xen::validate_xenstore_path("").ok());
  CHECK_FALSE(zoned::xen::validate_xenstore_path("local/domain").ok());
  CHECK_FALSE(zoned::xen::validate_xenstore_path("@releaseDomain").ok());
  CHECK_FALSE(zoned::xen::validate_xenstore_path(std::string("/a\0b", 4)).ok());
  CHECK(zoned::xen::validate_xenstore_path("/" + std::string(zoned::xen::kMaxXenstorePathLength - 1, 'a')).ok());
  CHECK_FALSE(zoned::xen::validate_xenstore_path("/" + std::string(zoned::xen::kMaxXenstorePathLength, 'a')).ok());
}

TEST_CASE("no xenstored: reads and writes fail with Unavailable naming the socket") {
  zoned::testing::TempDir tmp;
  zoned::xen::XenstoreClient xs(tmp.file("socket"));
  auto r = xs.read("/local/domain/0/name");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code() == ErrorCode::kUnavailable);
  CHECK_THAT(r.error().message(), ContainsSubstring(tmp.file("socket")));
  auto w = xs.write("/local/domain/0/x", "1");
  REQUIRE_FALSE(w.ok());
  CHECK(w.error().code() == ErrorCode::kUnavailable);
}

TEST_CASE("bad arguments are refused before any connection") {
  zoned::testing::TempDir tmp;
  zoned::xen::XenstoreClient xs(tmp.file("socket"));
  auto r = xs.read("relative");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code() == ErrorCode::kInvalidArgument);
  auto w = xs.write("/local/domain/1/x", std::string(zoned::xen::kMaxXenstoreValueLength + 1, 'v'));
  REQUIRE_FALSE(w.ok());
  CHECK(w.error().code() == ErrorCode::kInvalidArgument);
}
