#include "json_util.h"

#include <arpa/inet.h>

namespace zoned::netplug::detail {
namespace {

// Deepest nesting of [] and {} outside strings; stops counting past the limit.
bool depth_within(std::string_view text, size_t limit) {
  size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return false;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return true;
}

}  // namespace

Result<nlohmann::json> parse_json_object(std::string_view text, size_t max_bytes, std::string_view what) {
  if (text.size() > max_bytes) {
    return Error(ErrorCode::kInvalidArgument, std::string(what) + ": " + std::to_string(text.size()) +
                                                  " bytes, more than the limit of " + std::to_string(max_bytes));
  }
  if (!depth_within(text, kMaxJsonDepth)) {
    return Error(ErrorCode::kInvalidArgument, std::string(what) + ": JSON nested too deeply");
  }
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Error(ErrorCode::kInvalidArgument, std::string(what) + ": not valid JSON");
  if (!doc.is_object()) return Error(ErrorCode::kInvalidArgument, std::string(what) + ": not a JSON object");
  return doc;
}

Result<std::string> string_field(const nlohmann::json& obj, const char* key, bool required) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    if (required) return Error(ErrorCode::kInvalidArgument, std::string("missing \"") + key + "\"");
    return std::string();
  }
  if (!it->is_string()) return Error(ErrorCode::kInvalidArgument, std::string("\"") + key + "\" is not a string");
  return it->get<std::string>();
}

Result<std::vector<std::string>> string_array_field(const nlohmann::json& obj, const char* key, size_t max_items) {
  std::vector<std::string> out;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return out;
  if (!it->is_array()) return Error(ErrorCode::kInvalidArgument, std::string("\"") + key + "\" is not an array");
  if (it->size() > max_items) {
    return Error(ErrorCode::kInvalidArgument, std::string("\"") + key + "\" has too many entries");
  }
  for (const auto& item : *it) {
    if (!item.is_string()) {
      return Error(ErrorCode::kInvalidArgument, std::string("\"") + key + "\" has an entry that is not a string");
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

std::optional<int> ip_family(const std::string& address) {
  unsigned char buf[16];
  if (::inet_pton(AF_INET, address.c_str(), buf) == 1) return 4;
  if (::inet_pton(AF_INET6, address.c_str(), buf) == 1) return 6;
  return std::nullopt;
}

}  // namespace zoned::netplug::detail
