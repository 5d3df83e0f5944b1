#include "zoned/oci/http_registry_client.h"

#include "blob_fetch.h"
#include "http_transport.h"
#include "manifest_fetch.h"
#include "registry_auth.h"
#include "registry_endpoints.h"
#include "registry_request.h"
#include "zoned/common/log.h"

namespace zoned::oci {
namespace {

constexpr size_t kMaxMirrorNote = 300;

// References are plain structs that callers may fill in by hand: make sure the parts that go
// into URL paths are what Reference::parse would accept.
Status check_reference(const Reference& ref) {
  auto reparsed = Reference::parse(ref.str());
  if (!reparsed.ok() || reparsed->registry != ref.registry || reparsed->repository != ref.repository ||
      reparsed->tag != ref.tag || reparsed->digest != ref.digest) {
    return Error(ErrorCode::kInvalidArgument, "invalid image reference '" + ref.str().substr(0, 300) + "'");
  }
  if (ref.tag.empty() && !ref.digest) {
    return Error(ErrorCode::kInvalidArgument, "image reference '" + ref.str() + "' has neither tag nor digest");
  }
  return ok_status();
}

// Tries each endpoint in order. A mirror's failure falls through to the next endpoint (unless
// `stop` says the failure must end everything); the registry's failure is final, with the
// mirrors' failures noted.
template <typename T, typename Fn, typename Stop, typename Between>
Result<T> try_endpoints(const std::vector<Endpoint>& endpoints, Fn&& fn, Stop&& stop, Between&& between) {
  std::string mirror_notes;
  for (const Endpoint& e : endpoints) {
    Result<T> r = fn(e);
    if (r.ok() || !e.is_mirror || stop()) {
      if (r.ok() || mirror_notes.empty()) return r;
      Error err = std::move(r).take_error();
      return Error(err.code(), err.message() + " (mirrors failed first: " + mirror_notes + ")", err.sys_errno());
    }
    log::warn("registry mirror failed; trying the next endpoint",
              {{"endpoint", e.base_url}, {"error", r.error().message()}});
    if (!mirror_notes.empty()) mirror_notes += "; ";
    mirror_notes += r.error().message().substr(0, kMaxMirrorNote);
    Status s = between();
    if (!s.ok()) return std::move(s).take_error();
  }
  return Error(ErrorCode::kInternal, "no registry endpoints");  // endpoints_for always ends with the registry
}

}  // namespace

struct HttpRegistryClient::Impl {
  explicit Impl(RegistryClientOptions o)
      : options(std::move(o)), auth(transport, options), requester(transport, auth, options) {}

  RegistryClientOptions options;
  http::Transport transport;
  Authenticator auth;
  RegistryRequester requester;
};

HttpRegistryClient::HttpRegistryClient(RegistryClientOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

HttpRegistryClient::~HttpRegistryClient() = default;

Result<ResolvedManifest> HttpRegistryClient::resolve(const Reference& ref, const Credentials& creds,
                                                     const Platform& platform) {
  ZONED_TRY(check_reference(ref));
  return try_endpoints<ResolvedManifest>(
      endpoints_for(impl_->options, ref.registry),
      [&](const Endpoint& e) { return resolve_at(impl_->requester, impl_->options, e, ref, creds, platform); },
      [] { return false; }, [] { return ok_status(); });
}

Status HttpRegistryClient::fetch_blob(const Reference& ref, const Descriptor& blob, const Credentials& creds,
                                      BlobSink& sink) {
  ZONED_TRY(check_reference(ref));
  if (blob.size < 0) return Error(ErrorCode::kInvalidArgument, "blob " + blob.digest.str() + " has a negative size");
  if (!sink.write) return Error(ErrorCode::kInvalidArgument, "blob sink without a write function");
  BlobProgress progress;
  auto fetch = [&](const Endpoint& e) -> Status {
    return fetch_blob_at(impl_->requester, impl_->options, e, ref, blob, creds, sink, progress);
  };
  return try_endpoints<void>(
      endpoints_for(impl_->options, ref.registry), fetch, [&] { return progress.sink_failed; },
      [&] { return restart_sink(sink, progress); });
}

}  // namespace zoned::oci
