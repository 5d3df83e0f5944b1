// CRI ContainerConfig (+ the pod's config) -> zone_runtime::ContainerSpec with its OCI input:
// command/args, env, working dir, the security context (users, groups, capabilities,
// privileged inside the zone, read-only root, no_new_privs, masked/read-only paths, seccomp),
// pod sysctls and hostname, resources, tty/stdin. Mounts and devices from the host cannot be
// served by a zone yet: they are refused with a message naming them. Internal header.
#pragma once

#include <string>

#include "api.pb.h"
#include "zoned/common/result.h"
#include "zoned/zone_runtime/zone_manager.h"

namespace zoned::cri {

// A Localhost seccomp profile is read from the node (bounded); larger ones are refused.
inline constexpr size_t kMaxSeccompProfileBytes = 1024 * 1024;

// `log_path`: absolute or empty (ZoneManager's default place).
Result<zone_runtime::ContainerSpec> translate_container(const runtime::v1::ContainerConfig& config,
                                                        const runtime::v1::PodSandboxConfig& pod,
                                                        const std::string& sandbox_id, const std::string& log_path);

// LinuxContainerResources -> the OCI input's resources (at create and in UpdateContainerResources).
void apply_resources(const runtime::v1::LinuxContainerResources& resources, oci::ContainerSpecInput& in);

}  // namespace zoned::cri
