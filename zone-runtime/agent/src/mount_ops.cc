#include "zoned/agent/mount_ops.h"

#include <sys/mount.h>

#include <cerrno>

namespace zoned::agent {

namespace {

class SystemMountOps final : public MountOps {
 public:
  Status mount_image(const std::string& device_path, const std::string& target) override {
    if (::mount(device_path.c_str(), target.c_str(), "erofs", MS_RDONLY | MS_NODEV | MS_NOSUID, nullptr) != 0) {
      return sys_error("mounting " + device_path + " (erofs) on " + target);
    }
    return ok_status();
  }

  Status mount_overlay(const std::string& lower, const std::string& upper, const std::string& work,
                       const std::string& target) override {
    const std::string options = "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work;
    if (::mount("overlay", target.c_str(), "overlay", 0, options.c_str()) != 0) {
      return sys_error("mounting the overlay on " + target);
    }
    return ok_status();
  }

  Status unmount(const std::string& target) override {
    if (::umount2(target.c_str(), 0) == 0) return ok_status();
    if (errno == EBUSY && ::umount2(target.c_str(), MNT_DETACH) == 0) return ok_status();
    if (errno == EINVAL || errno == ENOENT) return ok_status();  // not mounted
    return sys_error("unmounting " + target);
  }
};

}  // namespace

std::unique_ptr<MountOps> make_system_mount_ops() {
  return std::make_unique<SystemMountOps>();
}

}  // namespace zoned::agent
