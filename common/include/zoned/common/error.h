// Error values carried by Result<T>: a code, the errno where there was one, and a message
// that grows context at each level ("pulling x: layer y: digest mismatch").
#pragma once

#include <string>
#include <string_view>

namespace zoned {

// Categories, chosen so that the CRI layer can map each one to a gRPC status in one place.
enum class ErrorCode {
  kInvalidArgument,     // the caller sent something malformed
  kNotFound,            // the named object does not exist
  kAlreadyExists,       // creating something that is already there
  kFailedPrecondition,  // the system is not in a state where this can work
  kPermissionDenied,    // the OS or a remote refused us
  kResourceExhausted,   // disk, memory, limits
  kUnavailable,         // a dependency (Xen, a registry) cannot be reached; may be retried
  kDeadlineExceeded,    // ran out of time
  kUnimplemented,       // not supported by this runtime
  kCancelled,           // the caller or a shutdown cancelled the operation
  kInternal,            // a bug or an unexpected OS failure
};

std::string_view error_code_name(ErrorCode code);

class Error {
 public:
  Error(ErrorCode code, std::string message, int sys_errno = 0);

  ErrorCode code() const { return code_; }
  int sys_errno() const { return errno_; }
  const std::string& message() const { return message_; }

  // Prefixes context: Error(..., "digest mismatch").wrap("layer sha256:ab") gives
  // "layer sha256:ab: digest mismatch". Code and errno are kept.
  Error wrap(std::string_view context) const&;
  Error wrap(std::string_view context) &&;

  // The message, with strerror(errno) appended when there is an errno.
  std::string describe() const;

 private:
  ErrorCode code_;
  int errno_;
  std::string message_;
};

// An Error built from the current errno (or the one given), with the OS's code mapped to ours.
Error sys_error(std::string message, int sys_errno);
Error sys_error(std::string message);

}  // namespace zoned
