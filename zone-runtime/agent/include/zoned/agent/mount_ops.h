// MountOps: the mounts a container needs (its read-only EROFS image and the overlay on top),
// behind an interface so the agent's logic runs in tests without mounting anything.
#pragma once

#include <memory>
#include <string>

#include "zoned/common/result.h"

namespace zoned::agent {

class MountOps {
 public:
  virtual ~MountOps() = default;
  // Mounts the block device read-only as erofs on `target` (an existing directory).
  virtual Status mount_image(const std::string& device_path, const std::string& target) = 0;
  // Mounts overlayfs (lowerdir, upperdir, workdir) on `target` (an existing directory).
  virtual Status mount_overlay(const std::string& lower, const std::string& upper, const std::string& work,
                               const std::string& target) = 0;
  // Unmounts `target` (lazily if busy).
  virtual Status unmount(const std::string& target) = 0;
};

// mount(2) / umount2(2).
std::unique_ptr<MountOps> make_system_mount_ops();

}  // namespace zoned::agent
