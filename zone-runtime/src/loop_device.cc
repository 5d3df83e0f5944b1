#include "zoned/zone_runtime/loop_device.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "zoned/common/file_ops.h"

namespace zoned::zone_runtime {
namespace {

constexpr const char* kLoopControl = "/dev/loop-control";
constexpr int kMaxAttachAttempts = 32;
constexpr size_t kMaxSysfsBytes = 8192;

Result<UniqueFd> open_loop_device(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0 && (errno == EROFS || errno == EACCES)) fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return sys_error("opening " + path);
  return UniqueFd(fd);
}

loop_info64 read_only_info(const std::string& file) {
  loop_info64 info{};
  info.lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR;
  // Informational only (LOOP_GET_STATUS64); the kernel's backing_file comes from the fd.
  std::memcpy(info.lo_file_name, file.data(), std::min<size_t>(file.size(), LO_NAME_SIZE - 1));
  return info;
}

// Binds `file_fd` to the loop device: LOOP_CONFIGURE (Linux >= 5.8) in one step, else
// LOOP_SET_FD + LOOP_SET_STATUS64. Returns 0 or an errno.
int bind_backing_file(int loop_fd, int file_fd, const std::string& file) {
  loop_config config{};
  config.fd = static_cast<uint32_t>(file_fd);
  config.info = read_only_info(file);
  if (::ioctl(loop_fd, LOOP_CONFIGURE, &config) == 0) return 0;
  if (errno != EINVAL && errno != ENOTTY) return errno;

  if (::ioctl(loop_fd, LOOP_SET_FD, file_fd) != 0) return errno;
  // Read-only follows from the O_RDONLY backing fd; SET_STATUS only changes autoclear here.
  loop_info64 info = read_only_info(file);
  info.lo_flags = LO_FLAGS_AUTOCLEAR;
  if (::ioctl(loop_fd, LOOP_SET_STATUS64, &info) != 0) {
    int e = errno;
    ::ioctl(loop_fd, LOOP_CLR_FD, 0);
    return e;
  }
  return 0;
}

// "/dev/loop7" -> "/sys/block/loop7"
std::string sysfs_dir(const std::string& device) {
  return "/sys/block/" + device.substr(device.rfind('/') + 1);
}

std::string first_line(std::string text) {
  auto nl = text.find('\n');
  if (nl != std::string::npos) text.resize(nl);
  return text;
}

bool is_loop_name(const char* name) {
  if (std::strncmp(name, "loop", 4) != 0 || name[4] == '\0') return false;
  for (const char* p = name + 4; *p != '\0'; ++p) {
    if (*p < '0' || *p > '9') return false;
  }
  return true;
}

// Whether the attached device's backing file is `file`.
Result<bool> backs(const loop_info64& info, const std::string& device, const std::string& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) == 0) {
    const uint64_t dev = st.st_dev;
    const uint64_t ino = st.st_ino;
    return info.lo_device == dev && info.lo_inode == ino;
  }
  if (errno != ENOENT) return sys_error("stat " + file);
  // The file is gone: compare the path the kernel remembers.
  auto text = fs::read_file(sysfs_dir(device) + "/loop/backing_file", kMaxSysfsBytes);
  if (!text.ok()) return false;  // detached meanwhile
  std::string backing = first_line(*text);
  const std::string deleted = " (deleted)";
  if (backing.size() > deleted.size() && backing.ends_with(deleted)) backing.resize(backing.size() - deleted.size());
  return backing == file;
}

}  // namespace

Result<LoopDevice> LoopDevice::attach_read_only(const std::string& file) {
  UniqueFd backing(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!backing.valid()) return sys_error("attaching " + file + " to a loop device: opening it");
  struct stat st {};
  if (::fstat(backing.get(), &st) != 0) return sys_error("attaching " + file + " to a loop device: fstat");
  if (!S_ISREG(st.st_mode)) {
    return Error(ErrorCode::kInvalidArgument, "attaching " + file + " to a loop device: not a regular file");
  }
  UniqueFd control(::open(kLoopControl, O_RDWR | O_CLOEXEC));
  if (!control.valid()) return sys_error("attaching " + file + " to a loop device: opening " + kLoopControl);

  for (int attempt = 0; attempt < kMaxAttachAttempts; ++attempt) {
    int number = ::ioctl(control.get(), LOOP_CTL_GET_FREE);
    if (number < 0) return sys_error("attaching " + file + " to a loop device: LOOP_CTL_GET_FREE");
    std::string path = "/dev/loop" + std::to_string(number);
    auto device = open_loop_device(path);
    if (!device.ok()) {
      // The node is not there yet (created asynchronously) or the device is being removed by
      // someone else: ask for another one.
      const int e = device.error().sys_errno();
      if (e == ENOENT || e == ENXIO || e == ENODEV) continue;
      return std::move(device).take_error().wrap("attaching " + file + " to a loop device");
    }
    int e = bind_backing_file(device->get(), backing.get(), file);
    if (e == 0) return LoopDevice(std::move(path), std::move(*device));
    if (e != EBUSY && e != ENXIO) return sys_error("attaching " + file + " to " + path, e);
    // Another process bound or tore down this device between GET_FREE and our ioctl: ask again.
  }
  return Error(ErrorCode::kResourceExhausted,
               "attaching " + file + " to a loop device: every free device was taken by someone else first (" +
                   std::to_string(kMaxAttachAttempts) + " attempts)");
}

LoopDevice& LoopDevice::operator=(LoopDevice&& other) noexcept {
  if (this != &other) {
    (void)detach();
    path_ = std::move(other.path_);
    fd_ = std::move(other.fd_);
  }
  return *this;
}

LoopDevice::~LoopDevice() {
  (void)detach();
}

void LoopDevice::release() {
  fd_.reset();
}

Status LoopDevice::detach() {
  if (!fd_.valid()) return ok_status();
  int rc = ::ioctl(fd_.get(), LOOP_CLR_FD, 0);
  int e = errno;
  fd_.reset();
  if (rc != 0 && e != ENXIO) return sys_error("detaching " + path_, e);
  return ok_status();
}

Result<std::vector<AttachedLoop>> list_attached_loops(const std::string& sys_block) {
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(sys_block.c_str()), ::closedir);
  if (!dir) return sys_error("listing loop devices: opening " + sys_block);
  std::vector<AttachedLoop> loops;
  errno = 0;
  while (dirent* entry = ::readdir(dir.get())) {
    if (!is_loop_name(entry->d_name)) continue;
    const std::string base = sys_block + "/" + entry->d_name;
    auto backing = fs::read_file(base + "/loop/backing_file", kMaxSysfsBytes);
    if (!backing.ok()) continue;  // not attached (no loop/ directory or no backing file)
    AttachedLoop loop;
    loop.device = std::string("/dev/") + entry->d_name;
    loop.backing_file = first_line(*backing);
    auto ro = fs::read_file(base + "/ro", kMaxSysfsBytes);
    loop.read_only = ro.ok() && first_line(*ro) == "1";
    auto autoclear = fs::read_file(base + "/loop/autoclear", kMaxSysfsBytes);
    loop.autoclear = autoclear.ok() && first_line(*autoclear) == "1";
    loops.push_back(std::move(loop));
  }
  std::sort(loops.begin(), loops.end(), [](const AttachedLoop& a, const AttachedLoop& b) {
    return a.device.size() != b.device.size() ? a.device.size() < b.device.size() : a.device < b.device;
  });
  return loops;
}

Status detach_loop_if_backing(const std::string& device, const std::string& file) {
  const std::string what = "detaching " + device + " (backing " + file + ")";
  UniqueFd fd(::open(device.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT || errno == ENXIO) return ok_status();
    return sys_error(what + ": opening it");
  }
  loop_info64 info{};
  if (::ioctl(fd.get(), LOOP_GET_STATUS64, &info) != 0) {
    if (errno == ENXIO) return ok_status();  // not attached
    return sys_error(what + ": LOOP_GET_STATUS64");
  }
  auto same = backs(info, device, file);
  if (!same.ok()) return std::move(same).take_error().wrap(what);
  if (!*same) return Error(ErrorCode::kFailedPrecondition, what + ": the device is backed by another file");
  if (::ioctl(fd.get(), LOOP_CLR_FD, 0) != 0 && errno != ENXIO) return sys_error(what + ": LOOP_CLR_FD");
  return ok_status();
}

}  // namespace zoned::zone_runtime
