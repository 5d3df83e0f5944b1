// The bearer token exchange of the distribution token spec: GET realm?service=&scope= (with
// basic credentials, or anonymous), or POST grant_type=refresh_token for identity tokens.
// Internal.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "http_transport.h"
#include "zoned/oci/registry_client.h"

namespace zoned::oci {

struct TokenResponse {
  std::string token;
  int64_t expires_in_seconds = 60;
};

// Reads "token" (or "access_token") and "expires_in" (default and minimum 60 s, as the spec
// says). The token must be non-empty visible ASCII so it cannot inject header lines.
Result<TokenResponse> parse_token_response(std::string_view body);

// "Basic <base64(user:password)>" from username/password, or from `auth` (which must decode to
// "user:password"); empty when the credentials hold neither.
Result<std::string> basic_authorization(const Credentials& creds);

// True when a header value is safe to send: non-empty, visible ASCII only.
bool is_safe_header_value(std::string_view value);

struct TokenRequest {
  std::string realm;    // absolute http(s) URL from the challenge
  std::string service;  // may be empty
  std::string scope;    // "repository:library/busybox:pull"
  // Credentials to present; empty ones ask for an anonymous token.
  Credentials creds;
};

Result<TokenResponse> fetch_token(http::Transport& transport, const RegistryClientOptions& options,
                                  const TokenRequest& request);

}  // namespace zoned::oci
