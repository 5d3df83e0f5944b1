// Where to send a registry's requests: its mirrors in order, then the registry itself. Internal.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "zoned/oci/registry_client.h"

namespace zoned::oci {

struct Endpoint {
  std::string base_url;  // "https://registry-1.docker.io" (no trailing slash, no /v2)
  std::string label;     // for messages: "registry docker.io (https://registry-1.docker.io)"
  bool verify_tls = true;
  bool is_mirror = false;
  // Whether the caller's credentials may be sent here. They are meant for the registry, so a
  // mirror on another host gets anonymous requests only.
  bool send_credentials = true;
};

// The host that serves a registry name: docker.io is served by registry-1.docker.io.
std::string registry_api_host(std::string_view registry);

// Mirrors (skipping malformed URLs with a warning), then the registry.
std::vector<Endpoint> endpoints_for(const RegistryClientOptions& options, std::string_view registry);

// Whether TLS must be verified for a URL: yes unless its host[:port] is configured
// insecure_skip_verify (used for token realms and redirect targets too).
bool verify_tls_for(const RegistryClientOptions& options, std::string_view url);

}  // namespace zoned::oci
