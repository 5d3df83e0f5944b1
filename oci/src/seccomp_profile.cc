// Seccomp for config.json: the RuntimeDefault profile, written as data, and the validation of
// Localhost profiles.
//
// The default profile is containerd 1.6's for amd64 (itself Docker's default profile): every
// syscall not listed fails with EPERM; the rules that depend on the bounding capabilities are
// kept (CAP_SYS_ADMIN opens mount, unshare, setns and clone with namespace flags, ...), and
// ptrace is allowed (zones run Linux 6.1, past the 4.8 that fixed its seccomp bypass).
// Differences from Docker's profile: no rules for other architectures (zones are x86-64),
// no socket(AF_VSOCK) or other argument-filtered rules beyond personality and clone, and
// no minimum-kernel conditions except the one for ptrace.
#include "zoned/oci/seccomp_profile.h"

#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <optional>

#include "runtime_spec_internal.h"

namespace zoned::oci {
namespace spec_internal {
namespace {

using Names = std::vector<std::string_view>;

// Allowed for everyone.
const Names& base_allowlist() {
  static const Names kNames = {
      "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "capget", "capset", "chdir", "chmod", "chown",
      "chown32", "clock_adjtime", "clock_adjtime64", "clock_getres", "clock_getres_time64", "clock_gettime",
      "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "close", "close_range", "connect",
      "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old",
      "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat",
      "exit", "exit_group", "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate", "fanotify_mark",
      "fchdir", "fchmod", "fchmodat", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr",
      "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs",
      "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futex", "futex_time64", "futex_waitv", "futimesat", "getcpu",
      "getcwd", "getdents", "getdents64", "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32",
      "getgroups", "getgroups32", "getitimer", "getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority",
      "getrandom", "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit", "get_robust_list", "getrusage",
      "getsid", "getsockname", "getsockopt", "get_thread_area", "gettid", "gettimeofday", "getuid", "getuid32",
      "getxattr", "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel", "ioctl",
      "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup",
      "io_submit", "io_uring_enter", "io_uring_register", "io_uring_setup", "ipc", "kill", "landlock_add_rule",
      "landlock_create_ruleset", "landlock_restrict_self", "lchown", "lchown32", "lgetxattr", "link", "linkat",
      "listen", "listxattr", "llistxattr", "_llseek", "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64",
      "madvise", "membarrier", "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod", "mknodat",
      "mlock", "mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mq_getsetattr", "mq_notify", "mq_open",
      "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap",
      "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock", "munlockall", "munmap", "nanosleep", "newfstatat",
      "_newselect", "open", "openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2",
      "pkey_alloc", "pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv",
      "preadv2", "prlimit64", "process_mrelease", "pselect6", "pselect6_time64", "pwrite64", "pwritev", "pwritev2",
      "read", "readahead", "readlink", "readlinkat", "readv", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64",
      "recvmsg", "remap_file_pages", "removexattr", "rename", "renameat", "renameat2", "restart_syscall", "rmdir",
      "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend",
      "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr",
      "sched_getparam", "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler",
      "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr", "sched_setparam",
      "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl", "semget", "semop", "semtimedop",
      "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto", "setfsgid", "setfsgid32",
      "setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setitimer", "setpgid", "setpriority",
      "setregid", "setregid32", "setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32",
      "setrlimit", "set_robust_list", "setsid", "setsockopt", "set_thread_area", "set_tid_address", "setuid",
      "setuid32", "setxattr", "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4",
      "sigprocmask", "sigreturn", "socket", "socketcall", "socketpair", "splice", "stat", "stat64", "statfs",
      "statfs64", "statx", "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill",
      "time", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime",
      "timer_settime64", "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime",
      "timerfd_settime64", "times", "tkill", "truncate", "truncate64", "ugetrlimit", "umask", "uname", "unlink",
      "unlinkat", "utime", "utimensat", "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid",
      "write", "writev",
      // x86 specific.
      "arch_prctl", "modify_ldt",
      // Safe since Linux 4.8.
      "ptrace"};
  return kNames;
}

// personality(2) with these personas only: PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32,
// and 0xffffffff (query).
constexpr uint64_t kPersonalities[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};

// Extra syscalls for a process holding a capability in its bounding set.
struct CapabilityRule {
  std::string_view capability;
  Names names;
};

const std::vector<CapabilityRule>& capability_rules() {
  static const std::vector<CapabilityRule> kRules = {
      {"CAP_DAC_READ_SEARCH", {"open_by_handle_at"}},
      {"CAP_SYS_ADMIN",
       {"bpf",
        "clone",
        "clone3",
        "fanotify_init",
        "fsconfig",
        "fsmount",
        "fsopen",
        "fspick",
        "lookup_dcookie",
        "mount",
        "mount_setattr",
        "move_mount",
        "name_to_handle_at",
        "open_tree",
        "perf_event_open",
        "quotactl",
        "quotactl_fd",
        "setdomainname",
        "sethostname",
        "setns",
        "syslog",
        "umount",
        "umount2",
        "unshare"}},
      {"CAP_SYS_BOOT", {"reboot"}},
      {"CAP_SYS_CHROOT", {"chroot"}},
      {"CAP_SYS_MODULE", {"delete_module", "init_module", "finit_module"}},
      {"CAP_SYS_PACCT", {"acct"}},
      {"CAP_SYS_PTRACE", {"kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"}},
      {"CAP_SYS_RAWIO", {"iopl", "ioperm"}},
      {"CAP_SYS_TIME", {"settimeofday", "stime", "clock_settime", "clock_settime64"}},
      {"CAP_SYS_TTY_CONFIG", {"vhangup"}},
      {"CAP_SYS_NICE", {"get_mempolicy", "mbind", "set_mempolicy"}},
      {"CAP_SYSLOG", {"syslog"}},
      {"CAP_BPF", {"bpf"}},
      {"CAP_PERFMON", {"perf_event_open"}},
  };
  return kRules;
}

Json allow(const Names& names) {
  Json n = Json::array();
  for (auto name : names) n.push_back(name);
  return Json{{"names", std::move(n)}, {"action", "SCMP_ACT_ALLOW"}};
}

Json arg(unsigned index, uint64_t value, uint64_t value_two, std::string_view op) {
  return Json{{"index", index}, {"value", value}, {"valueTwo", value_two}, {"op", op}};
}

bool holds(const std::vector<std::string>& caps, std::string_view cap) {
  return std::find(caps.begin(), caps.end(), cap) != caps.end();
}

}  // namespace

Json default_seccomp_profile(const std::vector<std::string>& bounding_caps) {
  Json syscalls = Json::array();
  syscalls.push_back(allow(base_allowlist()));
  for (uint64_t persona : kPersonalities) {
    Json rule = allow({"personality"});
    rule["args"] = Json::array({arg(0, persona, 0, "SCMP_CMP_EQ")});
    syscalls.push_back(std::move(rule));
  }
  for (const auto& rule : capability_rules()) {
    if (holds(bounding_caps, rule.capability)) syscalls.push_back(allow(rule.names));
  }
  if (!holds(bounding_caps, "CAP_SYS_ADMIN")) {
    // clone without any namespace flag; clone3 cannot be filtered on its flags (they are in
    // a struct), so it fails with ENOSYS and libc falls back to clone.
    constexpr uint64_t kNamespaceFlags =
        CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP;
    Json clone = allow({"clone"});
    clone["args"] = Json::array({arg(0, kNamespaceFlags, 0, "SCMP_CMP_MASKED_EQ")});
    syscalls.push_back(std::move(clone));
    syscalls.push_back(Json{{"names", Json::array({"clone3"})}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", ENOSYS}});
  }
  return Json{{"defaultAction", "SCMP_ACT_ERRNO"},
              {"architectures", Json::array({"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"})},
              {"syscalls", std::move(syscalls)}};
}

namespace {

constexpr size_t kMaxProfileBytes = 256 * 1024;
constexpr size_t kMaxRules = 4096;
constexpr size_t kMaxNames = 4096;

const Names kActions = {"SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
                        "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE",        "SCMP_ACT_ALLOW",       "SCMP_ACT_LOG"};
const Names kOps = {"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",       "SCMP_CMP_EQ",
                    "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"};
const Names kArches = {"SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",         "SCMP_ARCH_ARM",
                       "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",      "SCMP_ARCH_MIPS64N32",
                       "SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
                       "SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",        "SCMP_ARCH_S390X",
                       "SCMP_ARCH_PARISC",  "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64"};
const Names kFlags = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                      "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};

std::string one_of(const Names& names) {
  std::string out;
  for (auto n : names) out += (out.empty() ? "" : ", ") + std::string(n);
  return out;
}

// A string member that must be one of `allowed` (`required`: must be present).
Result<std::string> enum_member(const Json& obj, std::string_view key, std::string_view path, const Names& allowed,
                                bool required) {
  auto v = required ? json_fields::required_string(obj, key, path) : json_fields::optional_string(obj, key, path);
  if (!v.ok()) return std::move(v).take_error();
  if (v->empty() && !required) return v;
  if (std::find(allowed.begin(), allowed.end(), *v) == allowed.end()) {
    return invalid("field '" + json_fields::child(path, key) + "'",
                   "must be one of " + one_of(allowed) + ", not " + quote_value(*v));
  }
  return v;
}

Result<std::vector<std::string>> enum_array(const Json& obj, std::string_view key, const Names& allowed) {
  auto v = json_fields::optional_string_array(obj, key, "");
  if (!v.ok()) return std::move(v).take_error();
  for (const auto& item : *v) {
    if (std::find(allowed.begin(), allowed.end(), item) == allowed.end()) {
      return invalid("field '" + std::string(key) + "'", "unknown value " + quote_value(item));
    }
  }
  return v;
}

// A non-negative integer member below `limit`, or nullopt when absent.
Result<std::optional<uint64_t>> unsigned_member(const Json& obj, std::string_view key, std::string_view path,
                                                uint64_t limit) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::optional<uint64_t>();
  std::string here = json_fields::child(path, key);
  if (!it->is_number_integer() || (it->is_number_integer() && !it->is_number_unsigned() && it->get<int64_t>() < 0)) {
    return json_fields::wrong_type(here, "a non-negative integer", *it);
  }
  auto v = it->get<uint64_t>();
  if (v > limit) return invalid("field '" + here + "'", std::to_string(v) + " is too large");
  return std::optional<uint64_t>(v);
}

Result<Json> parse_arg(const Json& a, const std::string& path) {
  if (!a.is_object()) return json_fields::wrong_type(path, "an object", a);
  Json out = Json::object();
  auto index = unsigned_member(a, "index", path, 5);
  if (!index.ok()) return std::move(index).take_error();
  if (!index->has_value()) return json_fields::missing(json_fields::child(path, "index"));
  out["index"] = **index;
  auto value = unsigned_member(a, "value", path, UINT64_MAX);
  if (!value.ok()) return std::move(value).take_error();
  if (!value->has_value()) return json_fields::missing(json_fields::child(path, "value"));
  out["value"] = **value;
  auto two = unsigned_member(a, "valueTwo", path, UINT64_MAX);
  if (!two.ok()) return std::move(two).take_error();
  if (two->has_value()) out["valueTwo"] = **two;
  auto op = enum_member(a, "op", path, kOps, true);
  if (!op.ok()) return std::move(op).take_error();
  out["op"] = *op;
  return out;
}

Result<Json> parse_rule(const Json& r, const std::string& path) {
  if (!r.is_object()) return json_fields::wrong_type(path, "an object", r);
  Json out = Json::object();
  auto names = json_fields::optional_string_array(r, "names", path);
  if (!names.ok()) return std::move(names).take_error();
  if (names->empty() || names->size() > kMaxNames) {
    return invalid("field '" + json_fields::child(path, "names") + "'", "must list 1..4096 syscalls");
  }
  for (const auto& n : *names) {
    if (n.empty() || n.size() > 64 || has_nul(n)) {
      return invalid("field '" + json_fields::child(path, "names") + "'", "invalid syscall name " + quote_value(n));
    }
  }
  out["names"] = *names;
  auto action = enum_member(r, "action", path, kActions, true);
  if (!action.ok()) return std::move(action).take_error();
  out["action"] = *action;
  auto errno_ret = unsigned_member(r, "errnoRet", path, UINT32_MAX);
  if (!errno_ret.ok()) return std::move(errno_ret).take_error();
  if (errno_ret->has_value()) out["errnoRet"] = **errno_ret;
  auto args = json_fields::optional_array(r, "args", path);
  if (!args.ok()) return std::move(args).take_error();
  if (*args != nullptr && !(*args)->empty()) {
    if ((*args)->size() > 6)
      return invalid("field '" + json_fields::child(path, "args") + "'", "more than 6 arguments");
    Json out_args = Json::array();
    for (size_t i = 0; i < (*args)->size(); ++i) {
      auto a = parse_arg((**args)[i], json_fields::element(json_fields::child(path, "args"), i));
      if (!a.ok()) return std::move(a).take_error();
      out_args.push_back(std::move(*a));
    }
    out["args"] = std::move(out_args);
  }
  return out;
}

Result<Json> parse_profile(const Json& doc) {
  if (!doc.is_object()) return json_fields::wrong_type("(document)", "an object", doc);
  if (doc.contains("listenerPath") && !doc["listenerPath"].is_null()) {
    return invalid("field 'listenerPath'", "seccomp notification agents are not supported in zones");
  }
  Json out = Json::object();
  auto action = enum_member(doc, "defaultAction", "", kActions, true);
  if (!action.ok()) return std::move(action).take_error();
  out["defaultAction"] = *action;
  auto errno_ret = unsigned_member(doc, "defaultErrnoRet", "", UINT32_MAX);
  if (!errno_ret.ok()) return std::move(errno_ret).take_error();
  if (errno_ret->has_value()) out["defaultErrnoRet"] = **errno_ret;
  auto arches = enum_array(doc, "architectures", kArches);
  if (!arches.ok()) return std::move(arches).take_error();
  if (!arches->empty()) out["architectures"] = *arches;
  auto flags = enum_array(doc, "flags", kFlags);
  if (!flags.ok()) return std::move(flags).take_error();
  if (!flags->empty()) out["flags"] = *flags;
  auto rules = json_fields::optional_array(doc, "syscalls", "");
  if (!rules.ok()) return std::move(rules).take_error();
  if (*rules != nullptr) {
    if ((*rules)->size() > kMaxRules) return invalid("field 'syscalls'", "more than 4096 rules");
    Json out_rules = Json::array();
    for (size_t i = 0; i < (*rules)->size(); ++i) {
      auto r = parse_rule((**rules)[i], json_fields::element("syscalls", i));
      if (!r.ok()) return std::move(r).take_error();
      out_rules.push_back(std::move(*r));
    }
    out["syscalls"] = std::move(out_rules);
  }
  return out;
}

}  // namespace

Result<Json> parse_seccomp_profile(std::string_view json) {
  if (json.size() > kMaxProfileBytes) return invalid("seccomp profile", "larger than 256 KiB");
  auto doc = json_fields::parse_document(json, "seccomp profile");
  if (!doc.ok()) return std::move(doc).take_error();
  auto profile = parse_profile(*doc);
  if (!profile.ok()) return std::move(profile).take_error().wrap("seccomp profile");
  return profile;
}

}  // namespace spec_internal

std::string default_seccomp_profile_json(const std::vector<std::string>& bounding_caps) {
  return spec_internal::default_seccomp_profile(bounding_caps).dump();
}

Result<std::string> normalize_seccomp_profile(std::string_view json) {
  auto profile = spec_internal::parse_seccomp_profile(json);
  if (!profile.ok()) return std::move(profile).take_error();
  return profile->dump();
}

}  // namespace zoned::oci
