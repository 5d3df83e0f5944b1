#include "zoned/common/unix_socket.h"

#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "zoned/common/log.h"
#include "zoned/common/unique_fd.h"

namespace zoned {
namespace {

Result<gid_t> resolve_group(const std::string& group) {
  if (!group.empty() && group.find_first_not_of("0123456789") == std::string::npos) {
    unsigned long gid = std::stoul(group);
    if (gid > 0xfffffffeUL) return Error(ErrorCode::kInvalidArgument, "gid " + group + " is out of range");
    return static_cast<gid_t>(gid);
  }
  std::vector<char> buf(16384);
  struct group entry {};
  struct group* found = nullptr;
  int rc = ::getgrnam_r(group.c_str(), &entry, buf.data(), buf.size(), &found);
  if (rc != 0) return sys_error("looking up group '" + group + "'", rc);
  if (found == nullptr) return Error(ErrorCode::kNotFound, "group '" + group + "' does not exist");
  return found->gr_gid;
}

}  // namespace

Status claim_socket_path(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return ok_status();
    return sys_error("checking socket path " + path);
  }
  if (!S_ISSOCK(st.st_mode)) {
    return Error(ErrorCode::kFailedPrecondition, path + " exists and is not a socket; refusing to replace it");
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return Error(ErrorCode::kInvalidArgument, "socket path too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return sys_error("creating a probe socket");
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    return Error(ErrorCode::kAlreadyExists, "another process is already serving on " + path);
  }
  if (errno != ECONNREFUSED) return sys_error("probing existing socket " + path);
  if (::unlink(path.c_str()) != 0) return sys_error("removing stale socket " + path);
  log::info("removed stale socket", {{"path", path}});
  return ok_status();
}

Status set_socket_permissions(const std::string& path, mode_t mode, const std::string& group) {
  if (!group.empty()) {
    auto gid = resolve_group(group);
    if (!gid.ok()) return std::move(gid).take_error().wrap("socket_group");
    if (::chown(path.c_str(), static_cast<uid_t>(-1), *gid) != 0) return sys_error("chown " + path);
  }
  if (::chmod(path.c_str(), mode) != 0) return sys_error("chmod " + path);
  return ok_status();
}

}  // namespace zoned
