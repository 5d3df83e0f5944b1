#include "zoned/idm/wire_error.h"

#include <string>

#include "zoned/idm/validate.h"

namespace zoned::idm {

v1::Error::Code error_code_to_wire(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return v1::Error::CODE_INVALID_ARGUMENT;
    case ErrorCode::kNotFound: return v1::Error::CODE_NOT_FOUND;
    case ErrorCode::kAlreadyExists: return v1::Error::CODE_ALREADY_EXISTS;
    case ErrorCode::kFailedPrecondition: return v1::Error::CODE_FAILED_PRECONDITION;
    case ErrorCode::kResourceExhausted: return v1::Error::CODE_RESOURCE_EXHAUSTED;
    case ErrorCode::kUnimplemented: return v1::Error::CODE_UNIMPLEMENTED;
    case ErrorCode::kPermissionDenied:
    case ErrorCode::kUnavailable:
    case ErrorCode::kDeadlineExceeded:
    case ErrorCode::kCancelled:
    case ErrorCode::kInternal: break;
  }
  return v1::Error::CODE_INTERNAL;
}

ErrorCode error_code_from_wire(v1::Error::Code code) {
  switch (code) {
    case v1::Error::CODE_INVALID_ARGUMENT: return ErrorCode::kInvalidArgument;
    case v1::Error::CODE_NOT_FOUND: return ErrorCode::kNotFound;
    case v1::Error::CODE_ALREADY_EXISTS: return ErrorCode::kAlreadyExists;
    case v1::Error::CODE_FAILED_PRECONDITION: return ErrorCode::kFailedPrecondition;
    case v1::Error::CODE_RESOURCE_EXHAUSTED: return ErrorCode::kResourceExhausted;
    case v1::Error::CODE_UNIMPLEMENTED: return ErrorCode::kUnimplemented;
    default: return ErrorCode::kInternal;
  }
}

Error error_from_wire(const v1::Error& error, std::string_view who) {
  return Error(error_code_from_wire(error.code()), std::string(who) + ": " + error.message());
}

v1::Error error_to_wire(const Error& error) {
  v1::Error out;
  out.set_code(error_code_to_wire(error.code()));
  std::string message = error.describe();
  if (message.size() > kMaxErrorMessageBytes) message.resize(kMaxErrorMessageBytes);
  for (char& c : message) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte >= 0x7f) c = ' ';  // what validate() accepts: printable ASCII
  }
  out.set_message(std::move(message));
  return out;
}

}  // namespace zoned::idm
