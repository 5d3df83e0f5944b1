// Turning registry HTTP responses into Errors. Internal.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "http_transport.h"
#include "zoned/common/result.h"

namespace zoned::oci {

// The registry's own error text from a distribution-spec body
// ({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}), or a short printable
// prefix of a non-JSON body; at most ~300 characters, control characters removed.
std::string registry_error_text(std::string_view body);

// Maps a non-2xx response to an Error: 401/403 PermissionDenied, 404 NotFound (with
// `not_found` as the message, e.g. "manifest unknown"), 408/429/5xx Unavailable, other
// statuses InvalidArgument. The message is "<context>: <what> (HTTP <status>: <registry text>)".
Error status_error(const http::Response& response, std::string_view context, std::string_view not_found);

// Whole seconds from a Retry-After header, when it holds a small non-negative number.
std::optional<int> retry_after_seconds(const http::Response& response);

}  // namespace zoned::oci
