// Media type helpers shared by the manifest parsers and the registry client. Internal.
#pragma once

#include <string>
#include <string_view>

#include "json_fields.h"
#include "zoned/common/result.h"

namespace zoned::oci::media_types {

// "application/json; charset=utf-8" -> "application/json" (lower-cased, trimmed).
std::string bare(std::string_view content_type);

// Content types that say nothing about the document (registries serving files as is).
bool is_generic(std::string_view media_type);

bool is_docker_schema1(std::string_view media_type);
Error schema1_error();

// Checks schemaVersion == 2 and works out the document's media type from the Content-Type
// (`given`) and its own mediaType field, which must agree when both are present.
// `fallback` is used when neither says anything.
Result<std::string> resolve(const json_fields::Json& doc, std::string_view given, std::string_view fallback);

}  // namespace zoned::oci::media_types
