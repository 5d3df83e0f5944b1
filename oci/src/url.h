// URL helpers over libcurl's URL API: origins, relative Location resolution, query encoding.
// Internal.
#pragma once

#include <string>
#include <string_view>

#include "zoned/common/result.h"

namespace zoned::oci::url {

struct Parts {
  std::string scheme;  // "http" or "https", lower-case
  std::string host;    // without brackets for IPv6
  std::string port;    // always set ("443" when defaulted)
  // "host" or "host:port" as written in configs and references (port only when explicit).
  std::string authority;
};

// Parses an absolute http(s) URL; other schemes are InvalidArgument.
Result<Parts> parse(std::string_view url);

// "scheme://host:port", for deciding whether credentials may follow a redirect.
Result<std::string> origin(std::string_view url);

// Resolves a Location header value (absolute or relative) against the request URL.
Result<std::string> resolve(std::string_view base, std::string_view location);

// Percent-encodes everything but RFC 3986 unreserved characters.
std::string escape(std::string_view text);

// Appends "key=value" pairs (already escaped) to a URL that may have a query already.
std::string with_query(std::string_view base, std::string_view query);

}  // namespace zoned::oci::url
