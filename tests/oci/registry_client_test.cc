// HttpRegistryClient::resolve against FakeRegistryServer: manifests, indexes, digests,
// mirrors, retries and error mapping.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "registry_fixture.h"
#include "zoned/oci/http_registry_client.h"
#include "zoned/oci/manifest.h"

using Catch::Matchers::ContainsSubstring;
using zoned::ErrorCode;
using namespace zoned::oci;
using namespace zoned::oci::testing;

namespace {

const Platform kAmd64{"linux", "amd64", "", ""};

struct Fixture {
  FakeRegistryServer registry;
  TestImage image = make_test_image();
  Fixture() { serve_test_image(registry, image, "test/busybox", "latest"); }
  RegistryClientOptions options() const { return test_options({registry.host()}); }
};

}  // namespace

TEST_CASE("resolve by tag follows the index to the platform's manifest") {
  Fixture f;
  HttpRegistryClient client(f.options());
  auto m = client.resolve(test_ref(f.registry, "test/busybox:latest"), {}, kAmd64);
  REQUIRE(m.ok());
  CHECK(m->digest == f.image.manifest_digest);
  CHECK(m->media_type == media_type::kOciManifest);
  CHECK(m->bytes == f.image.manifest);
  CHECK(m->endpoint == f.registry.url());
  CHECK(f.registry.count("/v2/test/busybox/manifests/" + f.image.manifest_digest.str()) == 1);
  auto requests = f.registry.requests();
  REQUIRE_FALSE(requests.empty());
  CHECK_THAT(requests[0].header("accept"),
             ContainsSubstring("application/vnd.oci.image.index.v1+json") &&
                 ContainsSubstring("application/vnd.docker.distribution.manifest.v2+json"));
  CHECK_THAT(requests[0].header("user-agent"), ContainsSubstring("zoned/"));

  auto arm = client.resolve(test_ref(f.registry, "test/busybox:latest"), {}, Platform{"linux", "arm64", "", ""});
  REQUIRE(arm.ok());
  CHECK(arm->digest == f.image.arm_manifest_digest);
}

TEST_CASE("resolve of a plain manifest by tag and of an index by digest") {
  Fixture f;
  HttpRegistryClient client(f.options());
  auto single = client.resolve(test_ref(f.registry, "test/busybox:single"), {}, kAmd64);
  REQUIRE(single.ok());
  CHECK(single->digest == f.image.manifest_digest);
  auto by_digest = client.resolve(test_ref(f.registry, "test/busybox@" + f.image.index_digest.str()), {}, kAmd64);
  REQUIRE(by_digest.ok());
  CHECK(by_digest->digest == f.image.manifest_digest);
}

TEST_CASE("a platform missing from the index is NotFound naming what is there") {
  Fixture f;
  HttpRegistryClient client(f.options());
  auto m = client.resolve(test_ref(f.registry, "test/busybox:latest"), {}, Platform{"linux", "s390x", "", ""});
  REQUIRE_FALSE(m.ok());
  CHECK(m.error().code() == ErrorCode::kNotFound);
  CHECK_THAT(m.error().message(), ContainsSubstring("linux/s390x") && ContainsSubstring("linux/arm64/v8, linux/amd64"));
}

TEST_CASE("content that does not hash to the requested digest is refused without retries") {
  Fixture f;
  std::string path = "/v2/test/busybox/manifests/" + f.image.manifest_digest.str();
  f.registry.route(path, manifest_response(f.image.arm_manifest, media_type::kOciManifest));
  HttpRegistryClient client(f.options());
  auto m = client.resolve(test_ref(f.registry, "test/busybox@" + f.image.manifest_digest.str()), {}, kAmd64);
  REQUIRE_FALSE(m.ok());
  CHECK(m.error().code() == ErrorCode::kInvalidArgument);
  CHECK_THAT(m.error().message(), ContainsSubstring("digest mismatch") && ContainsSubstring(f.registry.host()) &&
                                      ContainsSubstring("test/busybox"));
  CHECK(f.registry.count(path) == 1);

  // An index entry whose manifest is swapped is caught the same way.
  auto via_index = client.resolve(test_ref(f.registry, "test/busybox:latest"), {}, kAmd64);
  REQUIRE_FALSE(via_index.ok());
  CHECK_THAT(via_index.error().message(), ContainsSubstring("digest mismatch"));
}

TEST_CASE("a Docker-Content-Digest that disagrees with the content is refused") {
  Fixture f;
  f.registry.route("/v2/test/busybox/manifests/single",
                   FakeResponse{200,
                                {{"Content-Type", std::string(media_type::kOciManifest)},
                                 {"Docker-Content-Digest", f.image.index_digest.str()}},
                                f.image.manifest,
                                {},
                                false});
  HttpRegistryClient client(f.options());
  auto m = client.resolve(test_ref(f.registry, "test/busybox:single"), {}, kAmd64);
  REQUIRE_FALSE(m.ok());
  CHECK(m.error().code() == ErrorCode::kInvalidArgument);
  CHECK_THAT(m.error().message(), ContainsSubstring("Docker-Content-Digest mismatch"));
  CHECK(f.registry.count("/v2/test/busybox/manifests/single") == 1);
}

TEST_CASE("a failing mirror falls through to the registry") {
  Fixture f;
  FakeRegistryServer mirror;  // serves nothing: 404 for everything
  auto options = f.options();
  SECTION("mirror answers 404") {
    options.hosts[f.registry.host()].mirrors = {mirror.url()};
  }
  SECTION("mirror refuses connections") {
    options.hosts[f.registry.host()].mirrors = {"http://127.0.0.1:" +
                                                std::to_string(FakeRegistryServer::unused_port())};
  }
  SECTION("mirror answers 503, then the next mirror 404") {
    mirror.route("/v2/test/busybox/manifests/latest", FakeResponse::registry_error(503, "UNAVAILABLE", "busy"));
    FakeRegistryServer second;
    options.hosts[f.registry.host()].mirrors = {mirror.url(), second.url()};
    HttpRegistryClient client(options);
    auto m = client.resolve(test_ref(f.registry, "test/busybox:latest"), {}, kAmd64);
    REQUIRE(m.ok());
    CHECK(second.count("/v2/test/busybox/manifests/latest") == 1);
    CHECK(mirror.count("/v2/test/busybox/manifests/latest") == 1);  // mirrors get one attempt
  }
  HttpRegistryClient client(options);
  auto m = client.resolve(test_ref(f.registry, "test/busybox:latest"), {}, kAmd64);
  REQUIRE(m.ok());
  CHECK(m->endpoint == f.registry.url());
}

TEST_CASE("a working mirror serves the pull and is named as the endpoint") {
  Fixture f;
  FakeRegistryServer mirror;
  serve_test_image(mirror, f.image, "test/busybox", "latest");
  auto options = f.options();
  options.hosts[f.registry.host()].mirrors = {mirror.url() + "/"};
  HttpRegistryClient client(options);
  auto m = client.resolve(test_ref(f.registry, "test/busybox:latest"), {}, kAmd64);
  REQUIRE(m.ok());
  CHECK(m->endpoint == mirror.url());
  CHECK(f.registry.requests().empty());
}

TEST_CASE("when the mirrors and the registry fail, the error names them all") {
  FakeRegistryServer registry;
  FakeRegistryServer mirror;
  auto options = test_options({registry.host()});
  options.hosts[registry.host()].mirrors = {mirror.url()};
  HttpRegistryClient client(options);
  auto m = client.resolve(test_ref(registry, "test/nothing:1"), {}, kAmd64);
  REQUIRE_FALSE(m.ok());
  CHECK(m.error().code() == ErrorCode::kNotFound);
  CHECK_THAT(m.error().message(), ContainsSubstring("registry " + registry.host()) &&
                                      ContainsSubstring("mirror " + mirror.url()) &&
                                      ContainsSubstring("manifest test/nothing:1") &&
                                      ContainsSubstring("manifest unknown") && ContainsSubstring("HTTP 404") &&
                                      ContainsSubstring("NAME_UNKNOWN: repository name not known to registry"));
}

TEST_CASE("transient failures are retried with backoff") {
  Fixture f;
  int calls = 0;
  std::string path = "/v2/test/busybox/manifests/single";
  FakeResponse good = manifest_response(f.image.manifest, media_type::kOciManifest);
  auto options = f.options();
  SECTION("503 then success") {
    f.registry.route(path, [&calls, good](const FakeRequest&) {
      return ++calls == 1 ? FakeResponse::registry_error(503, "UNAVAILABLE", "try later") : good;
    });
    HttpRegistryClient client(options);
    REQUIRE(client.resolve(test_ref(f.registry, "test/busybox:single"), {}, kAmd64).ok());
    CHECK(f.registry.count(path) == 2);
  }
  SECTION("429 with Retry-After: 0, then success") {
    f.registry.route(path, [&calls, good](const FakeRequest&) {
      return ++calls == 1
                 ? FakeResponse::registry_error(429, "TOOMANYREQUESTS", "slow down").with_header("Retry-After", "0")
                 : good;
    });
    HttpRegistryClient client(options);
    REQUIRE(client.resolve(test_ref(f.registry, "test/busybox:single"), {}, kAmd64).ok());
    CHECK(f.registry.count(path) == 2);
  }
  SECTION("a body cut short is retried") {
    f.registry.route(path, [&calls, good](const FakeRequest&) {
      FakeResponse r = good;
      if (++calls == 1) r.cut_after = 10;
      return r;
    });
    HttpRegistryClient client(options);
    REQUIRE(client.resolve(test_ref(f.registry, "test/busybox:single"), {}, kAmd64).ok());
    CHECK(f.registry.count(path) == 2);
  }
  SECTION("attempts are bounded") {
    f.registry.route(path, FakeResponse::registry_error(500, "INTERNAL", "boom"));
    options.max_attempts = 3;
    HttpRegistryClient client(options);
    auto m = client.resolve(test_ref(f.registry, "test/busybox:single"), {}, kAmd64);
    REQUIRE_FALSE(m.ok());
    CHECK(m.error().code() == ErrorCode::kUnavailable);
    CHECK_THAT(m.error().message(), ContainsSubstring("HTTP 500: INTERNAL: boom"));
    CHECK(f.registry.count(path) == 3);
  }
  SECTION("an unreachable registry is Unavailable") {
    std::string host = "127.0.0.1:" + std::to_string(FakeRegistryServer::unused_port());
    HttpRegistryClient client(test_options({host}));
    auto m = client.resolve(*Reference::parse(host + "/x:1"), {}, kAmd64);
    REQUIRE_FALSE(m.ok());
    CHECK(m.error().code() == ErrorCode::kUnavailable);
    CHECK_THAT(m.error().message(), ContainsSubstring("registry " + host));
  }
}

TEST_CASE("client errors are not retried and map to error codes") {
  Fixture f;
  HttpRegistryClient client(f.options());
  auto missing = client.resolve(test_ref(f.registry, "test/busybox:nope"), {}, kAmd64);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code() == ErrorCode::kNotFound);
  CHECK(f.registry.count("/v2/test/busybox/manifests/nope") == 1);

  f.registry.route("/v2/test/busybox/manifests/denied",
                   FakeResponse::registry_error(403, "DENIED", "requested access to the resource is denied"));
  auto denied = client.resolve(test_ref(f.registry, "test/busybox:denied"), {}, kAmd64);
  REQUIRE_FALSE(denied.ok());
  CHECK(denied.error().code() == ErrorCode::kPermissionDenied);
  CHECK_THAT(denied.error().message(), ContainsSubstring("DENIED: requested access to the resource is denied"));
  CHECK(f.registry.count("/v2/test/busybox/manifests/denied") == 1);

  f.registry.route("/v2/test/busybox/manifests/bad", FakeResponse::registry_error(400, "TAG_INVALID", "bad"));
  auto bad = client.resolve(test_ref(f.registry, "test/busybox:bad"), {}, kAmd64);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code() == ErrorCode::kInvalidArgument);
  CHECK(f.registry.count("/v2/test/busybox/manifests/bad") == 1);
}

TEST_CASE("Docker schema 1 and malformed manifests are refused") {
  Fixture f;
  f.registry.route("/v2/test/busybox/manifests/old",
                   manifest_response(R"({"schemaVersion":1,"name":"x","fsLayers":[]})",
                                     "application/vnd.docker.distribution.manifest.v1+prettyjws"));
  f.registry.route("/v2/test/busybox/manifests/junk", manifest_response("{nope", "application/json"));
  f.registry.route("/v2/test/busybox/manifests/big",
                   manifest_response(std::string(5000, ' ') + f.image.manifest, media_type::kOciManifest));
  auto options = f.options();
  options.max_manifest_bytes = 4096;
  HttpRegistryClient client(options);
  auto old = client.resolve(test_ref(f.registry, "test/busybox:old"), {}, kAmd64);
  REQUIRE_FALSE(old.ok());
  CHECK(old.error().code() == ErrorCode::kUnimplemented);
  CHECK_THAT(old.error().message(), ContainsSubstring("schema 1"));
  auto junk = client.resolve(test_ref(f.registry, "test/busybox:junk"), {}, kAmd64);
  REQUIRE_FALSE(junk.ok());
  CHECK(junk.error().code() == ErrorCode::kInvalidArgument);
  CHECK_THAT(junk.error().message(), ContainsSubstring("malformed JSON"));
  auto big = client.resolve(test_ref(f.registry, "test/busybox:big"), {}, kAmd64);
  REQUIRE_FALSE(big.ok());
  CHECK(big.error().code() == ErrorCode::kInvalidArgument);
  CHECK_THAT(big.error().message(), ContainsSubstring("exceeds 4096 bytes"));
  CHECK(f.registry.count("/v2/test/busybox/manifests/big") == 1);
}

TEST_CASE("hand-built references with unsafe parts are refused before any request") {
  Fixture f;
  HttpRegistryClient client(f.options());
  Reference ref = test_ref(f.registry, "test/busybox:latest");
  ref.repository = "test/../../admin";
  auto m = client.resolve(ref, {}, kAmd64);
  REQUIRE_FALSE(m.ok());
  CHECK(m.error().code() == ErrorCode::kInvalidArgument);
  CHECK(f.registry.requests().empty());
}

TEST_CASE("oversized response headers are refused without retries") {
  Fixture f;
  FakeResponse huge = manifest_response(f.image.manifest, media_type::kOciManifest);
  huge.with_header("X-Padding", std::string(70 * 1024, 'x'));
  f.registry.route("/v2/test/busybox/manifests/single", huge);
  HttpRegistryClient client(f.options());
  auto m = client.resolve(test_ref(f.registry, "test/busybox:single"), {}, kAmd64);
  REQUIRE_FALSE(m.ok());
  CHECK(m.error().code() == ErrorCode::kInvalidArgument);
  CHECK_THAT(m.error().message(), ContainsSubstring("response headers exceed"));
  CHECK(f.registry.count("/v2/test/busybox/manifests/single") == 1);
}
