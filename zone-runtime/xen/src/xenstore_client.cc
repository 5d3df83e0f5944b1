#include "zoned/xen/xenstore_client.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <memory>

#include "zoned/xen/libxl_headers.h"

namespace zoned::xen {
namespace {

// errnos that say something about the request, not the connection.
bool request_error(int e) {
  return e == ENOENT || e == EACCES || e == EINVAL || e == EEXIST || e == E2BIG || e == ENOSPC || e == EPERM;
}

}  // namespace

Status validate_xenstore_path(const std::string& path) {
  if (path.empty() || path.front() != '/' || path.size() > kMaxXenstorePathLength ||
      path.find('\0') != std::string::npos) {
    return Error(ErrorCode::kInvalidArgument, "xenstore path '" + path + "' must be absolute, at most " +
                                                  std::to_string(kMaxXenstorePathLength) + " bytes");
  }
  return ok_status();
}

XenstoreClient::XenstoreClient(std::string socket_path) : socket_path_(std::move(socket_path)) {}

XenstoreClient::~XenstoreClient() = default;

Result<XenstoreClient::Handle> XenstoreClient::handle() {
  std::lock_guard lock(mu_);
  if (xs_) return xs_;
  struct stat st {};
  if (::stat(socket_path_.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) {
    return Error(ErrorCode::kUnavailable, "xenstored is not running (no socket at " + socket_path_ + ")");
  }
  xs_handle* raw = xs_open(XS_OPEN_SOCKETONLY);
  if (raw == nullptr) return sys_error("connecting to xenstored at " + socket_path_);
  xs_ = Handle(raw, xs_close);
  return xs_;
}

void XenstoreClient::drop(const Handle& broken) {
  std::lock_guard lock(mu_);
  // Another thread may have replaced it already; only forget the one that failed.
  if (xs_ == broken) xs_.reset();
}

Result<std::optional<std::string>> XenstoreClient::read(const std::string& path) {
  ZONED_TRY(validate_xenstore_path(path));
  auto xs = handle();
  if (!xs.ok()) return std::move(xs).take_error();
  unsigned int len = 0;
  std::unique_ptr<char, decltype(&std::free)> value(
      static_cast<char*>(xs_read(xs->get(), XBT_NULL, path.c_str(), &len)), &std::free);
  if (!value) {
    int e = errno;
    if (e == ENOENT) return std::optional<std::string>();
    if (!request_error(e)) drop(*xs);
    return sys_error("xenstore read " + path, e);
  }
  return std::optional<std::string>(std::string(value.get(), len));
}

Status XenstoreClient::write(const std::string& path, const std::string& value) {
  ZONED_TRY(validate_xenstore_path(path));
  if (value.size() > kMaxXenstoreValueLength) {
    return Error(ErrorCode::kInvalidArgument, "xenstore write " + path + ": value larger than " +
                                                  std::to_string(kMaxXenstoreValueLength) + " bytes");
  }
  auto xs = handle();
  if (!xs.ok()) return std::move(xs).take_error();
  if (!xs_write(xs->get(), XBT_NULL, path.c_str(), value.data(), static_cast<unsigned int>(value.size()))) {
    int e = errno;
    if (!request_error(e)) drop(*xs);
    return sys_error("xenstore write " + path, e);
  }
  return ok_status();
}

}  // namespace zoned::xen
