// PID-1 duties in a zone: the switch from the initramfs into a tmpfs root, the basic mounts,
// kernel modules, cgroup v2, the hostname and the console log. Only main.cc calls the parts
// that touch the system; the parsers are pure and tested.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "zoned/common/log.h"
#include "zoned/common/result.h"

namespace zoned::agent {

// --- kernel command line (zoned.hostname=, zoned.loglevel=) ---
struct BootParams {
  std::string hostname;
  std::optional<log::Level> log_level;
};
BootParams parse_cmdline(std::string_view cmdline);

// --- switch_root (switch_root.cc) ---
// True when / is the initramfs (ramfs/tmpfs "rootfs" that pivot_root refuses).
bool running_from_initramfs();
// Copies the whole initramfs tree (one filesystem) into a new tmpfs, frees the old copy,
// moves the tmpfs over /, chroots into it and execs `init_path` with `argv`. Returns only on
// failure.
Status switch_to_tmpfs_root(const std::string& init_path, const std::vector<std::string>& argv);

// --- system set-up (init.cc) ---
// /proc, /sys, /dev (devtmpfs), /dev/pts, /dev/shm, /run, /tmp; then fds 0-2 on /dev/console.
Status mount_basic_filesystems();
Status attach_console();
// cgroup2 on /sys/fs/cgroup with every available controller enabled for children.
Status setup_cgroup2(const std::string& mount_point = "/sys/fs/cgroup");
Status set_hostname(const std::string& hostname);
// Brings the loopback interface up (containers share the zone's network namespace or get their own).
Status loopback_up();

// --- modules (modules.cc) ---
// The paths in a modules.load file (blank lines and '#' comments skipped; absolute paths and
// ".." refused).
Result<std::vector<std::string>> parse_modules_load(std::string_view text);
// Loads every module listed in <dir>/modules.load with finit_module (EEXIST is fine).
// Returns how many failed; each failure is logged.
Result<int> load_modules(const std::string& dir);

// --- console log (init.cc) ---
// Log lines go to `fd` (the console), prefixed "zoned-agent: ".
void log_to_console(int fd);
// "zoned-agent: <text>" straight to the console (for "ready").
void console_line(int fd, std::string_view text);

// Logs `why`, syncs and powers the zone off (PID 1 must never exit).
[[noreturn]] void fatal_power_off(std::string_view why);

}  // namespace zoned::agent
