// The classic switch_root, in C++: pivot_root (which crun needs) fails from the initramfs's
// rootfs, so the agent copies the tree into a tmpfs, moves that over / and re-executes itself.
#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "zoned/agent/init.h"
#include "zoned/common/file_ops.h"
#include "zoned/common/log.h"
#include "zoned/common/unique_fd.h"

namespace zoned::agent {

namespace {

constexpr const char* kNewRoot = "/.zoned-root";

Status copy_file(int src_dir, int dst_dir, const char* name, const struct stat& st) {
  UniqueFd in(::openat(src_dir, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!in.valid()) return sys_error(std::string("opening ") + name);
  UniqueFd out(::openat(dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 07777));
  if (!out.valid()) return sys_error(std::string("creating ") + name);
  off_t left = st.st_size;
  while (left > 0) {
    const ssize_t n = ::sendfile(out.get(), in.get(), nullptr, static_cast<std::size_t>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return sys_error(std::string("copying ") + name);
    left -= n;
  }
  if (::fchmod(out.get(), st.st_mode & 07777) != 0) return sys_error(std::string("chmod ") + name);
  return ok_status();
}

// Copies the entries of src_dir into dst_dir, staying on `device` (mount points are skipped).
Status copy_tree(int src_dir, int dst_dir, dev_t device, bool top) {
  const int dup_fd = ::fcntl(src_dir, F_DUPFD_CLOEXEC, 3);
  if (dup_fd < 0) return sys_error("dup");
  DIR* dir = ::fdopendir(dup_fd);
  if (!dir) {
    ::close(dup_fd);
    return sys_error("fdopendir");
  }
  Status status;
  while (status.ok()) {
    errno = 0;
    const dirent* entry = ::readdir(dir);
    if (!entry) break;
    const char* name = entry->d_name;
    if (std::strcmp(name, ".") == 0 || std::strcmp(name, "..") == 0) continue;
    if (top && std::strcmp(name, kNewRoot + 1) == 0) continue;
    struct stat st {};
    if (::fstatat(src_dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      status = sys_error(std::string("stat ") + name);
      break;
    }
    if (st.st_dev != device) continue;  // another filesystem mounted here
    if (S_ISDIR(st.st_mode)) {
      if (::mkdirat(dst_dir, name, st.st_mode & 07777) != 0 && errno != EEXIST) {
        status = sys_error(std::string("mkdir ") + name);
        break;
      }
      UniqueFd sub_src(::openat(src_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      UniqueFd sub_dst(::openat(dst_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub_src.valid() || !sub_dst.valid()) {
        status = sys_error(std::string("opening directory ") + name);
        break;
      }
      status = copy_tree(sub_src.get(), sub_dst.get(), device, false);
      if (status.ok()) ::fchmod(sub_dst.get(), st.st_mode & 07777);
    } else if (S_ISREG(st.st_mode)) {
      status = copy_file(src_dir, dst_dir, name, st);
    } else if (S_ISLNK(st.st_mode)) {
      char target[4096];
      const ssize_t n = ::readlinkat(src_dir, name, target, sizeof target - 1);
      if (n < 0) {
        status = sys_error(std::string("readlink ") + name);
        break;
      }
      target[n] = '\0';
      if (::symlinkat(target, dst_dir, name) != 0) status = sys_error(std::string("symlink ") + name);
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode)) {
      if (::mknodat(dst_dir, name, st.st_mode, st.st_rdev) != 0) status = sys_error(std::string("mknod ") + name);
    }
    if (status.ok()) ::fchownat(dst_dir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
  }
  ::closedir(dir);
  return status;
}

// Frees the initramfs's memory: removes every top-level entry on the old root's filesystem.
void remove_old_root(dev_t device) {
  UniqueFd root(::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return;
  auto names = fs::list_dir(root.get());
  if (!names.ok()) return;
  for (const auto& name : *names) {
    if (name == kNewRoot + 1) continue;
    struct stat st {};
    if (::fstatat(root.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || st.st_dev != device) continue;
    [[maybe_unused]] auto removed = fs::remove_tree_at(root.get(), name);
  }
}

}  // namespace

bool running_from_initramfs() {
  struct statfs sfs {};
  if (::statfs("/", &sfs) != 0) return false;
  return sfs.f_type == RAMFS_MAGIC || sfs.f_type == TMPFS_MAGIC;
}

Status switch_to_tmpfs_root(const std::string& init_path, const std::vector<std::string>& argv) {
  struct stat root_st {};
  if (::stat("/", &root_st) != 0) return sys_error("stat /");
  ::mkdir(kNewRoot, 0755);
  if (::mount("tmpfs", kNewRoot, "tmpfs", 0, "mode=0755") != 0) return sys_error("mounting the new root tmpfs");
  {
    UniqueFd src(::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    UniqueFd dst(::open(kNewRoot, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!src.valid() || !dst.valid()) return sys_error("opening the roots");
    auto copied = copy_tree(src.get(), dst.get(), root_st.st_dev, true);
    if (!copied.ok()) return std::move(copied).take_error().wrap("copying the initramfs");
  }
  remove_old_root(root_st.st_dev);
  if (::chdir(kNewRoot) != 0) return sys_error("chdir to the new root");
  if (::mount(".", "/", nullptr, MS_MOVE, nullptr) != 0) return sys_error("moving the new root over /");
  if (::chroot(".") != 0) return sys_error("chroot into the new root");
  if (::chdir("/") != 0) return sys_error("chdir /");
  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  ::execv(init_path.c_str(), args.data());
  return sys_error("re-executing " + init_path);
}

}  // namespace zoned::agent
