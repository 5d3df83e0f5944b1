// HttpRegistryClient against real registries: Debian's docker-registry started by
// tests/registry/harness (anonymous, basic auth, bearer token auth, anonymous over HTTPS with a
// certificate from a test CA, and a fault-injecting proxy). ctest starts the harness as a
// fixture and passes DIR/env.json in ZONED_TEST_REGISTRY_ENV; without it these tests are skipped.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "http_transport.h"
#include "zoned/oci/http_registry_client.h"
#include "zoned/oci/manifest.h"

using Catch::Matchers::ContainsSubstring;
using zoned::ErrorCode;
using zoned::Status;
using Json = nlohmann::json;
using namespace zoned::oci;

namespace {

const Platform kAmd64{"linux", "amd64", "", ""};

Json load_env() {
  const char* path = std::getenv("ZONED_TEST_REGISTRY_ENV");
  if (path == nullptr) SKIP("ZONED_TEST_REGISTRY_ENV not set (run through ctest, which starts tests/registry/harness)");
  std::ifstream in(path);
  REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  return Json::parse(text.str());
}

RegistryClientOptions options_for(const Json& env) {
  RegistryClientOptions options;
  for (const auto& item : env["registries"].items())
    options.hosts[item.value()["host"].get<std::string>()].plain_http = true;
  options.retry_base_delay_ms = 1;
  options.retry_max_delay_ms = 5;
  return options;
}

Reference ref_for(const Json& env, const std::string& registry, const std::string& image) {
  std::string text = env["images"][image]["references"][registry][0].get<std::string>();
  auto ref = Reference::parse(text);
  REQUIRE(ref.ok());
  return *ref;
}

Credentials creds_for(const Json& env, const std::string& registry) {
  Credentials c;
  c.username = env["registries"][registry]["username"].get<std::string>();
  c.password = env["registries"][registry]["password"].get<std::string>();
  return c;
}

// Collects a blob and its digest; counts restarts.
struct DigestingSink {
  std::string data;
  int restarts = 0;
  BlobSink sink() {
    return BlobSink{[this](const char* p, size_t n) {
                      data.append(p, n);
                      return zoned::ok_status();
                    },
                    [this] {
                      ++restarts;
                      data.clear();
                      return zoned::ok_status();
                    }};
  }
};

Descriptor layer_descriptor(const Json& layer) {
  return Descriptor{layer["media_type"].get<std::string>(),
                    *Digest::parse(layer["digest"].get<std::string>()),
                    layer["size"].get<int64_t>(),
                    {},
                    {}};
}

}  // namespace

TEST_CASE("anonymous registry: an index resolves to the amd64 manifest and blobs stream") {
  Json env = load_env();
  HttpRegistryClient client(options_for(env));
  Json image = env["images"]["multiarch"];
  Json amd64;
  for (const Json& m : image["manifests"]) {
    if (m["platform"]["architecture"] == "amd64") amd64 = m;
  }
  REQUIRE_FALSE(amd64.is_null());
  auto m = client.resolve(ref_for(env, "anon", "multiarch"), {}, kAmd64);
  REQUIRE(m.ok());
  CHECK(m->digest.str() == amd64["manifest_digest"].get<std::string>());
  auto manifest = parse_manifest(m->bytes, m->media_type);
  REQUIRE(manifest.ok());
  REQUIRE_FALSE(manifest->layers.empty());
  DigestingSink sink;
  BlobSink blob_sink = sink.sink();
  REQUIRE(client.fetch_blob(ref_for(env, "anon", "multiarch"), manifest->layers[0], {}, blob_sink).ok());
  CHECK(sha256_of(sink.data) == manifest->layers[0].digest);
}

TEST_CASE("basic-auth registry: credentials work, wrong ones are PermissionDenied") {
  Json env = load_env();
  HttpRegistryClient client(options_for(env));
  Reference ref = ref_for(env, "basic", "busybox");
  auto m = client.resolve(ref, creds_for(env, "basic"), kAmd64);
  REQUIRE(m.ok());
  CHECK(m->digest.str() == env["images"]["busybox"]["manifest_digest"].get<std::string>());
  for (const Json& layer : env["images"]["busybox"]["layers"]) {
    DigestingSink sink;
    BlobSink blob_sink = sink.sink();
    REQUIRE(client.fetch_blob(ref, layer_descriptor(layer), creds_for(env, "basic"), blob_sink).ok());
    CHECK(sha256_of(sink.data).str() == layer["digest"].get<std::string>());
  }
  Credentials wrong = creds_for(env, "basic");
  wrong.password = "nope";
  auto denied = client.resolve(ref, wrong, kAmd64);
  REQUIRE_FALSE(denied.ok());
  CHECK(denied.error().code() == ErrorCode::kPermissionDenied);
}

TEST_CASE("bearer-token registry: a Docker schema 2 image with a token from the issuer") {
  Json env = load_env();
  HttpRegistryClient client(options_for(env));
  Reference ref = ref_for(env, "bearer", "docker-schema2");
  auto m = client.resolve(ref, creds_for(env, "bearer"), kAmd64);
  REQUIRE(m.ok());
  CHECK(m->media_type == media_type::kDockerManifest);
  CHECK(m->digest.str() == env["images"]["docker-schema2"]["manifest_digest"].get<std::string>());
  auto anonymous = client.resolve(ref, {}, kAmd64);
  REQUIRE_FALSE(anonymous.ok());
  CHECK(anonymous.error().code() == ErrorCode::kPermissionDenied);
  auto missing = client.resolve(*Reference::parse(ref.name() + ":no-such-tag"), creds_for(env, "bearer"), kAmd64);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code() == ErrorCode::kNotFound);
  CHECK_THAT(missing.error().message(), ContainsSubstring("manifest unknown"));
}

TEST_CASE("fault-injecting proxy: a blob cut mid-transfer is fetched again after a restart") {
  Json env = load_env();
  Json layer = env["images"]["multilayer"]["layers"][0];
  std::string digest = layer["digest"].get<std::string>();
  http::Transport transport;
  http::Request configure;
  configure.url = env["registries"]["cutproxy"]["config_url"].get<std::string>() +
                  "?mode=cut&after=" + std::to_string(layer["size"].get<int64_t>() / 2) +
                  "&count=1&match=" + digest.substr(7);
  auto configured = transport.perform(configure);
  REQUIRE(configured.ok());
  REQUIRE(configured->status == 200);
  HttpRegistryClient client(options_for(env));
  DigestingSink sink;
  BlobSink blob_sink = sink.sink();
  REQUIRE(client.fetch_blob(ref_for(env, "cutproxy", "multilayer"), layer_descriptor(layer), {}, blob_sink).ok());
  CHECK(sha256_of(sink.data).str() == digest);
  CHECK(sink.restarts == 1);
}

// ---- HTTPS: the `https` registry serves a certificate for 127.0.0.1 and localhost from a test
// CA (env.json: registries.https.ca_cert) that is not in the system store.
//
// Not tested: trusting that CA through CURL_CA_BUNDLE, SSL_CERT_FILE or SSL_CERT_DIR. Debian's
// libcurl 7.88 is built with --with-ca-bundle and --with-ca-path and without --with-ca-fallback,
// so it always hands OpenSSL its built-in bundle path and never reads those variables
// (CURL_CA_BUNDLE is read by the curl tool, not the library): a test CA can only be trusted with
// a client setting, which RegistryClientOptions does not have.

namespace {

struct HttpsRegistry {
  Json env = load_env();
  std::string host = env["registries"]["https"]["host"].get<std::string>();
  std::string port = host.substr(host.rfind(':') + 1);
  Json busybox = env["images"]["busybox"];
  Reference ref = ref_for(env, "https", "busybox");

  // The harness hosts as options_for sets them, with `host` as given (default: HTTPS, verified).
  RegistryClientOptions options(RegistryHostSettings settings = {}) const {
    RegistryClientOptions o = options_for(env);
    o.hosts[host] = std::move(settings);
    return o;
  }
  Descriptor layer() const { return layer_descriptor(busybox["layers"][0]); }
};

RegistryHostSettings insecure() {
  RegistryHostSettings s;
  s.insecure_skip_verify = true;
  return s;
}

// resolve + fetch of the first layer; the Status of the first step that failed.
Status pull_first_layer(HttpRegistryClient& client, const Reference& ref, const Descriptor& layer) {
  auto m = client.resolve(ref, {}, kAmd64);
  if (!m.ok()) return std::move(m).take_error();
  DigestingSink sink;
  BlobSink blob_sink = sink.sink();
  ZONED_TRY(client.fetch_blob(ref, layer, {}, blob_sink));
  if (sha256_of(sink.data) != layer.digest) return zoned::Error(ErrorCode::kInternal, "layer digest mismatch");
  return zoned::ok_status();
}

void check_untrusted(const zoned::Error& e, const std::string& host) {
  INFO(e.message());
  CHECK(e.code() == ErrorCode::kFailedPrecondition);
  CHECK_THAT(e.message(), ContainsSubstring("registry " + host));
  CHECK_THAT(e.message(), ContainsSubstring("TLS verification failed"));
  CHECK_THAT(e.message(), ContainsSubstring("certificate"));
  CHECK_THAT(e.message(), ContainsSubstring("insecure_skip_verify"));
}

}  // namespace

TEST_CASE("https registry: a certificate from an unknown CA is FailedPrecondition, not retried") {
  HttpsRegistry r;
  RegistryClientOptions options = r.options();
  options.retry_base_delay_ms = 2000;  // a retry would show in the elapsed time
  options.retry_max_delay_ms = 2000;
  HttpRegistryClient client(options);
  auto start = std::chrono::steady_clock::now();
  auto m = client.resolve(r.ref, {}, kAmd64);
  REQUIRE_FALSE(m.ok());
  check_untrusted(m.error(), r.host);
  CHECK_THAT(m.error().message(), ContainsSubstring("manifest busybox:1.36"));
  DigestingSink sink;
  BlobSink blob_sink = sink.sink();
  Status blob = client.fetch_blob(r.ref, r.layer(), {}, blob_sink);
  REQUIRE_FALSE(blob.ok());
  check_untrusted(blob.error(), r.host);
  CHECK_THAT(blob.error().message(), ContainsSubstring("blob busybox@" + r.layer().digest.str()));
  CHECK(sink.data.empty());
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
}

TEST_CASE("https registry: insecure_skip_verify pulls every small image") {
  HttpsRegistry r;
  HttpRegistryClient client(r.options(insecure()));
  REQUIRE(pull_first_layer(client, r.ref, r.layer()).ok());
  for (const char* name : {"multilayer", "multiarch", "zstd", "docker-schema2"}) {
    INFO(name);
    Json image = r.env["images"][name];
    Reference ref = ref_for(r.env, "https", name);
    auto m = client.resolve(ref, {}, kAmd64);
    REQUIRE(m.ok());
    CHECK(m->endpoint == "https://" + r.host);
    auto manifest = parse_manifest(m->bytes, m->media_type);
    REQUIRE(manifest.ok());
    for (const Descriptor& layer : manifest->layers) {
      DigestingSink sink;
      BlobSink blob_sink = sink.sink();
      REQUIRE(client.fetch_blob(ref, layer, {}, blob_sink).ok());
      CHECK(sha256_of(sink.data) == layer.digest);
    }
  }
}

TEST_CASE("https registry: insecure_skip_verify is per host: localhost on the same port stays verified") {
  // One client, one connection pool: an unverified connection (or TLS session) to
  // 127.0.0.1:P must not be reused for localhost:P, whose settings say verify.
  HttpsRegistry r;
  HttpRegistryClient client(r.options(insecure()));
  REQUIRE(pull_first_layer(client, r.ref, r.layer()).ok());
  std::string other = "localhost:" + r.port;
  auto ref = Reference::parse(other + "/busybox:1.36");
  REQUIRE(ref.ok());
  Status s = pull_first_layer(client, *ref, r.layer());
  REQUIRE_FALSE(s.ok());
  check_untrusted(s.error(), other);
  REQUIRE(pull_first_layer(client, r.ref, r.layer()).ok());  // and the insecure host still works
}

TEST_CASE("https registry: a mirror with an untrusted certificate falls through to the registry") {
  HttpsRegistry r;
  std::string anon = r.env["registries"]["anon"]["host"].get<std::string>();
  Reference ref = ref_for(r.env, "anon", "busybox");
  Descriptor layer = r.layer();
  RegistryClientOptions options = r.options();
  options.hosts[anon].mirrors = {"https://" + r.host};

  SECTION("verified: the mirror fails on TLS, the anonymous registry serves it") {
    HttpRegistryClient client(options);
    auto m = client.resolve(ref, {}, kAmd64);
    REQUIRE(m.ok());
    CHECK(m->endpoint == "http://" + anon);
    REQUIRE(pull_first_layer(client, ref, layer).ok());
  }
  SECTION("insecure_skip_verify for the mirror's host: the mirror serves it") {
    options.hosts[r.host].insecure_skip_verify = true;
    HttpRegistryClient client(options);
    auto m = client.resolve(ref, {}, kAmd64);
    REQUIRE(m.ok());
    CHECK(m->endpoint == "https://" + r.host);
    REQUIRE(pull_first_layer(client, ref, layer).ok());
  }
  SECTION("both fail: the registry's error notes the mirror's TLS failure") {
    Reference missing = *Reference::parse(anon + "/busybox:no-such-tag");
    HttpRegistryClient client(options);
    auto m = client.resolve(missing, {}, kAmd64);
    REQUIRE_FALSE(m.ok());
    INFO(m.error().message());
    CHECK(m.error().code() == ErrorCode::kNotFound);
    CHECK_THAT(m.error().message(), ContainsSubstring("mirrors failed first: mirror https://" + r.host));
    CHECK_THAT(m.error().message(), ContainsSubstring("TLS verification failed"));
  }
}

TEST_CASE("https registry: plain_http against the HTTPS port fails at once with a clear error") {
  HttpsRegistry r;
  RegistryHostSettings plain;
  plain.plain_http = true;
  HttpRegistryClient client(r.options(plain));
  auto start = std::chrono::steady_clock::now();
  auto m = client.resolve(r.ref, {}, kAmd64);
  REQUIRE_FALSE(m.ok());
  INFO(m.error().message());
  // Go's TLS listener answers a plain HTTP request with "400 Bad Request" and this text.
  CHECK(m.error().code() == ErrorCode::kInvalidArgument);
  CHECK_THAT(m.error().message(), ContainsSubstring("registry " + r.host));
  CHECK_THAT(m.error().message(), ContainsSubstring("HTTP 400"));
  CHECK_THAT(m.error().message(), ContainsSubstring("Client sent an HTTP request to an HTTPS server"));
  DigestingSink sink;
  BlobSink blob_sink = sink.sink();
  Status blob = client.fetch_blob(r.ref, r.layer(), {}, blob_sink);
  REQUIRE_FALSE(blob.ok());
  CHECK(blob.error().code() == ErrorCode::kInvalidArgument);
  CHECK_THAT(blob.error().message(), ContainsSubstring("HTTPS server"));
  CHECK(sink.data.empty());
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
}
