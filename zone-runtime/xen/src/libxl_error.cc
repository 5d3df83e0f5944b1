#include "zoned/xen/libxl_error.h"

#include <string>

#include "zoned/xen/libxl_headers.h"

namespace zoned::xen {
namespace {

struct CodeInfo {
  const char* name;
  const char* meaning;
  ErrorCode code;
};

CodeInfo describe(int rc) {
  switch (rc) {
    case ERROR_NONSPECIFIC: return {"ERROR_NONSPECIFIC", "unspecified failure", ErrorCode::kInternal};
    case ERROR_VERSION: return {"ERROR_VERSION", "libxl version mismatch", ErrorCode::kFailedPrecondition};
    case ERROR_FAIL: return {"ERROR_FAIL", "failed", ErrorCode::kInternal};
    case ERROR_NI: return {"ERROR_NI", "not implemented by this libxl", ErrorCode::kUnimplemented};
    case ERROR_NOMEM: return {"ERROR_NOMEM", "out of memory", ErrorCode::kResourceExhausted};
    case ERROR_INVAL: return {"ERROR_INVAL", "invalid argument", ErrorCode::kInvalidArgument};
    case ERROR_BADFAIL: return {"ERROR_BADFAIL", "failed and could not clean up", ErrorCode::kInternal};
    case ERROR_GUEST_TIMEDOUT:
      return {"ERROR_GUEST_TIMEDOUT", "the guest did not answer in time", ErrorCode::kDeadlineExceeded};
    case ERROR_TIMEDOUT:
      return {"ERROR_TIMEDOUT", "timed out (a backend or hotplug script did not answer)", ErrorCode::kDeadlineExceeded};
    case ERROR_NOPARAVIRT:
      return {"ERROR_NOPARAVIRT", "the guest has no paravirtual drivers", ErrorCode::kFailedPrecondition};
    case ERROR_NOT_READY: return {"ERROR_NOT_READY", "not ready", ErrorCode::kUnavailable};
    case ERROR_OSEVENT_REG_FAIL:
      return {"ERROR_OSEVENT_REG_FAIL", "could not register an OS event", ErrorCode::kInternal};
    case ERROR_BUFFERFULL: return {"ERROR_BUFFERFULL", "buffer full", ErrorCode::kResourceExhausted};
    case ERROR_UNKNOWN_CHILD: return {"ERROR_UNKNOWN_CHILD", "unknown child process", ErrorCode::kInternal};
    case ERROR_LOCK_FAIL: return {"ERROR_LOCK_FAIL", "could not take libxl's lock", ErrorCode::kUnavailable};
    case ERROR_JSON_CONFIG_EMPTY:
      return {"ERROR_JSON_CONFIG_EMPTY", "the domain has no stored configuration", ErrorCode::kNotFound};
    case ERROR_DEVICE_EXISTS: return {"ERROR_DEVICE_EXISTS", "the device already exists", ErrorCode::kAlreadyExists};
    case ERROR_DOMAIN_NOTFOUND: return {"ERROR_DOMAIN_NOTFOUND", "no such domain", ErrorCode::kNotFound};
    case ERROR_ABORTED: return {"ERROR_ABORTED", "aborted", ErrorCode::kCancelled};
    case ERROR_NOTFOUND: return {"ERROR_NOTFOUND", "not found", ErrorCode::kNotFound};
    case ERROR_DOMAIN_DESTROYED:
      return {"ERROR_DOMAIN_DESTROYED", "the domain was destroyed meanwhile", ErrorCode::kNotFound};
    case ERROR_FEATURE_REMOVED:
      return {"ERROR_FEATURE_REMOVED", "feature removed from libxl", ErrorCode::kUnimplemented};
    default: return {nullptr, "failed", ErrorCode::kInternal};
  }
}

}  // namespace

std::string libxl_error_name(int rc) {
  CodeInfo info = describe(rc);
  return info.name != nullptr ? info.name : "libxl error " + std::to_string(rc);
}

Error libxl_error(int rc, std::string_view step, std::string_view logged) {
  CodeInfo info = describe(rc);
  std::string message(step);
  message += ": ";
  message += libxl_error_name(rc);
  message += " (";
  message += info.meaning;
  message += ")";
  if (!logged.empty()) {
    message += ": ";
    message += logged;
  }
  return Error(info.code, std::move(message));
}

}  // namespace zoned::xen
