// HttpRegistryClient::fetch_blob against FakeRegistryServer: streaming, size enforcement,
// redirects, retries with sink restarts, mirrors.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "registry_fixture.h"
#include "zoned/oci/http_registry_client.h"

using Catch::Matchers::ContainsSubstring;
using zoned::ErrorCode;
using namespace zoned::oci;
using namespace zoned::oci::testing;

namespace {

struct Fixture {
  FakeRegistryServer registry;
  TestImage image = make_test_image();
  CollectingSink collected;
  BlobSink sink = collected.sink();
  std::string layer_path;
  Fixture() : layer_path("/v2/test/app/blobs/" + image.layer_desc.digest.str()) {
    serve_test_image(registry, image, "test/app", "latest");
  }
  Reference ref() const { return test_ref(registry, "test/app:latest"); }
};

FakeResponse body_of(std::string body) {
  FakeResponse r;
  r.body = std::move(body);
  return r;
}

}  // namespace

TEST_CASE("a blob is streamed into the sink") {
  Fixture f;
  HttpRegistryClient client(test_options({f.registry.host()}));
  REQUIRE(client.fetch_blob(f.ref(), f.image.layer_desc, {}, f.sink).ok());
  CHECK(f.collected.data == f.image.layer);
  CHECK(f.collected.restarts == 0);
}

TEST_CASE("a redirect to another host is followed without the Authorization header") {
  Fixture f;
  FakeRegistryServer storage;
  storage.route("/storage/layer", body_of(f.image.layer));
  f.registry.route(f.layer_path, [&](const FakeRequest& r) {
    if (r.header("authorization") != "Bearer secret") return FakeResponse::registry_error(401, "UNAUTHORIZED", "no");
    return FakeResponse::redirect(storage.url() + "/storage/layer?X-Signature=abc");
  });
  HttpRegistryClient client(test_options({f.registry.host()}));
  Credentials creds;
  creds.registry_token = "secret";
  REQUIRE(client.fetch_blob(f.ref(), f.image.layer_desc, creds, f.sink).ok());
  CHECK(f.collected.data == f.image.layer);
  auto requests = storage.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].query == "X-Signature=abc");
  CHECK(requests[0].header("authorization").empty());
}

TEST_CASE("a relative redirect on the same origin keeps the Authorization header") {
  Fixture f;
  f.registry.route(f.layer_path, [](const FakeRequest& r) {
    if (r.header("authorization") != "Bearer secret") return FakeResponse::registry_error(401, "UNAUTHORIZED", "no");
    return FakeResponse::redirect("/internal/layer");
  });
  f.registry.route("/internal/layer", [&f](const FakeRequest& r) {
    return r.header("authorization") == "Bearer secret" ? body_of(f.image.layer)
                                                        : FakeResponse::registry_error(401, "UNAUTHORIZED", "no");
  });
  HttpRegistryClient client(test_options({f.registry.host()}));
  Credentials creds;
  creds.registry_token = "secret";
  REQUIRE(client.fetch_blob(f.ref(), f.image.layer_desc, creds, f.sink).ok());
  CHECK(f.collected.data == f.image.layer);
}

TEST_CASE("a blob longer than its descriptor is cut off") {
  Fixture f;
  FakeResponse longer = body_of(f.image.layer + "EXTRA");
  SECTION("with Content-Length") {}
  SECTION("without Content-Length") {
    longer.omit_content_length = true;
  }
  f.registry.route(f.layer_path, longer);
  HttpRegistryClient client(test_options({f.registry.host()}));
  auto s = client.fetch_blob(f.ref(), f.image.layer_desc, {}, f.sink);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().code() == ErrorCode::kInvalidArgument);
  CHECK_THAT(s.error().message(), ContainsSubstring("longer than its descriptor size of 50000 bytes") &&
                                      ContainsSubstring("test/app@sha256:"));
  CHECK(f.collected.data.size() <= f.image.layer.size());
  CHECK(f.registry.count(f.layer_path) == 1);
}

TEST_CASE("a connection cut mid-blob is retried after restarting the sink") {
  Fixture f;
  int calls = 0;
  f.registry.route(f.layer_path, [&](const FakeRequest&) {
    FakeResponse r = body_of(f.image.layer);
    if (++calls == 1) r.cut_after = 20000;
    return r;
  });
  HttpRegistryClient client(test_options({f.registry.host()}));
  REQUIRE(client.fetch_blob(f.ref(), f.image.layer_desc, {}, f.sink).ok());
  CHECK(f.collected.data == f.image.layer);
  CHECK(f.collected.restarts == 1);
  CHECK(f.registry.count(f.layer_path) == 2);
}

TEST_CASE("a blob that keeps ending early fails as Unavailable after the attempts") {
  Fixture f;
  FakeResponse short_body = body_of(f.image.layer.substr(0, 100));
  short_body.omit_content_length = true;
  f.registry.route(f.layer_path, short_body);
  auto options = test_options({f.registry.host()});
  options.max_attempts = 2;
  HttpRegistryClient client(options);
  auto s = client.fetch_blob(f.ref(), f.image.layer_desc, {}, f.sink);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().code() == ErrorCode::kUnavailable);
  CHECK_THAT(s.error().message(), ContainsSubstring("ended after 100 of 50000 bytes"));
  CHECK(f.registry.count(f.layer_path) == 2);
  CHECK(f.collected.restarts == 1);
}

TEST_CASE("a sink error ends the fetch unchanged, without retries") {
  Fixture f;
  HttpRegistryClient client(test_options({f.registry.host()}));
  BlobSink failing{
      [](const char*, size_t) { return zoned::Status(zoned::Error(ErrorCode::kResourceExhausted, "disk full")); },
      [] { return zoned::ok_status(); }};
  auto s = client.fetch_blob(f.ref(), f.image.layer_desc, {}, failing);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().code() == ErrorCode::kResourceExhausted);
  CHECK(s.error().message() == "disk full");
  CHECK(f.registry.count(f.layer_path) == 1);
}

TEST_CASE("a missing blob is NotFound, not retried") {
  Fixture f;
  f.registry.route(f.layer_path, FakeResponse::registry_error(404, "BLOB_UNKNOWN", "blob unknown to registry"));
  HttpRegistryClient client(test_options({f.registry.host()}));
  auto s = client.fetch_blob(f.ref(), f.image.layer_desc, {}, f.sink);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().code() == ErrorCode::kNotFound);
  CHECK_THAT(s.error().message(), ContainsSubstring("blob unknown (HTTP 404: BLOB_UNKNOWN: blob unknown to registry)"));
  CHECK(f.registry.count(f.layer_path) == 1);
}

TEST_CASE("a mirror cut mid-blob falls through to the registry after a restart") {
  Fixture f;
  FakeRegistryServer mirror;
  FakeResponse cut = body_of(f.image.layer);
  cut.cut_after = 1000;
  mirror.route(f.layer_path, cut);
  auto options = test_options({f.registry.host()});
  options.hosts[f.registry.host()].mirrors = {mirror.url()};
  HttpRegistryClient client(options);
  REQUIRE(client.fetch_blob(f.ref(), f.image.layer_desc, {}, f.sink).ok());
  CHECK(f.collected.data == f.image.layer);
  CHECK(f.collected.restarts == 1);
  CHECK(mirror.count(f.layer_path) == 1);
  CHECK(f.registry.count(f.layer_path) == 1);
}

TEST_CASE("an empty blob and a bad descriptor") {
  Fixture f;
  std::string empty_path = "/v2/test/app/blobs/" + sha256_of("").str();
  f.registry.route(empty_path, body_of(""));
  HttpRegistryClient client(test_options({f.registry.host()}));
  Descriptor empty{"application/octet-stream", sha256_of(""), 0, {}, {}};
  REQUIRE(client.fetch_blob(f.ref(), empty, {}, f.sink).ok());
  CHECK(f.collected.data.empty());
  empty.size = -1;
  CHECK_FALSE(client.fetch_blob(f.ref(), empty, {}, f.sink).ok());
}
