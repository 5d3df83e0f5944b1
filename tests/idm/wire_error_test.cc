// wire_error: Error <-> the IDM Error message.
#include "zoned/idm/wire_error.h"

#include <catch2/catch_test_macros.hpp>
#include <string>

#include "zoned/idm/validate.h"

namespace zoned::idm {
namespace {

TEST_CASE("error codes survive the wire where the protocol has them", "[idm][wire_error]") {
  for (ErrorCode code :
       {ErrorCode::kInvalidArgument, ErrorCode::kNotFound, ErrorCode::kAlreadyExists, ErrorCode::kFailedPrecondition,
        ErrorCode::kResourceExhausted, ErrorCode::kUnimplemented, ErrorCode::kInternal}) {
    CHECK(error_code_from_wire(error_code_to_wire(code)) == code);
  }
  CHECK(error_code_to_wire(ErrorCode::kPermissionDenied) == v1::Error::CODE_INTERNAL);
  CHECK(error_code_from_wire(v1::Error::CODE_UNSPECIFIED) == ErrorCode::kInternal);
  CHECK(error_code_from_wire(static_cast<v1::Error::Code>(99)) == ErrorCode::kInternal);
}

TEST_CASE("an Error response reads as an Error from its sender", "[idm][wire_error]") {
  v1::Error wire;
  wire.set_code(v1::Error::CODE_ALREADY_EXISTS);
  wire.set_message("container c1 exists");
  const Error error = error_from_wire(wire, "zone agent");
  CHECK(error.code() == ErrorCode::kAlreadyExists);
  CHECK(error.message() == "zone agent: container c1 exists");
}

TEST_CASE("any Error becomes a wire message that validates", "[idm][wire_error]") {
  const Error error(ErrorCode::kNotFound, "line one\nline two \xc3\xa9 " + std::string(10000, 'm'), 2);
  Envelope e;
  e.set_id(1);
  *e.mutable_response()->mutable_error() = error_to_wire(error);
  CHECK(validate(e).ok());
  CHECK(e.response().error().code() == v1::Error::CODE_NOT_FOUND);
  CHECK(e.response().error().message().size() == kMaxErrorMessageBytes);
  CHECK(e.response().error().message().rfind("line one line two    mmm", 0) == 0);
}

}  // namespace
}  // namespace zoned::idm
