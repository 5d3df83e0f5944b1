#include "root_dir.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

namespace zoned::image_store {

std::string EntryPath::str() const {
  std::string out;
  for (const std::string& c : components) {
    if (!out.empty()) out += '/';
    out += c;
  }
  return out;
}

std::string EntryPath::parent_str() const {
  EntryPath parent{{components.begin(), components.end() - (components.empty() ? 0 : 1)}};
  return parent.str();
}

std::string EntryPath::child(std::string_view name) const {
  std::string s = str();
  if (!s.empty()) s += '/';
  s += name;
  return s;
}

Result<EntryPath> sanitize_path(std::string_view raw) {
  if (raw.size() > kMaxPathBytes) {
    return Error(ErrorCode::kInvalidArgument, "path is longer than " + std::to_string(kMaxPathBytes) + " bytes");
  }
  EntryPath path;
  size_t pos = 0;
  while (pos <= raw.size()) {
    size_t end = raw.find('/', pos);
    if (end == std::string_view::npos) end = raw.size();
    std::string_view part = raw.substr(pos, end - pos);
    pos = end + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (path.components.empty()) return Error(ErrorCode::kInvalidArgument, "path escapes the root with '..'");
      path.components.pop_back();
      continue;
    }
    if (part.size() > kMaxNameBytes) {
      return Error(ErrorCode::kInvalidArgument,
                   "path component longer than " + std::to_string(kMaxNameBytes) + " bytes");
    }
    path.components.emplace_back(part);
    if (path.components.size() > kMaxPathDepth) {
      return Error(ErrorCode::kInvalidArgument, "path deeper than " + std::to_string(kMaxPathDepth) + " components");
    }
  }
  return path;
}

Result<RootDir> RootDir::open(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return sys_error("opening " + path);
  return RootDir(std::move(fd), path);
}

namespace {

Error walk_error(int dirfd, const std::string& name, const std::string& so_far, int err) {
  struct stat st {};
  bool is_link = err == ELOOP || (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode));
  if (is_link) {
    return Error(ErrorCode::kInvalidArgument, "'" + so_far + "' is a symlink: refusing to write through it");
  }
  if (err == ENOTDIR) return Error(ErrorCode::kFailedPrecondition, "'" + so_far + "' is not a directory");
  return sys_error("opening '" + so_far + "'", err);
}

}  // namespace

Result<UniqueFd> RootDir::open_dir(const EntryPath& path, size_t depth, bool create,
                                   std::vector<std::string>* created) const {
  UniqueFd current(::fcntl(fd_.get(), F_DUPFD_CLOEXEC, 0));
  if (!current.valid()) return sys_error("dup");
  std::string so_far;
  for (size_t i = 0; i < depth; ++i) {
    const std::string& name = path.components[i];
    if (!so_far.empty()) so_far += '/';
    so_far += name;
    constexpr int kFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    int next = ::openat(current.get(), name.c_str(), kFlags);
    if (next < 0 && errno == ENOENT && create) {
      if (::mkdirat(current.get(), name.c_str(), 0755) != 0 && errno != EEXIST) {
        return sys_error("creating directory '" + so_far + "'");
      }
      if (created != nullptr) created->push_back(so_far);
      next = ::openat(current.get(), name.c_str(), kFlags);
      if (next >= 0 && ::fchmod(next, 0755) != 0) {  // whatever the umask
        ::close(next);
        return sys_error("chmod '" + so_far + "'");
      }
    }
    if (next < 0) return walk_error(current.get(), name, so_far, errno);
    current.reset(next);
  }
  return current;
}

}  // namespace zoned::image_store
