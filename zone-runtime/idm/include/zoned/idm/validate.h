// Semantic limits on IDM messages, applied by both sides to every decoded Envelope before
// acting on it (the framing layer only bounds the whole frame). A violation is a protocol
// error: the connection is dropped.
#pragma once

#include <cstddef>

#include "zoned/common/result.h"
#include "zoned/idm/frame.h"

namespace zoned::idm {

// Identifiers (container, exec ids; capability names): 1..kMaxIdBytes of [A-Za-z0-9_.-].
inline constexpr std::size_t kMaxIdBytes = 128;
inline constexpr std::size_t kMaxCapabilities = 64;
inline constexpr std::size_t kMaxVersionBytes = 128;
// Block device name inside the zone ("xvdb"): 1..kMaxDeviceBytes of [a-z0-9].
inline constexpr std::size_t kMaxDeviceBytes = 32;
inline constexpr std::size_t kMaxOciConfigBytes = 512 * 1024;
inline constexpr std::size_t kMaxArgs = 1024;
inline constexpr std::size_t kMaxEnv = 1024;
inline constexpr std::size_t kMaxArgOrEnvBytes = 32 * 1024;       // one argv or env entry
inline constexpr std::size_t kMaxArgvEnvTotalBytes = 256 * 1024;  // all args + env of one exec
inline constexpr std::size_t kMaxStreamChunkBytes = 256 * 1024;
inline constexpr std::size_t kMaxErrorMessageBytes = 4 * 1024;
inline constexpr std::size_t kMaxStatsEntries = 1024;
inline constexpr unsigned kMaxSignal = 64;
// ConfigureNetwork's JSON.
inline constexpr std::size_t kMaxNetworkConfigBytes = 64 * 1024;
inline constexpr std::size_t kMaxResourcesBytes = 64 * 1024;  // UpdateContainer.resources_json
// Port forwarding: the agent's first grant to the daemon, and the most either side may grant
// (outstanding) on one connection.
inline constexpr std::size_t kPortForwardInitialWindow = 256 * 1024;
inline constexpr std::size_t kMaxPortForwardWindow = 16 * 1024 * 1024;

// Ok if every field of `envelope` is within the limits above and its oneofs are set;
// otherwise kInvalidArgument naming the field ("request.exec_start.args[3]: ...").
Status validate(const Envelope& envelope);

}  // namespace zoned::idm
