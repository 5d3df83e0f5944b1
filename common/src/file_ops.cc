#include "zoned/common/file_ops.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "zoned/common/unique_fd.h"

namespace zoned::fs {

Status write_all(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("write");
    p += n;
    size -= static_cast<size_t>(n);
  }
  return ok_status();
}

Status fsync_dir(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return sys_error("opening directory " + path);
  if (::fsync(fd.get()) != 0) return sys_error("fsync " + path);
  return ok_status();
}

// Read in one go, so no DIR stream stays open while callers recurse.
Result<std::vector<std::string>> list_dir(int dirfd) {
  int dup = ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return sys_error("dup");
  DIR* dir = ::fdopendir(dup);
  if (dir == nullptr) {
    ::close(dup);
    return sys_error("fdopendir");
  }
  ::rewinddir(dir);  // the duplicate shares the file offset with dirfd
  std::vector<std::string> names;
  errno = 0;
  while (dirent* entry = ::readdir(dir)) {
    std::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  int err = errno;
  ::closedir(dir);
  if (err != 0) return sys_error("readdir", err);
  return names;
}

namespace {

Status remove_children(int dirfd, const std::string& path) {
  auto names = list_dir(dirfd);
  if (!names.ok()) return std::move(names).take_error().wrap(path);
  for (const std::string& name : *names) ZONED_TRY(remove_tree_at(dirfd, name));
  return ok_status();
}

}  // namespace

Status remove_tree_at(int dirfd, const std::string& name) {
  if (::unlinkat(dirfd, name.c_str(), 0) == 0 || errno == ENOENT) return ok_status();
  if (errno != EISDIR && errno != EPERM) return sys_error("removing " + name);
  // A directory: empty it first. O_NOFOLLOW: if `name` is (now) a symlink, we do not follow it.
  UniqueFd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) {
    int err = errno;
    // Unreadable but empty (mode 0 as non-root): rmdir still works.
    if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) == 0) return ok_status();
    return sys_error("opening " + name + " for removal", err);
  }
  ZONED_TRY(remove_children(fd.get(), name));
  fd.reset();
  if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
    return sys_error("removing directory " + name);
  }
  return ok_status();
}

Result<std::string> read_file(const std::string& path, size_t max_bytes) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return sys_error("opening " + path);
  std::string data;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("reading " + path);
    if (n == 0) return data;
    if (data.size() + static_cast<size_t>(n) > max_bytes) {
      return Error(ErrorCode::kResourceExhausted, path + " is larger than " + std::to_string(max_bytes) + " bytes");
    }
    data.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace zoned::fs
