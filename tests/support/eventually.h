// Polling for a condition that another thread, process or the kernel makes true a moment later.
#pragma once

#include <chrono>
#include <thread>

namespace zoned::testing {

// Whether `pred` holds within `timeout`, asking every 10 ms.
template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

}  // namespace zoned::testing
