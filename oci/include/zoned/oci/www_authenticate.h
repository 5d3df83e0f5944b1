// WWW-Authenticate challenges (RFC 9110 section 11.6.1), as registries send them on 401:
//   Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"
//   Basic realm="Registry Realm"
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace zoned::oci {

struct AuthChallenge {
  std::string scheme;                         // lower-cased: "bearer", "basic"
  std::map<std::string, std::string> params;  // keys lower-cased, quoted values unescaped
  std::string token68;                        // the rare token68 form ("Negotiate abc=="), else empty
};

// Parses one header value, which may hold several challenges separated by commas. Tolerant of
// extra whitespace and empty list elements; a malformed tail ends parsing (challenges read so
// far are kept). Never throws, never reads past the input.
std::vector<AuthChallenge> parse_www_authenticate(std::string_view header_value);

}  // namespace zoned::oci
