#include "manifest_fetch.h"

#include <optional>

#include "zoned/oci/manifest.h"

namespace zoned::oci {
namespace {

constexpr std::string_view kAccept =
    "Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

struct Expected {
  std::optional<Digest> digest;
  std::optional<int64_t> size;
};

struct Fetched {
  std::optional<Digest> digest;
  std::string content_type;
  std::string bytes;
};

Status check_docker_content_digest(const http::Response& r, const Digest& actual, const std::string& context) {
  auto header = r.header("docker-content-digest");
  if (!header) return ok_status();
  auto claimed = Digest::parse(*header);
  if (!claimed.ok()) {
    if (claimed.error().code() == ErrorCode::kUnimplemented) return ok_status();  // another algorithm
    return std::move(claimed).take_error().wrap(context + ": invalid Docker-Content-Digest header");
  }
  if (*claimed != actual) {
    return Error(ErrorCode::kInvalidArgument, context + ": Docker-Content-Digest mismatch: the registry says " +
                                                  claimed->str() + " but the content is " + actual.str());
  }
  return ok_status();
}

Status verify(const http::Response& r, const Expected& expected, const std::string& context, Fetched& out) {
  Digest actual = sha256_of(r.body);
  if (expected.digest && *expected.digest != actual) {
    return Error(ErrorCode::kInvalidArgument,
                 context + ": digest mismatch: expected " + expected.digest->str() + ", got " + actual.str());
  }
  if (!expected.digest) ZONED_TRY(check_docker_content_digest(r, actual, context));
  if (expected.size && static_cast<uint64_t>(*expected.size) != r.body.size()) {
    return Error(ErrorCode::kInvalidArgument, context + ": size mismatch: expected " + std::to_string(*expected.size) +
                                                  " bytes, got " + std::to_string(r.body.size()));
  }
  out.digest = actual;
  out.content_type = r.header("content-type").value_or("");
  return ok_status();
}

Result<Fetched> fetch_manifest(RegistryRequester& requester, const RegistryClientOptions& options,
                               const Endpoint& endpoint, const Reference& ref, const Credentials& creds,
                               const std::string& target, const Expected& expected) {
  RegistryGet get;
  get.path = "/v2/" + ref.repository + "/manifests/" + target;
  get.what = "manifest " + ref.repository + (expected.digest ? "@" : ":") + target;
  get.not_found = "manifest unknown";
  get.headers.emplace_back(kAccept);
  get.max_body_bytes = options.max_manifest_bytes;
  get.max_attempts = endpoint.is_mirror ? 1 : options.max_attempts;
  std::string context = endpoint.label + ": " + get.what;
  if (expected.size && static_cast<uint64_t>(*expected.size) > options.max_manifest_bytes) {
    return Error(ErrorCode::kInvalidArgument, context + ": manifest size " + std::to_string(*expected.size) +
                                                  " exceeds the limit of " +
                                                  std::to_string(options.max_manifest_bytes));
  }
  Fetched out;
  get.check = [&](const http::Response& r) { return verify(r, expected, context, out); };
  auto response = requester.get(endpoint, ref.repository, creds, get);
  if (!response.ok()) return std::move(response).take_error();
  out.bytes = std::move(response->body);
  return out;
}

// The platform's manifest from an index that was fetched from `endpoint`.
Result<Fetched> follow_index(RegistryRequester& requester, const RegistryClientOptions& options,
                             const Endpoint& endpoint, const Reference& ref, const Credentials& creds,
                             const Fetched& index_doc, const std::string& index_type, const Platform& platform,
                             std::string& media_type) {
  std::string context = endpoint.label + ": index " + ref.repository + "@" + index_doc.digest->str();
  auto index = parse_index(index_doc.bytes, index_type);
  if (!index.ok()) return std::move(index).take_error().wrap(context);
  auto desc = select_platform(*index, platform);
  if (!desc.ok()) return std::move(desc).take_error().wrap(context);
  auto m = fetch_manifest(requester, options, endpoint, ref, creds, desc->digest.str(), {desc->digest, desc->size});
  if (!m.ok()) return m;
  auto type = detect_manifest_media_type(m->bytes, m->content_type);
  if (!type.ok()) return std::move(type).take_error().wrap(context + ": entry " + desc->digest.str());
  if (!is_manifest_media_type(*type) || *type != desc->media_type) {
    return Error(ErrorCode::kInvalidArgument, context + ": entry " + desc->digest.str() + " is listed as '" +
                                                  desc->media_type.substr(0, 100) + "' but is '" + *type + "'");
  }
  media_type = *type;
  return m;
}

}  // namespace

Result<ResolvedManifest> resolve_at(RegistryRequester& requester, const RegistryClientOptions& options,
                                    const Endpoint& endpoint, const Reference& ref, const Credentials& creds,
                                    const Platform& platform) {
  std::string target = ref.digest ? ref.digest->str() : ref.tag;
  auto top = fetch_manifest(requester, options, endpoint, ref, creds, target, {ref.digest, std::nullopt});
  if (!top.ok()) return std::move(top).take_error();
  std::string context = endpoint.label + ": manifest " + ref.repository + (ref.digest ? "@" : ":") + target;
  auto type = detect_manifest_media_type(top->bytes, top->content_type);
  if (!type.ok()) return std::move(type).take_error().wrap(context);
  std::string media_type = *type;
  if (is_index_media_type(media_type)) {
    top = follow_index(requester, options, endpoint, ref, creds, *top, *type, platform, media_type);
    if (!top.ok()) return std::move(top).take_error();
  }
  auto parsed = parse_manifest(top->bytes, media_type);
  if (!parsed.ok()) return std::move(parsed).take_error().wrap(context);
  return ResolvedManifest{*top->digest, media_type, std::move(top->bytes), endpoint.base_url};
}

}  // namespace zoned::oci
