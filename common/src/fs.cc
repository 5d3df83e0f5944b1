#include "zoned/common/fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "zoned/common/unique_fd.h"

namespace zoned::fs {

Status make_dirs(const std::string& path, mode_t mode) {
  if (path.empty()) return Error(ErrorCode::kInvalidArgument, "empty directory path");
  std::string partial;
  partial.reserve(path.size());
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t next = path.find('/', pos);
    if (next == std::string::npos) next = path.size();
    partial.assign(path, 0, next);
    pos = next + 1;
    if (partial.empty()) continue;  // leading '/'
    if (::mkdir(partial.c_str(), mode) == 0 || errno == EEXIST) {
      struct stat st {};
      if (::stat(partial.c_str(), &st) != 0) return sys_error("stat " + partial);
      if (!S_ISDIR(st.st_mode)) {
        return Error(ErrorCode::kFailedPrecondition, partial + " exists and is not a directory");
      }
      continue;
    }
    return sys_error("creating directory " + partial);
  }
  return ok_status();
}

Status check_writable_dir(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return sys_error("directory " + path);
  if (!S_ISDIR(st.st_mode)) return Error(ErrorCode::kFailedPrecondition, path + " is not a directory");
  std::string probe = path + "/.zoned-write-probe-" + std::to_string(::getpid());
  UniqueFd fd(::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd.valid()) return sys_error("directory " + path + " is not writable");
  fd.reset();
  if (::unlink(probe.c_str()) != 0) return sys_error("removing write probe in " + path);
  return ok_status();
}

Status prepare_dir(const std::string& path, mode_t mode) {
  ZONED_TRY(make_dirs(path, mode));
  return check_writable_dir(path);
}

}  // namespace zoned::fs
