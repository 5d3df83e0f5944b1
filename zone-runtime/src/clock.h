// The wall clock in nanoseconds since the Unix epoch (record times, CRI log timestamps).
#pragma once

#include <time.h>

#include <cstdint>

namespace zoned::zone_runtime {

inline int64_t now_unix_ns() {
  struct timespec ts {};
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace zoned::zone_runtime
