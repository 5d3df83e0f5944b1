// Pending stream requests by token: random (128 bits, hex), single use, expiring, bounded.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <variant>

#include "zoned/common/result.h"
#include "zoned/streaming/server.h"

namespace zoned::streaming {

struct PendingExec {
  ExecRequest request;
  ExecStreams streams;
};
struct PendingAttach {
  AttachRequest request;
  ExecStreams streams;
};
struct PendingPortForward {
  std::string pod_sandbox_id;
};
using PendingRequest = std::variant<PendingExec, PendingAttach, PendingPortForward>;

class TokenCache {
 public:
  using Clock = std::chrono::steady_clock;
  TokenCache(std::chrono::milliseconds ttl, size_t capacity) : ttl_(ttl), capacity_(capacity) {}

  // A new token; kResourceExhausted when `capacity` unexpired requests are pending.
  Result<std::string> insert(PendingRequest request);
  // Removes and returns the request: a token works once. Expired ones are gone.
  std::optional<PendingRequest> consume(const std::string& token);
  size_t size();

 private:
  void evict_expired(Clock::time_point now);

  struct Entry {
    PendingRequest request;
    Clock::time_point expires;
  };
  std::chrono::milliseconds ttl_;
  size_t capacity_;
  std::mutex mu_;
  std::map<std::string, Entry> entries_;
};

}  // namespace zoned::streaming
