#include "entry_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>

#include "zoned/common/file_ops.h"
#include "zoned/common/unique_fd.h"

namespace zoned::image_store {

EntryWriter::EntryWriter() : privileged_(::geteuid() == 0), buffer_(std::make_unique<std::array<char, 128 * 1024>>()) {}

Status EntryWriter::tolerate_unprivileged(int rc, std::string_view what) const {
  if (rc == 0) return ok_status();
  if (errno == EPERM && !privileged_) return ok_status();
  return sys_error(std::string(what));
}

// Order matters: chown clears setuid/setgid bits and file capabilities, so it comes first,
// then the mode, then xattrs (security.capability), then times.
Status EntryWriter::apply_fd_metadata(int fd, const TarEntry& entry) const {
  ZONED_TRY(tolerate_unprivileged(::fchown(fd, entry.uid, entry.gid), "chown"));
  if (::fchmod(fd, entry.permissions) != 0) return sys_error("chmod");
  return apply_xattrs(fd, entry);
}

Status EntryWriter::apply_xattrs(int fd, const TarEntry& entry) const {
  for (const auto& [name, value] : entry.xattrs) {
    int rc = ::fsetxattr(fd, name.c_str(), value.data(), value.size(), 0);
    ZONED_TRY(tolerate_unprivileged(rc, "setting xattr " + printable(name)));
  }
  return ok_status();
}

Status EntryWriter::write_file(int parent, const TarEntry& entry, LayerReader& data) {
  const std::string& name = entry.path.name();
  UniqueFd fd(::openat(parent, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid()) return sys_error("creating file");
  for (;;) {
    auto n = data.read_data(buffer_->data(), buffer_->size());
    if (!n.ok()) return std::move(n).take_error();
    if (*n == 0) break;
    ZONED_TRY(fs::write_all(fd.get(), buffer_->data(), *n));
  }
  ZONED_TRY(apply_fd_metadata(fd.get(), entry));
  timespec times[2] = {entry.mtime, entry.mtime};
  if (::futimens(fd.get(), times) != 0) return sys_error("setting mtime");
  return ok_status();
}

Status EntryWriter::write_dir(int parent, const TarEntry& entry) {
  const std::string& name = entry.path.name();
  if (::mkdirat(parent, name.c_str(), 0700) != 0 && errno != EEXIST) return sys_error("creating directory");
  UniqueFd fd(::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return sys_error("opening directory");
  return update_dir(fd.get(), entry);
}

Status EntryWriter::update_dir(int dirfd, const TarEntry& entry) {
  return apply_fd_metadata(dirfd, entry);
}

Status EntryWriter::write_symlink(int parent, const TarEntry& entry) {
  const std::string& name = entry.path.name();
  if (::symlinkat(entry.symlink_target.c_str(), parent, name.c_str()) != 0) return sys_error("creating symlink");
  int rc = ::fchownat(parent, name.c_str(), entry.uid, entry.gid, AT_SYMLINK_NOFOLLOW);
  ZONED_TRY(tolerate_unprivileged(rc, "chown"));
  timespec times[2] = {entry.mtime, entry.mtime};
  if (::utimensat(parent, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) return sys_error("setting mtime");
  return ok_status();  // xattrs on symlinks are not restored (see README)
}

Status EntryWriter::write_fifo(int parent, const TarEntry& entry) {
  const std::string& name = entry.path.name();
  if (::mknodat(parent, name.c_str(), S_IFIFO | 0600, 0) != 0) return sys_error("creating FIFO");
  // Opening a FIFO would block; it is ours and not a symlink, so name-based calls are safe.
  int rc = ::fchownat(parent, name.c_str(), entry.uid, entry.gid, AT_SYMLINK_NOFOLLOW);
  ZONED_TRY(tolerate_unprivileged(rc, "chown"));
  if (::fchmodat(parent, name.c_str(), entry.permissions, 0) != 0) return sys_error("chmod");
  timespec times[2] = {entry.mtime, entry.mtime};
  if (::utimensat(parent, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) return sys_error("setting mtime");
  return ok_status();
}

Status EntryWriter::write_hardlink(int parent, const TarEntry& entry, int target_parent,
                                   const std::string& target_name) {
  // flags 0: if the target is a symlink, the link is to the symlink itself, never followed.
  if (::linkat(target_parent, target_name.c_str(), parent, entry.path.name().c_str(), 0) != 0) {
    return sys_error("creating hard link");
  }
  return ok_status();
}

}  // namespace zoned::image_store
