// FakeMountOps: "mounts" by symlink, so the agent's container logic runs on a test host
// without mounting anything. The image mount point becomes a link to the device path (a
// directory in tests, holding etc/passwd and friends); an overlay's target becomes a link to
// its lower directory. Unmounting puts an empty directory back. Mounted targets are recorded.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <set>
#include <string>

#include "zoned/agent/mount_ops.h"

namespace zoned::testing {

class FakeMountOps final : public agent::MountOps {
 public:
  Status mount_image(const std::string& device_path, const std::string& target) override {
    return link(device_path, target);
  }
  Status mount_overlay(const std::string& lower, const std::string&, const std::string&,
                       const std::string& target) override {
    return link(lower, target);
  }
  Status unmount(const std::string& target) override {
    if (mounted_.erase(target) == 0) return Error(ErrorCode::kInvalidArgument, target + " is not mounted");
    ::unlink(target.c_str());
    ::mkdir(target.c_str(), 0700);
    return ok_status();
  }

  const std::set<std::string>& mounted() const { return mounted_; }

 private:
  Status link(const std::string& source, const std::string& target) {
    if (::rmdir(target.c_str()) != 0) return sys_error("fake mount: rmdir " + target);
    if (::symlink(source.c_str(), target.c_str()) != 0) return sys_error("fake mount: symlink " + target);
    mounted_.insert(target);
    return ok_status();
  }

  std::set<std::string> mounted_;
};

}  // namespace zoned::testing
