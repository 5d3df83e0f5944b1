// Defensive readers for JSON documents from the network: every accessor checks the type and
// names the field ("layers[2].size") in its error. Internal to the oci module.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "zoned/common/result.h"

namespace zoned::oci::json_fields {

using Json = nlohmann::json;

// Parses text into a JSON document; malformed JSON is InvalidArgument naming `what`.
Result<Json> parse_document(std::string_view text, std::string_view what);

// "<what>: field '<path>' must be <expected>, not <actual type>".
Error wrong_type(std::string_view path, std::string_view expected, const Json& actual);
Error missing(std::string_view path);

// Joins a parent path and a key: ("config", "digest") -> "config.digest".
std::string child(std::string_view parent, std::string_view key);
std::string element(std::string_view parent, size_t index);

// Accessors on an object member. `optional_*` give the default when the member is missing
// or null; `required_*` fail when it is missing.
Result<std::string> required_string(const Json& obj, std::string_view key, std::string_view path);
Result<std::string> optional_string(const Json& obj, std::string_view key, std::string_view path);
Result<int64_t> required_non_negative(const Json& obj, std::string_view key, std::string_view path);
Result<std::vector<std::string>> optional_string_array(const Json& obj, std::string_view key, std::string_view path);
Result<std::map<std::string, std::string>> optional_string_map(const Json& obj, std::string_view key,
                                                               std::string_view path);
// The member as an array/object (nullptr when missing or null and not required).
Result<const Json*> optional_array(const Json& obj, std::string_view key, std::string_view path);
Result<const Json*> required_array(const Json& obj, std::string_view key, std::string_view path);
Result<const Json*> optional_object(const Json& obj, std::string_view key, std::string_view path);
Result<const Json*> required_object(const Json& obj, std::string_view key, std::string_view path);

}  // namespace zoned::oci::json_fields
