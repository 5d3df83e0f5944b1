// Small helpers shared by the RuntimeService's files (internal header).
#pragma once

#include <google/protobuf/map.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "zoned/common/result.h"

namespace zoned::cri {

inline int64_t now_unix_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Every selector entry must be present with the same value (CRI label selectors are exact).
inline bool labels_match(const google::protobuf::Map<std::string, std::string>& labels,
                         const google::protobuf::Map<std::string, std::string>& selector) {
  for (const auto& [key, value] : selector) {
    auto it = labels.find(key);
    if (it == labels.end() || it->second != value) return false;
  }
  return true;
}

inline bool has_prefix(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// A metadata field (name, namespace, uid): required, bounded, one printable line without '/'.
inline Status check_metadata_field(std::string_view what, const std::string& value, bool required = true) {
  if (value.empty()) {
    if (!required) return ok_status();
    return Error(ErrorCode::kInvalidArgument, std::string(what) + " is empty");
  }
  if (value.size() > 253) return Error(ErrorCode::kInvalidArgument, std::string(what) + " is longer than 253 bytes");
  for (char c : value) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == '/') {
      return Error(ErrorCode::kInvalidArgument, std::string(what) + " \"" + value + "\" contains '/' or a control character");
    }
  }
  return ok_status();
}

// Our ids are 64 lower-case hex; callers may also pass a unique prefix.
inline bool plausible_id(const std::string& id) {
  return !id.empty() && id.size() <= 64 && id.find_first_not_of("0123456789abcdef") == std::string::npos;
}

}  // namespace zoned::cri
