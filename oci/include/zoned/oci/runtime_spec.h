// OCI runtime spec (config.json) generation for a container of a pod, for crun in the zone.
//
// The zone is the pod: its containers share the zone's network, IPC and UTS namespaces, so the
// spec creates none of those; it creates mount, pid (unless the pod shares its process
// namespace) and cgroup (unless privileged) namespaces. The rules follow containerd 1.6's CRI
// plugin; oci/README.md lists them and where this differs.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "zoned/common/result.h"
#include "zoned/oci/manifest.h"

namespace zoned::oci {

// A mount as it appears in config.json. Paths are the zone's (the daemon translates CRI host
// paths). An empty `type` means "bind"; a bind mount without "bind"/"rbind" gets "rbind".
struct Mount {
  std::string destination;
  std::string type;
  std::string source;
  std::vector<std::string> options;
};

enum class SeccompMode { kUnconfined, kRuntimeDefault, kLocalhost };

// process.rlimits entry, e.g. {"RLIMIT_NOFILE", 1048576, 1048576}.
struct Rlimit {
  std::string type;
  uint64_t soft = 0;
  uint64_t hard = 0;
};

struct ContainerSpecInput {
  std::vector<std::string> command;  // CRI command: replaces the image entrypoint (the image cmd is then dropped)
  std::vector<std::string> args;     // CRI args: replace the image cmd
  std::vector<std::pair<std::string, std::string>> env;  // over the image env (same key: ours wins), order kept
  std::string working_dir;                               // empty: the image's, else "/"

  std::optional<int64_t> run_as_user;
  std::optional<int64_t> run_as_group;  // needs run_as_user or run_as_username
  std::string run_as_username;          // wins over run_as_user
  std::vector<int64_t> supplemental_groups;

  std::vector<std::string> add_capabilities;   // "NET_ADMIN" or "CAP_NET_ADMIN", any case; "ALL"
  std::vector<std::string> drop_capabilities;  // applied after the additions
  bool privileged = false;  // inside the zone only: all caps, no seccomp, no masked/readonly paths, rw /sys
  bool readonly_rootfs = false;
  bool no_new_privileges = false;
  std::optional<std::vector<std::string>> masked_paths;    // nullopt: containerd's defaults
  std::optional<std::vector<std::string>> readonly_paths;  // nullopt: containerd's defaults

  SeccompMode seccomp = SeccompMode::kRuntimeDefault;
  std::string seccomp_localhost_json;  // the profile's content (OCI LinuxSeccomp JSON) for kLocalhost
  std::string apparmor_profile;        // ignored with a warning: zones have no AppArmor

  bool tty = false;
  bool stdin = false;    // not part of config.json (the agent's stdio wiring); kept for callers' convenience
  std::string hostname;  // the pod's: only the HOSTNAME variable (the zone's UTS namespace has it)
  bool share_pid_namespace = false;
  std::vector<Mount> extra_mounts;  // replace default mounts with the same destination (and all of /dev/* for /dev)

  struct Resources {
    int64_t cpu_period = 0;          // 0: unset; else 1000..1000000 (us)
    int64_t cpu_quota = 0;           // 0: unset; -1: unlimited; else >= 1000 (us)
    int64_t cpu_shares = 0;          // 0: unset; else 2..262144 (crun converts to cpu.weight)
    int64_t memory_limit_bytes = 0;  // 0: unset
    int64_t pids_limit = 0;          // 0: unset; -1: unlimited
    int64_t oom_score_adj = 0;       // -1000..1000, always set
    std::string cpuset_cpus;
    std::string cpuset_mems;
    std::map<std::string, std::string> unified;  // cgroup v2 files, "memory.high" -> "1G"
  } resources;

  std::vector<Rlimit> rlimits;  // empty: none in the spec (inherited from the agent), as containerd's CRI

  // Pod sysctls: validated (namespaced ones only) and returned in GeneratedSpec::zone_sysctls,
  // never written into linux.sysctl (crun refuses net.* and IPC sysctls without a namespace of
  // the container's own, and they belong to the zone anyway). The spec carries them to the
  // agent in the kZoneSysctlsAnnotation annotation (zoned/common/zone_annotations.h).
  std::map<std::string, std::string> sysctls;
  std::map<std::string, std::string> annotations;
  std::string cgroups_path;  // "/zoned/<container id>" (default_cgroups_path); empty: crun's default
};

struct GeneratedSpec {
  std::string config_json;  // ociVersion "1.0.2"; root.path "rootfs" (the agent replaces it)
  // Set when the user is a name the agent must resolve in the container's /etc/passwd (uid, and
  // gid unless a group is given) and /etc/group; the spec then holds uid/gid 0 for those parts.
  std::string username;
  std::string groupname;
  // The user is a bare uid: the agent sets the gid to that uid's primary group in the
  // container's /etc/passwd when the uid is listed there (else it stays 0), as containerd does.
  bool gid_from_passwd = false;
  std::vector<std::pair<std::string, std::string>> zone_sysctls;  // validated pod sysctls
  std::vector<std::string> warnings;                              // things accepted but not applied (AppArmor, ...)
};

// Builds config.json for one container. Bad input of any kind is InvalidArgument naming the
// field ("capabilities: unknown capability \"CAP_FOO\" in add_capabilities"); an image without
// a command and no CRI command/args is InvalidArgument "no command specified".
Result<GeneratedSpec> generate_runtime_spec(const ImageConfig& image, const ContainerSpecInput& input);

// The OCI LinuxResources object `crun update --resources` takes (cpu, memory, pids, unified),
// checked like the same fields of generate_runtime_spec. oom_score_adj is not part of it.
Result<std::string> update_resources_json(const ContainerSpecInput::Resources& resources);

// "/zoned/<container id>".
std::string default_cgroups_path(std::string_view container_id);

// A pod sysctl is accepted when its name is well formed and namespaced (net.*, kernel.shm*,
// kernel.msg*, kernel.sem, fs.mqueue.*; dots or slashes as separators) and its value is a short
// single line. For RunPodSandbox, which applies them to the zone.
Status validate_pod_sysctl(std::string_view name, std::string_view value);

// The default capability set of containerd and Docker ("CAP_CHOWN", ... 14 names), and every
// capability a zone's kernel (Linux 6.1) knows, in number order.
const std::vector<std::string>& default_capabilities();
const std::vector<std::string>& all_capabilities();

}  // namespace zoned::oci
