// HttpRegistryClient against real registries: Debian's docker-registry started by
// tests/registry/harness (anonymous, basic auth, bearer token auth, and a fault-injecting
// proxy). ctest starts the harness as a fixture and passes DIR/env.json in
// ZONED_TEST_REGISTRY_ENV; without it these tests are skipped.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "http_transport.h"
#include "zoned/oci/http_registry_client.h"
#include "zoned/oci/manifest.h"

using Catch::Matchers::ContainsSubstring;
using zoned::ErrorCode;
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
