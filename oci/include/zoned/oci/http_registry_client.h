// HttpRegistryClient: the RegistryClient over the distribution API v2, on libcurl.
//
//   oci::RegistryClientOptions options;
//   options.hosts["127.0.0.1:5000"].plain_http = true;
//   oci::HttpRegistryClient client(options);
//   auto manifest = client.resolve(ref, creds, oci::host_platform());
//
// Endpoints: the registry's configured mirrors in order, then the registry itself (docker.io is
// served by registry-1.docker.io). A mirror gets one attempt; any failure of it (unreachable,
// 404, 5xx, bad content) falls through to the next endpoint. Mirrors on other hosts than the
// registry are asked anonymously: the caller's credentials are meant for the registry.
// HTTPS with the system CA store unless the host is configured plain_http (or a mirror URL
// starts with http://); insecure_skip_verify turns verification off for that host only.
//
// Requests to the registry are retried with exponential backoff on transient failures
// (connection refused/reset, timeouts, truncated transfers, 408, 429, 5xx), never on other 4xx
// or on bad content. Auth: on 401 the WWW-Authenticate challenge is answered (Bearer token
// service: anonymous, basic credentials, or refresh_token for identity tokens; or Basic), and
// the result cached per (endpoint, repository, credentials) until it expires. Redirects are
// followed (at most 5); the Authorization header is only sent to the endpoint's own origin.
//
// Errors: 401/403 PermissionDenied, 404 NotFound ("manifest unknown", "blob unknown"),
// 429/5xx/network Unavailable, bad or mismatching content InvalidArgument, Docker schema 1
// Unimplemented. Messages name the endpoint, the repository and the cause, including the
// registry's own error text (truncated).
//
// Thread-safe: one client is meant to be shared by concurrent pulls.
#pragma once

#include <memory>

#include "zoned/oci/registry_client.h"

namespace zoned::oci {

class HttpRegistryClient final : public RegistryClient {
 public:
  explicit HttpRegistryClient(RegistryClientOptions options);
  ~HttpRegistryClient() override;
  HttpRegistryClient(const HttpRegistryClient&) = delete;
  HttpRegistryClient& operator=(const HttpRegistryClient&) = delete;

  // Fetches by digest when the reference has one (the bytes must hash to it), else by tag (the
  // digest is computed, and must match Docker-Content-Digest when the registry sends it). An
  // index is resolved to `platform`'s manifest, fetched by digest and verified.
  Result<ResolvedManifest> resolve(const Reference& ref, const Credentials& creds, const Platform& platform) override;

  // Streams the blob into the sink; at most `blob.size` bytes reach it. When a transfer is cut
  // and retried (or continues at the next endpoint) after bytes were written, sink.restart is
  // called first. Errors returned by the sink end the fetch and are returned unchanged.
  Status fetch_blob(const Reference& ref, const Descriptor& blob, const Credentials& creds, BlobSink& sink) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace zoned::oci
