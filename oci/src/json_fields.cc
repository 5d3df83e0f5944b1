#include "json_fields.h"

#include <limits>

namespace zoned::oci::json_fields {
namespace {

const Json* member(const Json& obj, std::string_view key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

}  // namespace

Result<Json> parse_document(std::string_view text, std::string_view what) {
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::exception& e) {
    return Error(ErrorCode::kInvalidArgument,
                 std::string(what) + ": malformed JSON: " + std::string(e.what()).substr(0, 200));
  }
}

Error wrong_type(std::string_view path, std::string_view expected, const Json& actual) {
  return Error(ErrorCode::kInvalidArgument,
               "field '" + std::string(path) + "' must be " + std::string(expected) + ", not " + actual.type_name());
}

Error missing(std::string_view path) {
  return Error(ErrorCode::kInvalidArgument, "required field '" + std::string(path) + "' is missing");
}

std::string child(std::string_view parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  return std::string(parent) + "." + std::string(key);
}

std::string element(std::string_view parent, size_t index) {
  return std::string(parent) + "[" + std::to_string(index) + "]";
}

Result<std::string> optional_string(const Json& obj, std::string_view key, std::string_view path) {
  const Json* v = member(obj, key);
  if (v == nullptr) return std::string();
  if (!v->is_string()) return wrong_type(child(path, key), "a string", *v);
  return v->get<std::string>();
}

Result<std::string> required_string(const Json& obj, std::string_view key, std::string_view path) {
  if (member(obj, key) == nullptr) return missing(child(path, key));
  return optional_string(obj, key, path);
}

Result<int64_t> required_non_negative(const Json& obj, std::string_view key, std::string_view path) {
  const Json* v = member(obj, key);
  if (v == nullptr) return missing(child(path, key));
  if (v->is_number_unsigned()) {
    auto u = v->get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Error(ErrorCode::kInvalidArgument, "field '" + child(path, key) + "' is out of range");
    }
    return static_cast<int64_t>(u);
  }
  if (v->is_number_integer()) {
    auto i = v->get<int64_t>();
    if (i < 0) return Error(ErrorCode::kInvalidArgument, "field '" + child(path, key) + "' must not be negative");
    return i;
  }
  return wrong_type(child(path, key), "a non-negative integer", *v);
}

Result<std::vector<std::string>> optional_string_array(const Json& obj, std::string_view key, std::string_view path) {
  std::vector<std::string> out;
  const Json* v = member(obj, key);
  if (v == nullptr) return out;
  std::string here = child(path, key);
  if (!v->is_array()) return wrong_type(here, "an array of strings", *v);
  for (size_t i = 0; i < v->size(); ++i) {
    const Json& item = (*v)[i];
    if (!item.is_string()) return wrong_type(element(here, i), "a string", item);
    out.push_back(item.get<std::string>());
  }
  return out;
}

Result<std::map<std::string, std::string>> optional_string_map(const Json& obj, std::string_view key,
                                                               std::string_view path) {
  std::map<std::string, std::string> out;
  const Json* v = member(obj, key);
  if (v == nullptr) return out;
  std::string here = child(path, key);
  if (!v->is_object()) return wrong_type(here, "an object of strings", *v);
  for (const auto& [k, item] : v->items()) {
    if (!item.is_string()) return wrong_type(child(here, k), "a string", item);
    out.emplace(k, item.get<std::string>());
  }
  return out;
}

Result<const Json*> optional_array(const Json& obj, std::string_view key, std::string_view path) {
  const Json* v = member(obj, key);
  if (v != nullptr && !v->is_array()) return wrong_type(child(path, key), "an array", *v);
  return v;
}

Result<const Json*> required_array(const Json& obj, std::string_view key, std::string_view path) {
  if (member(obj, key) == nullptr) return missing(child(path, key));
  return optional_array(obj, key, path);
}

Result<const Json*> optional_object(const Json& obj, std::string_view key, std::string_view path) {
  const Json* v = member(obj, key);
  if (v != nullptr && !v->is_object()) return wrong_type(child(path, key), "an object", *v);
  return v;
}

Result<const Json*> required_object(const Json& obj, std::string_view key, std::string_view path) {
  if (member(obj, key) == nullptr) return missing(child(path, key));
  return optional_object(obj, key, path);
}

}  // namespace zoned::oci::json_fields
