// Loop devices: a zone's read-only images (EROFS root, layers) reach Xen's blkback as
// /dev/loopN. Attached read-only and with autoclear, so the kernel frees a device by itself
// once its last user (blkback, when the domain is destroyed) closes it, even if the daemon
// died in between. Xen-free: this is plain Linux.
//
//   auto loop = LoopDevice::attach_read_only("/var/lib/zoned/images/x.erofs");
//   ... give loop->path() to the domain; once blkback holds the device:
//   loop->release();  // keep it attached; autoclear detaches it when the domain is gone
#pragma once

#include <string>
#include <vector>

#include "zoned/common/result.h"
#include "zoned/common/unique_fd.h"

namespace zoned::zone_runtime {

class LoopDevice {
 public:
  // Attaches `file` to a free loop device, read-only, with autoclear. Retries when another
  // process takes the free device first.
  static Result<LoopDevice> attach_read_only(const std::string& file);

  LoopDevice(LoopDevice&&) noexcept = default;
  LoopDevice& operator=(LoopDevice&& other) noexcept;
  LoopDevice(const LoopDevice&) = delete;
  LoopDevice& operator=(const LoopDevice&) = delete;
  // Detaches the device if this object still owns it.
  ~LoopDevice();

  const std::string& path() const { return path_; }  // "/dev/loopN"
  bool owned() const { return fd_.valid(); }

  // Gives the device up: it stays attached and our descriptor is closed. Because of autoclear,
  // a device nobody else has open is freed by the kernel at that moment, so release only once
  // its real user (blkback) holds it.
  void release();
  // Detaches now (LOOP_CLR_FD). While others still have it open, the kernel defers the detach
  // until they close it (autoclear).
  Status detach();

 private:
  LoopDevice(std::string path, UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}
  std::string path_;
  UniqueFd fd_;
};

// A loop device that has a backing file, as the kernel reports it under /sys/block.
struct AttachedLoop {
  std::string device;        // "/dev/loopN"
  std::string backing_file;  // as the kernel prints it; " (deleted)" when the file was removed
  bool read_only = false;
  bool autoclear = false;
};

// Every attached loop device (from <sys_block>/loop*/loop/backing_file), for reconciliation
// after a restart.
Result<std::vector<AttachedLoop>> list_attached_loops(const std::string& sys_block = "/sys/block");

// Detaches `device` if, and only if, it is backed by `file` (same inode when the file still
// exists, else the same path). Not attached: success. Backed by something else:
// FailedPrecondition, and nothing is touched.
Status detach_loop_if_backing(const std::string& device, const std::string& file);

}  // namespace zoned::zone_runtime
