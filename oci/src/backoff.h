// Retry delays: exponential backoff with jitter. Internal.
#pragma once

#include <chrono>
#include <optional>

#include "zoned/oci/registry_client.h"

namespace zoned::oci {

// The delay before retry `retry` (1 for the first retry): base * 2^(retry-1) capped at the
// maximum, scaled by a random factor in [0.5, 1]; at least `retry_after_seconds` when the
// server sent Retry-After, but never above the maximum.
std::chrono::milliseconds backoff_delay(const RegistryClientOptions& options, int retry,
                                        std::optional<int> retry_after_seconds);

}  // namespace zoned::oci
