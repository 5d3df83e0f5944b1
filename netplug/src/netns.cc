#include "zoned/netplug/netns.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <thread>

#include "zoned/common/file_ops.h"
#include "zoned/common/fs.h"
#include "zoned/netplug/result_cache.h"

namespace zoned::netplug {
namespace {

constexpr size_t kIdChars = 16;

// Runs `fn` on a new thread and returns its result; the thread may change its own namespaces.
template <typename F>
auto on_scratch_thread(F fn) -> decltype(fn()) {
  std::optional<decltype(fn())> result;
  std::thread worker([&] { result.emplace(fn()); });
  worker.join();
  return std::move(*result);
}

}  // namespace

NetnsManager::NetnsManager(std::string dir, std::string prefix) : dir_(std::move(dir)), prefix_(std::move(prefix)) {}

Result<std::string> NetnsManager::path_for(const std::string& sandbox_id) const {
  if (!is_valid_container_id(sandbox_id))
    return Error(ErrorCode::kInvalidArgument, "bad sandbox id \"" + sandbox_id + "\"");
  return dir_ + "/" + prefix_ + sandbox_id.substr(0, kIdChars);
}

// As iproute2's `ip netns add` does: the directory becomes a mount point of its own (bound onto
// itself) and shared. Without this, a later `ip netns add` on the node binds the directory over
// itself then, covering the namespaces created here: they can no longer be unmounted, and
// unlinking them fails with EBUSY.
Status NetnsManager::prepare_dir() {
  if (dir_prepared_) return ok_status();
  ZONED_TRY(fs::make_dirs(dir_, 0755));
  if (::mount("", dir_.c_str(), "none", MS_SHARED | MS_REC, nullptr) != 0) {
    if (errno != EINVAL) return sys_error("making " + dir_ + " a shared mount");
    if (::mount(dir_.c_str(), dir_.c_str(), "none", MS_BIND | MS_REC, nullptr) != 0) {
      return sys_error("bind-mounting " + dir_ + " onto itself");
    }
    if (::mount("", dir_.c_str(), "none", MS_SHARED | MS_REC, nullptr) != 0) {
      return sys_error("making " + dir_ + " a shared mount");
    }
  }
  dir_prepared_ = true;
  return ok_status();
}

Result<std::string> NetnsManager::create(const std::string& sandbox_id) {
  auto path = path_for(sandbox_id);
  if (!path.ok()) return std::move(path).take_error();
  ZONED_TRY(prepare_dir());
  UniqueFd file(::open(path->c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0444));
  if (!file.valid()) {
    if (errno == EEXIST) return Error(ErrorCode::kAlreadyExists, "network namespace " + *path + " exists", EEXIST);
    return sys_error("creating " + *path);
  }
  file.reset();
  Status made = on_scratch_thread([&]() -> Status {
    if (::unshare(CLONE_NEWNET) != 0) return sys_error("unshare(CLONE_NEWNET)");
    const std::string self = "/proc/self/task/" + std::to_string(::syscall(SYS_gettid)) + "/ns/net";
    if (::mount(self.c_str(), path->c_str(), nullptr, MS_BIND, nullptr) != 0) return sys_error("bind-mounting " + self);
    return ok_status();
  });
  if (!made.ok()) {
    ::unlink(path->c_str());
    return std::move(made).take_error().wrap("creating network namespace " + *path);
  }
  return path;
}

Status NetnsManager::remove_path(const std::string& path) {
  // Mounts may be stacked on the path (propagated from another mount namespace): unmount them all.
  for (int i = 0; i < 16; ++i) {
    if (::umount2(path.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0) continue;
    if (errno == EINVAL || errno == ENOENT) break;
    return sys_error("unmounting network namespace " + path);
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return sys_error("removing " + path);
  return ok_status();
}

Status NetnsManager::remove(const std::string& sandbox_id) {
  auto path = path_for(sandbox_id);
  if (!path.ok()) return std::move(path).take_error();
  return remove_path(*path);
}

Result<std::vector<std::string>> NetnsManager::list() const {
  std::vector<std::string> out;
  UniqueFd dirfd(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dirfd.valid()) {
    if (errno == ENOENT) return out;
    return sys_error("opening " + dir_);
  }
  auto names = fs::list_dir(dirfd.get());
  if (!names.ok()) return std::move(names).take_error();
  for (const std::string& name : *names) {
    if (name.compare(0, prefix_.size(), prefix_) == 0) out.push_back(dir_ + "/" + name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<UniqueFd> socket_in_netns(const std::string& netns_path, int domain, int type, int protocol) {
  UniqueFd ns(::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns.valid()) return sys_error("opening network namespace " + netns_path);
  return on_scratch_thread([&]() -> Result<UniqueFd> {
    if (::setns(ns.get(), CLONE_NEWNET) != 0) return sys_error("entering network namespace " + netns_path);
    UniqueFd sock(::socket(domain, type | SOCK_CLOEXEC, protocol));
    if (!sock.valid()) return sys_error("socket in " + netns_path);
    return sock;
  });
}

}  // namespace zoned::netplug
