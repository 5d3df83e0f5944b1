#include "zoned/agent/init.h"

#include <fcntl.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "zoned/common/file_ops.h"
#include "zoned/common/unique_fd.h"

namespace zoned::agent {

namespace {

struct MountSpec {
  const char* source;
  const char* target;
  const char* type;
  unsigned long flags;
  const char* data;
};

Status mount_one(const MountSpec& m) {
  ::mkdir(m.target, 0755);
  if (::mount(m.source, m.target, m.type, m.flags, m.data) != 0 && errno != EBUSY) {
    return sys_error(std::string("mounting ") + m.type + " on " + m.target);
  }
  return ok_status();
}

int g_console_fd = 2;

}  // namespace

BootParams parse_cmdline(std::string_view cmdline) {
  BootParams params;
  std::size_t pos = 0;
  while (pos < cmdline.size()) {
    while (pos < cmdline.size() && (cmdline[pos] == ' ' || cmdline[pos] == '\n' || cmdline[pos] == '\t')) ++pos;
    std::size_t end = pos;
    while (end < cmdline.size() && cmdline[end] != ' ' && cmdline[end] != '\n' && cmdline[end] != '\t') ++end;
    const std::string_view word = cmdline.substr(pos, end - pos);
    pos = end;
    if (word.rfind("zoned.hostname=", 0) == 0) {
      const auto value = word.substr(std::strlen("zoned.hostname="));
      if (!value.empty() && value.size() <= 64) params.hostname = std::string(value);
    } else if (word.rfind("zoned.loglevel=", 0) == 0) {
      params.log_level = log::parse_level(word.substr(std::strlen("zoned.loglevel=")));
    }
  }
  return params;
}

Status mount_basic_filesystems() {
  const MountSpec mounts[] = {
      {"proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr},
      {"sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr},
      {"devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755"},
      {"devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"},
      {"shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"},
      {"tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755"},
      {"tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"},
  };
  for (const auto& m : mounts) ZONED_TRY(mount_one(m));
  // /dev/ptmx must be the devpts instance's, for ptys opened by crun.
  ::unlink("/dev/ptmx");
  if (::symlink("pts/ptmx", "/dev/ptmx") != 0) return sys_error("linking /dev/ptmx");
  return ok_status();
}

Status attach_console() {
  UniqueFd console(::open("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!console.valid()) return sys_error("opening /dev/console");
  for (int fd = 0; fd < 3; ++fd) {
    if (::dup2(console.get(), fd) < 0) return sys_error("attaching the console");
  }
  return ok_status();
}

Status setup_cgroup2(const std::string& mount_point) {
  ::mkdir(mount_point.c_str(), 0755);
  if (::mount("cgroup2", mount_point.c_str(), "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, "nsdelegate") != 0 &&
      errno != EBUSY) {
    return sys_error("mounting cgroup2 on " + mount_point);
  }
  auto controllers = fs::read_file(mount_point + "/cgroup.controllers", 4096);
  if (!controllers.ok()) return std::move(controllers).take_error();
  UniqueFd control(::open((mount_point + "/cgroup.subtree_control").c_str(), O_WRONLY | O_CLOEXEC));
  if (!control.valid()) return sys_error("opening cgroup.subtree_control");
  std::string_view names = *controllers;
  std::string failed;
  while (!names.empty()) {
    const auto end = names.find_first_of(" \n");
    const auto name = names.substr(0, end);
    names = end == std::string_view::npos ? std::string_view() : names.substr(end + 1);
    if (name.empty()) continue;
    const std::string enable = "+" + std::string(name);
    if (::write(control.get(), enable.data(), enable.size()) < 0) failed += " " + std::string(name);
  }
  if (!failed.empty()) log::warn("cgroup controllers not enabled", {{"controllers", failed}});
  return ok_status();
}

Status set_hostname(const std::string& hostname) {
  if (::sethostname(hostname.data(), hostname.size()) != 0) return sys_error("setting the hostname");
  UniqueFd file(::open("/etc/hostname", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (file.valid()) {
    const std::string line = hostname + "\n";
    [[maybe_unused]] auto written = fs::write_all(file.get(), line.data(), line.size());
  }
  return ok_status();
}

Status loopback_up() {
  UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock.valid()) return sys_error("socket for the loopback interface");
  ifreq req{};
  std::strncpy(req.ifr_name, "lo", IFNAMSIZ - 1);
  if (::ioctl(sock.get(), SIOCGIFFLAGS, &req) != 0) return sys_error("reading lo's flags");
  req.ifr_flags = static_cast<short>(req.ifr_flags | IFF_UP);
  if (::ioctl(sock.get(), SIOCSIFFLAGS, &req) != 0) return sys_error("bringing lo up");
  return ok_status();
}

void log_to_console(int fd) {
  g_console_fd = fd;
  log::set_sink([fd](std::string_view line) {
    std::string text = "zoned-agent: ";
    text.append(line);
    text.push_back('\n');
    [[maybe_unused]] auto written = fs::write_all(fd, text.data(), text.size());
  });
}

void console_line(int fd, std::string_view text) {
  std::string line = "zoned-agent: ";
  line.append(text);
  line.push_back('\n');
  [[maybe_unused]] auto written = fs::write_all(fd, line.data(), line.size());
}

void fatal_power_off(std::string_view why) {
  console_line(g_console_fd, "fatal: " + std::string(why) + "; powering off");
  ::sync();
  if (::getpid() == 1) {
    ::reboot(RB_POWER_OFF);
    for (;;) ::pause();  // reboot() does not return for PID 1; never exit (the kernel would panic)
  }
  ::_exit(1);
}

}  // namespace zoned::agent
