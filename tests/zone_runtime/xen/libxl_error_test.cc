// libxl error codes -> our errors: the step, the code's name and meaning, what libxl logged.
#include "zoned/xen/libxl_error.h"

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "zoned/xen/libxl_headers.h"

using Catch::Matchers::ContainsSubstring;
using zoned::ErrorCode;

TEST_CASE("the message names the step, the code and what libxl logged") {
  auto e = zoned::xen::libxl_error(ERROR_FAIL, "adding disk xvdb", "hotplug script failed");
  CHECK(e.message() == "adding disk xvdb: ERROR_FAIL (failed): hotplug script failed");
  CHECK(e.code() == ErrorCode::kInternal);
}

TEST_CASE("codes map to categories the CRI layer can use") {
  CHECK(zoned::xen::libxl_error(ERROR_NOMEM, "x").code() == ErrorCode::kResourceExhausted);
  CHECK(zoned::xen::libxl_error(ERROR_INVAL, "x").code() == ErrorCode::kInvalidArgument);
  CHECK(zoned::xen::libxl_error(ERROR_DOMAIN_NOTFOUND, "x").code() == ErrorCode::kNotFound);
  CHECK(zoned::xen::libxl_error(ERROR_DEVICE_EXISTS, "x").code() == ErrorCode::kAlreadyExists);
  CHECK(zoned::xen::libxl_error(ERROR_TIMEDOUT, "x").code() == ErrorCode::kDeadlineExceeded);
  CHECK(zoned::xen::libxl_error(ERROR_GUEST_TIMEDOUT, "x").code() == ErrorCode::kDeadlineExceeded);
  CHECK(zoned::xen::libxl_error(ERROR_LOCK_FAIL, "x").code() == ErrorCode::kUnavailable);
  CHECK(zoned::xen::libxl_error(ERROR_NI, "x").code() == ErrorCode::kUnimplemented);
  CHECK(zoned::xen::libxl_error(ERROR_ABORTED, "x").code() == ErrorCode::kCancelled);
}

TEST_CASE("an unknown code is still reported by number") {
  CHECK(zoned::xen::libxl_error_name(-999) == "libxl error -999");
  auto e = zoned::xen::libxl_error(-999, "step");
  CHECK_THAT(e.message(), ContainsSubstring("libxl error -999"));
  CHECK(e.code() == ErrorCode::kInternal);
}

TEST_CASE("nothing logged: no trailing separator") {
  CHECK(zoned::xen::libxl_error(ERROR_INVAL, "step").message() == "step: ERROR_INVAL (invalid argument)");
}
