// The agent's edits to OCI runtime specs: the container's config.json (from the daemon's
// bytes) and the process.json of an exec.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "idm.pb.h"
#include "zoned/common/result.h"

namespace zoned::agent {

struct ContainerSpec {
  std::string config_json;   // what goes to <bundle>/config.json
  std::string process_json;  // its "process" object, the base of every exec's process.json
  bool terminal = false;     // process.terminal
  // The pod's sysctls from the kZoneSysctlsAnnotation annotation (removed from config_json):
  // path under /proc/sys ("kernel/shm_rmid_forced") -> value.
  std::vector<std::pair<std::string, std::string>> zone_sysctls;
};

// From the daemon's config.json: root.path becomes `rootfs` (absolute), linux.cgroupsPath
// becomes `cgroups_path` (so stats know where to look), and when `username`/`groupname` are
// set, process.user gets the uid/gid resolved in the rootfs plus the user's supplementary
// groups. Malformed JSON or a spec without a process object, or a malformed sysctl annotation:
// kInvalidArgument.
Result<ContainerSpec> make_container_spec(std::string_view daemon_config, const std::string& rootfs,
                                          const std::string& cgroups_path, std::string_view username,
                                          std::string_view groupname);

// The process.json for an exec: the container's process with args and terminal replaced, env
// entries added (a KEY given by the exec replaces the container's), cwd and user when given
// (user as "uid[:gid]" or a name resolved in `rootfs`).
Result<std::string> make_exec_process(const std::string& container_process_json, const idm::v1::ExecStart& exec,
                                      const std::string& rootfs);

}  // namespace zoned::agent
