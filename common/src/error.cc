#include "zoned/common/error.h"

#include <cerrno>
#include <cstring>
#include <utility>

namespace zoned {

std::string_view error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid argument";
    case ErrorCode::kNotFound: return "not found";
    case ErrorCode::kAlreadyExists: return "already exists";
    case ErrorCode::kFailedPrecondition: return "failed precondition";
    case ErrorCode::kPermissionDenied: return "permission denied";
    case ErrorCode::kResourceExhausted: return "resource exhausted";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kDeadlineExceeded: return "deadline exceeded";
    case ErrorCode::kUnimplemented: return "unimplemented";
    case ErrorCode::kCancelled: return "cancelled";
    case ErrorCode::kInternal: return "internal";
  }
  return "unknown";
}

Error::Error(ErrorCode code, std::string message, int sys_errno)
    : code_(code), errno_(sys_errno), message_(std::move(message)) {}

Error Error::wrap(std::string_view context) const& {
  Error copy = *this;
  return std::move(copy).wrap(context);
}

Error Error::wrap(std::string_view context) && {
  message_.insert(0, ": ");
  message_.insert(0, context);
  return std::move(*this);
}

std::string Error::describe() const {
  if (errno_ == 0) return message_;
  return message_ + ": " + std::strerror(errno_);
}

namespace {

ErrorCode code_for_errno(int e) {
  switch (e) {
    case ENOENT:
    case ENOTDIR:
    case ESRCH: return ErrorCode::kNotFound;
    case EEXIST:
    case ENOTEMPTY: return ErrorCode::kAlreadyExists;
    case EACCES:
    case EPERM:
    case EROFS: return ErrorCode::kPermissionDenied;
    case ENOSPC:
    case EDQUOT:
    case ENOMEM:
    case EMFILE:
    case ENFILE: return ErrorCode::kResourceExhausted;
    case EINVAL:
    case ENAMETOOLONG:
    case ELOOP: return ErrorCode::kInvalidArgument;
    case ETIMEDOUT: return ErrorCode::kDeadlineExceeded;
    case ECONNREFUSED:
    case EAGAIN:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case ECONNRESET: return ErrorCode::kUnavailable;
    case ENOSYS:
    case EOPNOTSUPP: return ErrorCode::kUnimplemented;
    case ECANCELED:
    case EINTR: return ErrorCode::kCancelled;
    default: return ErrorCode::kInternal;
  }
}

}  // namespace

Error sys_error(std::string message, int sys_errno) {
  return Error(code_for_errno(sys_errno), std::move(message), sys_errno);
}

Error sys_error(std::string message) {
  return sys_error(std::move(message), errno);
}

}  // namespace zoned
