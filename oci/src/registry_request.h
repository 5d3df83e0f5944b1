// One logical GET against a registry endpoint: authentication challenges, redirects (dropping
// the Authorization header when they leave the endpoint's origin) and retries with backoff
// on transient failures. Internal.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http_transport.h"
#include "registry_auth.h"
#include "registry_endpoints.h"
#include "zoned/oci/registry_client.h"

namespace zoned::oci {

struct RegistryGet {
  std::string path;       // "/v2/<repository>/manifests/<reference>"
  std::string what;       // for messages: "manifest library/busybox:latest"
  std::string not_found;  // message for 404: "manifest unknown"
  std::vector<std::string> headers;
  size_t max_body_bytes = 1024 * 1024;
  bool time_limited = true;  // apply request_timeout_seconds (not for blobs)
  int max_attempts = 1;
  // Receives a streamed 2xx body; an error from it ends the request without retries.
  std::function<Status(const char* data, size_t size)> stream;
  // Checks a 2xx response; an Unavailable error from it is retried like a transport failure.
  std::function<Status(const http::Response& response)> check;
  // Runs before each retry (to restart a blob sink); an error from it ends the request.
  std::function<Status()> before_retry;
};

class RegistryRequester {
 public:
  RegistryRequester(http::Transport& transport, Authenticator& auth, const RegistryClientOptions& options);

  // The final 2xx response, or an Error whose message starts with the endpoint and `what`.
  Result<http::Response> get(const Endpoint& endpoint, std::string_view repository, const Credentials& creds,
                             const RegistryGet& get);

 private:
  struct Attempt;
  Result<http::Response> attempt(Attempt& a);
  Result<http::Response> perform_hop(Attempt& a, const std::string& url);

  http::Transport& transport_;
  Authenticator& auth_;
  const RegistryClientOptions& options_;
};

}  // namespace zoned::oci
