#include "token_cache.h"

#include <iterator>

namespace zoned::oci {

std::optional<std::string> TokenCache::get(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  if (Clock::now() >= it->second.expiry) {
    entries_.erase(it);
    return std::nullopt;
  }
  return it->second.authorization;
}

void TokenCache::put(const std::string& key, std::string authorization, Clock::time_point expiry) {
  std::lock_guard lock(mutex_);
  if (entries_.size() >= kMaxEntries && !entries_.contains(key)) {
    auto now = Clock::now();
    for (auto it = entries_.begin(); it != entries_.end();) {
      it = now >= it->second.expiry ? entries_.erase(it) : std::next(it);
    }
    if (entries_.size() >= kMaxEntries) entries_.clear();
  }
  entries_[key] = Entry{std::move(authorization), expiry};
}

void TokenCache::erase(const std::string& key) {
  std::lock_guard lock(mutex_);
  entries_.erase(key);
}

}  // namespace zoned::oci
