// Annotations and labels zoned itself sets (users' own ones with these keys are dropped or
// refused by the daemon).
#pragma once

namespace zoned {

// The pod's sysctls (net.*, IPC), a JSON object of name -> value. They belong to the zone's own
// network and IPC namespaces, which the pod's containers share: the agent writes them to
// /proc/sys before the container is created and removes the annotation from the spec.
inline constexpr char kZoneSysctlsAnnotation[] = "io.zoned.zone-sysctls";

// The zone label that marks a zone made by the CRI runtime for a pod sandbox (value "true"). A
// zone with it but without a CRI record was left by a daemon that died inside RunPodSandbox;
// the restarted daemon removes it. The admin API refuses zone labels under "io.zoned.".
inline constexpr char kCriSandboxZoneLabel[] = "io.zoned.cri-sandbox";
inline constexpr char kReservedLabelPrefix[] = "io.zoned.";

}  // namespace zoned
