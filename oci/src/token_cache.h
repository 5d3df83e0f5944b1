// Authorization header values (bearer tokens, basic credentials) cached per endpoint, scope and
// credentials until they expire. Thread-safe and bounded. Internal.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace zoned::oci {

class TokenCache {
 public:
  using Clock = std::chrono::steady_clock;

  std::optional<std::string> get(const std::string& key);
  void put(const std::string& key, std::string authorization, Clock::time_point expiry);
  void erase(const std::string& key);

 private:
  struct Entry {
    std::string authorization;
    Clock::time_point expiry;
  };
  static constexpr size_t kMaxEntries = 1024;

  std::mutex mutex_;
  std::map<std::string, Entry> entries_;
};

}  // namespace zoned::oci
