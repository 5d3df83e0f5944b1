#include "zoned/common/result.h"

#include <catch2/catch_test_macros.hpp>
#include <cerrno>
#include <string>

using zoned::Error;
using zoned::ErrorCode;
using zoned::Result;

namespace {
Result<int> parse_positive(int v) {
  if (v <= 0) return Error(ErrorCode::kInvalidArgument, "not positive");
  return v;
}
zoned::Status twice(int v) {
  ZONED_TRY(parse_positive(v));
  ZONED_TRY(parse_positive(v - 1));
  return zoned::ok_status();
}
}  // namespace

TEST_CASE("Result holds a value or an error") {
  auto good = parse_positive(3);
  REQUIRE(good.ok());
  CHECK(*good == 3);
  auto bad = parse_positive(0);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("ZONED_TRY propagates the first error") {
  CHECK(twice(5).ok());
  auto st = twice(1);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().message() == "not positive");
}

TEST_CASE("wrap adds context outermost first and keeps code and errno") {
  Error e = zoned::sys_error("open /x", ENOENT).wrap("layer sha256:ab").wrap("pulling busybox");
  CHECK(e.code() == ErrorCode::kNotFound);
  CHECK(e.sys_errno() == ENOENT);
  CHECK(e.message() == "pulling busybox: layer sha256:ab: open /x");
  CHECK(e.describe() == "pulling busybox: layer sha256:ab: open /x: No such file or directory");
}

TEST_CASE("errno values map to sensible codes") {
  CHECK(zoned::sys_error("x", EACCES).code() == ErrorCode::kPermissionDenied);
  CHECK(zoned::sys_error("x", ENOSPC).code() == ErrorCode::kResourceExhausted);
  CHECK(zoned::sys_error("x", EEXIST).code() == ErrorCode::kAlreadyExists);
  CHECK(zoned::sys_error("x", EIO).code() == ErrorCode::kInternal);
}
