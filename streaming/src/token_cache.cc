#include "token_cache.h"

#include "websocket.h"

namespace zoned::streaming {

Result<std::string> TokenCache::insert(PendingRequest request) {
  unsigned char raw[16];
  ZONED_TRY(ws::random_bytes(raw, sizeof(raw)));
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token;
  for (unsigned char c : raw) {
    token.push_back(kHex[c >> 4]);
    token.push_back(kHex[c & 0xf]);
  }
  const auto now = Clock::now();
  std::lock_guard lock(mu_);
  evict_expired(now);
  if (entries_.size() >= capacity_) {
    return Error(ErrorCode::kResourceExhausted,
                 "too many pending streaming requests (" + std::to_string(capacity_) + ")");
  }
  entries_.emplace(token, Entry{std::move(request), now + ttl_});
  return token;
}

std::optional<PendingRequest> TokenCache::consume(const std::string& token) {
  std::lock_guard lock(mu_);
  evict_expired(Clock::now());
  auto it = entries_.find(token);
  if (it == entries_.end()) return std::nullopt;
  PendingRequest request = std::move(it->second.request);
  entries_.erase(it);
  return request;
}

size_t TokenCache::size() {
  std::lock_guard lock(mu_);
  evict_expired(Clock::now());
  return entries_.size();
}

void TokenCache::evict_expired(Clock::time_point now) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    it = it->second.expires <= now ? entries_.erase(it) : std::next(it);
  }
}

}  // namespace zoned::streaming
