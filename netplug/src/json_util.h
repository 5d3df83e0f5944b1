// Bounded JSON parsing for netplug (private): size and nesting depth are checked before
// nlohmann-json sees the text, so hostile input cannot exhaust memory or the stack.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "zoned/common/result.h"

namespace zoned::netplug::detail {

inline constexpr size_t kMaxJsonDepth = 64;

// Parses `text` (what: "CNI result", "config file x") into an object.
Result<nlohmann::json> parse_json_object(std::string_view text, size_t max_bytes, std::string_view what);

// Field accessors that check types; a missing optional field gives the default.
Result<std::string> string_field(const nlohmann::json& obj, const char* key, bool required);
Result<std::vector<std::string>> string_array_field(const nlohmann::json& obj, const char* key, size_t max_items);

// "10.1.2.3" -> 4, "fd00::1" -> 6, anything else -> nullopt.
std::optional<int> ip_family(const std::string& address);

}  // namespace zoned::netplug::detail
