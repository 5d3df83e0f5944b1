// Answers registry authentication challenges (Bearer token flow or Basic) and caches the
// resulting Authorization values per (endpoint, repository scope, credentials). Internal.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "http_transport.h"
#include "registry_endpoints.h"
#include "token_cache.h"
#include "zoned/oci/registry_client.h"

namespace zoned::oci {

class Authenticator {
 public:
  Authenticator(http::Transport& transport, const RegistryClientOptions& options);

  // The Authorization value to send before any challenge: the caller's registry_token, a cached
  // token or basic credentials, or empty.
  Result<std::string> initial(const Endpoint& endpoint, std::string_view repository, const Credentials& creds);

  // After a 401 carrying `challenges` (the WWW-Authenticate header values): obtains the
  // Authorization value to retry with, and caches it.
  Result<std::string> answer(const Endpoint& endpoint, std::string_view repository, const Credentials& creds,
                             const std::vector<std::string>& challenges);

 private:
  std::string cache_key(const Endpoint& endpoint, std::string_view repository, const Credentials& creds) const;

  http::Transport& transport_;
  const RegistryClientOptions& options_;
  TokenCache cache_;
};

}  // namespace zoned::oci
