// Annotations zoned itself puts into a container's config.json for the zone agent (users' own
// annotations with these keys are dropped by the daemon).
#pragma once

namespace zoned {

// The pod's sysctls (net.*, IPC), a JSON object of name -> value. They belong to the zone's own
// network and IPC namespaces, which the pod's containers share: the agent writes them to
// /proc/sys before the container is created and removes the annotation from the spec.
inline constexpr char kZoneSysctlsAnnotation[] = "io.zoned.zone-sysctls";

}  // namespace zoned
