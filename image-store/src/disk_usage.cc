#include "disk_usage.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#include "zoned/common/file_ops.h"
#include "zoned/common/unique_fd.h"

namespace zoned::image_store {
namespace {

struct Walk {
  dev_t device = 0;
  std::set<std::pair<dev_t, ino_t>> seen;  // hard-linked inodes, counted once
  TreeUsage usage;

  void count(const struct stat& st) {
    if (st.st_nlink > 1 && !S_ISDIR(st.st_mode) && !seen.insert({st.st_dev, st.st_ino}).second) return;
    usage.bytes += static_cast<uint64_t>(st.st_blocks) * 512;
    usage.inodes += 1;
  }

  Status dir(int fd) {
    auto names = fs::list_dir(fd);
    if (!names.ok()) return std::move(names).take_error();
    for (const std::string& name : *names) {
      struct stat st {};
      if (::fstatat(fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) continue;  // removed while we walk
        return sys_error("stat " + name);
      }
      if (st.st_dev != device) continue;  // another filesystem mounted below
      count(st);
      if (!S_ISDIR(st.st_mode)) continue;
      UniqueFd sub(::openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub.valid()) {
        if (errno == ENOENT) continue;
        return sys_error("opening " + name);
      }
      ZONED_TRY(dir(sub.get()));
    }
    return ok_status();
  }
};

bool is_octal(char c) {
  return c >= '0' && c <= '7';
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape_mount_path(const std::string& field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    bool octal = field[i] == '\\' && i + 3 < field.size() && is_octal(field[i + 1]) && is_octal(field[i + 2]) &&
                 is_octal(field[i + 3]);
    if (octal) {
      int value = (field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 + (field[i + 3] - '0');
      out += static_cast<char>(value);
      i += 3;
    } else {
      out += field[i];
    }
  }
  return out;
}

bool is_under(const std::string& path, const std::string& mount) {
  if (mount == "/") return true;
  return path.starts_with(mount) && (path.size() == mount.size() || path[mount.size()] == '/');
}

}  // namespace

Result<TreeUsage> tree_usage(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return sys_error("opening " + path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return sys_error("stat " + path);
  Walk walk;
  walk.device = st.st_dev;
  walk.count(st);
  if (auto walked = walk.dir(fd.get()); !walked.ok()) return std::move(walked).take_error().wrap(path);
  return walk.usage;
}

Result<std::string> mount_point_of(const std::string& path) {
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) == nullptr) return sys_error("resolving " + path);
  std::ifstream mountinfo("/proc/self/mountinfo");
  if (!mountinfo) return Error(ErrorCode::kInternal, "cannot read /proc/self/mountinfo");
  std::string best;
  std::string line;
  while (std::getline(mountinfo, line)) {
    std::istringstream fields(line);
    std::string id, parent, devno, root, mount;
    if (!(fields >> id >> parent >> devno >> root >> mount)) continue;
    std::string point = unescape_mount_path(mount);
    if (is_under(resolved, point) && point.size() >= best.size()) best = point;
  }
  if (best.empty()) return Error(ErrorCode::kNotFound, "no mount found for " + path);
  return best;
}

}  // namespace zoned::image_store
