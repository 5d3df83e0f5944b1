// The registry client: distribution API v2 over HTTP(S), with token/basic auth, mirrors,
// insecure hosts, redirects and retries.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "zoned/common/result.h"
#include "zoned/oci/descriptor.h"
#include "zoned/oci/reference.h"

namespace zoned::oci {

// Credentials as CRI's AuthConfig carries them. All optional.
struct Credentials {
  std::string username;
  std::string password;
  std::string auth;            // base64("user:password"), an alternative to username/password
  std::string identity_token;  // OAuth2 refresh token, exchanged at the token endpoint
  std::string registry_token;  // a bearer token to send as is
};

// Per-registry settings from the daemon's config ([registries."host"]).
struct RegistryHostSettings {
  std::vector<std::string> mirrors;   // base URLs tried in order before the registry itself
  bool plain_http = false;            // the registry itself speaks HTTP
  bool insecure_skip_verify = false;  // HTTPS without certificate verification
};

struct RegistryClientOptions {
  std::map<std::string, RegistryHostSettings> hosts;  // key: registry host as in references
  int max_attempts = 4;                               // per request, with exponential backoff on transient failures
  int connect_timeout_seconds = 15;
  int low_speed_timeout_seconds = 60;  // abort when below 1 KiB/s for this long
  size_t max_manifest_bytes = 4 * 1024 * 1024;
  // Backoff before retry n (1-based): retry_base_delay_ms * 2^(n-1), capped at
  // retry_max_delay_ms, with jitter (50-100%). A Retry-After header can lengthen it up to the cap.
  int retry_base_delay_ms = 200;
  int retry_max_delay_ms = 10000;
  int request_timeout_seconds = 120;  // overall limit for manifest and token requests (not blobs)
  size_t max_token_response_bytes = 1024 * 1024;
};

// A manifest (never an index: indexes are resolved to the platform's manifest) as fetched.
struct ResolvedManifest {
  Digest digest;  // digest of `bytes`, verified
  std::string media_type;
  std::string bytes;
  std::string endpoint;  // base URL that served it (mirror or registry), for messages
};

// Receives a blob's bytes in order. Returning an error aborts the transfer.
// When a transfer is retried from the start, `restart` is called first.
struct BlobSink {
  std::function<Status(const char* data, size_t size)> write;
  std::function<Status()> restart;
};

class RegistryClient {
 public:
  virtual ~RegistryClient() = default;
  // Resolves a tag or digest to the manifest for `platform` (following an index if needed).
  virtual Result<ResolvedManifest> resolve(const Reference& ref, const Credentials& creds,
                                           const Platform& platform) = 0;
  // Streams a blob of the image's repository (config or layer) into the sink. The sink verifies
  // the digest (the content store does it while writing); the client enforces the descriptor's
  // size: a body longer than `blob.size` is cut off with an error, a shorter one is an error.
  virtual Status fetch_blob(const Reference& ref, const Descriptor& blob, const Credentials& creds, BlobSink& sink) = 0;
};

}  // namespace zoned::oci
