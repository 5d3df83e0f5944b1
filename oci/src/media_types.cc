#include "media_types.h"

#include <algorithm>

#include "zoned/oci/descriptor.h"

namespace zoned::oci::media_types {

using json_fields::Json;

std::string bare(std::string_view content_type) {
  std::string_view s = content_type.substr(0, content_type.find(';'));
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
  return out;
}

bool is_generic(std::string_view mt) {
  return mt.empty() || mt == "application/json" || mt == "application/octet-stream" || mt == "text/plain";
}

bool is_docker_schema1(std::string_view mt) {
  return mt == "application/vnd.docker.distribution.manifest.v1+json" ||
         mt == "application/vnd.docker.distribution.manifest.v1+prettyjws";
}

Error schema1_error() {
  return Error(ErrorCode::kUnimplemented,
               "Docker image manifest schema 1 is not supported (deprecated since 2017); "
               "push the image again with a current client to get a schema 2 or OCI manifest");
}

namespace {

Status check_schema_version(const Json& doc) {
  auto it = doc.find("schemaVersion");
  if (it == doc.end()) return json_fields::missing("schemaVersion");
  if (!it->is_number_integer()) return json_fields::wrong_type("schemaVersion", "the integer 2", *it);
  auto version = it->get<int64_t>();
  if (version == 1) return schema1_error();
  if (version != 2) {
    return Error(ErrorCode::kInvalidArgument, "unsupported schemaVersion " + std::to_string(version) + " (expected 2)");
  }
  return ok_status();
}

}  // namespace

Result<std::string> resolve(const Json& doc, std::string_view given, std::string_view fallback) {
  if (!doc.is_object())
    return Error(ErrorCode::kInvalidArgument, std::string("document is a JSON ") + doc.type_name() + ", not an object");
  std::string from_header = bare(given);
  if (is_docker_schema1(from_header)) return schema1_error();
  ZONED_TRY(check_schema_version(doc));
  auto own = json_fields::optional_string(doc, "mediaType", "");
  if (!own.ok()) return std::move(own).take_error();
  if (is_docker_schema1(*own)) return schema1_error();
  if (!is_generic(from_header) && !own->empty() && *own != from_header) {
    return Error(ErrorCode::kInvalidArgument, "media type mismatch: served as '" + from_header.substr(0, 200) +
                                                  "' but the document says '" + own->substr(0, 200) + "'");
  }
  if (!is_generic(from_header)) return from_header;
  if (!own->empty()) return *own;
  return std::string(fallback);
}

}  // namespace zoned::oci::media_types
