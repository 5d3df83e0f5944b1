#include "backoff.h"

#include <algorithm>
#include <random>

namespace zoned::oci {

std::chrono::milliseconds backoff_delay(const RegistryClientOptions& options, int retry,
                                        std::optional<int> retry_after_seconds) {
  thread_local std::minstd_rand rng{std::random_device{}()};
  int64_t cap = std::max(0, options.retry_max_delay_ms);
  int64_t delay = std::max(0, options.retry_base_delay_ms);
  for (int i = 1; i < retry && delay < cap; ++i) delay *= 2;
  delay = std::min(delay, cap);
  std::uniform_int_distribution<int64_t> jitter(delay / 2, delay);
  delay = jitter(rng);
  if (retry_after_seconds)
    delay = std::max<int64_t>(delay, std::min<int64_t>(*retry_after_seconds * int64_t{1000}, cap));
  return std::chrono::milliseconds(delay);
}

}  // namespace zoned::oci
