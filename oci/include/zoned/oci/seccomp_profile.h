// Seccomp profiles for config.json: the RuntimeDefault profile (containerd's / Docker's default
// allowlist, written as data in seccomp_profile.cc) and validation of Localhost profiles.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "zoned/common/result.h"

namespace zoned::oci {

// The RuntimeDefault profile as OCI LinuxSeccomp JSON for a process whose bounding capability
// set is `bounding_caps` ("CAP_SYS_ADMIN" opens mount/unshare/setns/clone with namespace flags,
// "CAP_SYS_PTRACE" process_vm_*, ...): defaultAction SCMP_ACT_ERRNO, architectures x86_64, x86
// and x32, an allowlist of syscalls, and clone3 failing with ENOSYS without CAP_SYS_ADMIN.
std::string default_seccomp_profile_json(const std::vector<std::string>& bounding_caps);

// Validates a Localhost profile (an OCI LinuxSeccomp object: defaultAction, architectures,
// syscalls[{names, action, errnoRet, args}], ...) and returns it, compact, with only the fields
// the OCI runtime spec defines (like containerd, which decodes the file into that struct).
// Anything else is InvalidArgument naming the field ("seccomp profile: field
// 'syscalls[3].action' must be one of SCMP_ACT_..., not \"ALLOW\"").
Result<std::string> normalize_seccomp_profile(std::string_view json);

}  // namespace zoned::oci
