// Registry authentication: WWW-Authenticate parsing, token responses, and the Bearer / Basic
// flows of HttpRegistryClient against FakeRegistryServer.
#include "registry_auth.h"

#include <atomic>
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <thread>

#include "base64.h"
#include "registry_fixture.h"
#include "token_service.h"
#include "zoned/oci/http_registry_client.h"
#include "zoned/oci/www_authenticate.h"

using Catch::Matchers::ContainsSubstring;
using zoned::ErrorCode;
using namespace zoned::oci;
using namespace zoned::oci::testing;

namespace {

const Platform kAmd64{"linux", "amd64", "", ""};

FakeResponse bearer_challenge(const FakeRegistryServer& auth_server, const std::string& repository) {
  FakeResponse r = FakeResponse::registry_error(401, "UNAUTHORIZED", "authentication required");
  r.with_header("WWW-Authenticate", "Bearer realm=\"" + auth_server.url() +
                                        "/token\",service=\"fake registry\",scope=\"repository:" + repository +
                                        ":pull\"");
  return r;
}

// Content requires "Authorization: <expected>"; anything else gets `challenge`.
Guard require(std::string expected, FakeResponse challenge) {
  return [expected, challenge](const FakeRequest& r) -> std::optional<FakeResponse> {
    if (r.header("authorization") == expected) return std::nullopt;
    return challenge;
  };
}

FakeResponse token_json(const std::string& field, const std::string& token) {
  FakeResponse r;
  r.body = R"({")" + field + R"(":")" + token + R"(","expires_in":300})";
  r.with_header("Content-Type", "application/json");
  return r;
}

}  // namespace

TEST_CASE("WWW-Authenticate: a Bearer challenge with quoted parameters") {
  auto c = parse_www_authenticate(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull")");
  REQUIRE(c.size() == 1);
  CHECK(c[0].scheme == "bearer");
  CHECK(c[0].params.at("realm") == "https://auth.docker.io/token");
  CHECK(c[0].params.at("service") == "registry.docker.io");
  CHECK(c[0].params.at("scope") == "repository:library/busybox:pull");
}

TEST_CASE("WWW-Authenticate: several challenges, odd spacing, escapes and tokens") {
  auto c = parse_www_authenticate(
      R"( ,BEARER  Realm = "https://a/t?x=1,2" , error="insufficient_scope",scope="a:b:pull,push", Basic realm="say \"hi\"", Negotiate abc==)");
  REQUIRE(c.size() == 3);
  CHECK(c[0].scheme == "bearer");
  CHECK(c[0].params.at("realm") == "https://a/t?x=1,2");
  CHECK(c[0].params.at("error") == "insufficient_scope");
  CHECK(c[0].params.at("scope") == "a:b:pull,push");
  CHECK(c[1].scheme == "basic");
  CHECK(c[1].params.at("realm") == "say \"hi\"");
  CHECK(c[2].scheme == "negotiate");
  CHECK(c[2].token68 == "abc==");

  auto unquoted = parse_www_authenticate("Basic realm=registry,charset=UTF-8");
  REQUIRE(unquoted.size() == 1);
  CHECK(unquoted[0].params.at("realm") == "registry");
  CHECK(unquoted[0].params.at("charset") == "UTF-8");
}

TEST_CASE("WWW-Authenticate: malformed input keeps what was read and never overruns") {
  CHECK(parse_www_authenticate("").empty());
  CHECK(parse_www_authenticate(" , ,").empty());
  auto unterminated = parse_www_authenticate(R"(Bearer service="y", realm="https://x, Basic realm=z)");
  REQUIRE(unterminated.size() == 1);
  CHECK(unterminated[0].params.at("service") == "y");
  CHECK_FALSE(unterminated[0].params.contains("realm"));
  auto garbage = parse_www_authenticate(R"(Bearer realm="r" ===, Basic)");
  REQUIRE_FALSE(garbage.empty());
  CHECK(garbage[0].params.at("realm") == "r");
  for (std::string s : {"Bearer \"", "Bearer realm=", "Bearer realm=\"\\", "=", "Bearer ,=,", "Basic realm=\"a\"\\"}) {
    CAPTURE(s);
    (void)parse_www_authenticate(s);
  }
}

TEST_CASE("token responses: token or access_token, bounded lifetime, safe characters") {
  auto t = parse_token_response(R"({"token":"abc.def","expires_in":3600,"issued_at":"2024-01-01T00:00:00Z"})");
  REQUIRE(t.ok());
  CHECK(t->token == "abc.def");
  CHECK(t->expires_in_seconds == 3600);
  auto access = parse_token_response(R"({"access_token":"xyz"})");
  REQUIRE(access.ok());
  CHECK(access->token == "xyz");
  CHECK(access->expires_in_seconds == 60);
  CHECK(parse_token_response(R"({"token":"a","expires_in":5})")->expires_in_seconds == 60);
  CHECK_FALSE(parse_token_response(R"({"token":""})").ok());
  CHECK_FALSE(parse_token_response(R"({"token":5})").ok());
  CHECK_FALSE(parse_token_response(R"({"token":"a\r\nX-Injected: 1"})").ok());
  CHECK_FALSE(parse_token_response(R"({"token":"a b"})").ok());
  CHECK_FALSE(parse_token_response("[]").ok());
  CHECK_FALSE(parse_token_response("not json").ok());
}

TEST_CASE("basic credentials from username/password or from auth") {
  CHECK(base64::encode("user:pass") == "dXNlcjpwYXNz");
  CHECK(base64::decode("dXNlcjpwYXNz") == "user:pass");
  CHECK(base64::encode("ab") == "YWI=");
  CHECK(base64::decode("YWI=") == "ab");
  CHECK_FALSE(base64::decode("a").has_value());
  CHECK_FALSE(base64::decode("a b=").has_value());
  CHECK(*basic_authorization(Credentials{"user", "pass", "", "", ""}) == "Basic dXNlcjpwYXNz");
  CHECK(*basic_authorization(Credentials{"", "", "dXNlcjpwYXNz", "", ""}) == "Basic dXNlcjpwYXNz");
  CHECK(basic_authorization(Credentials{})->empty());
  CHECK_FALSE(basic_authorization(Credentials{"", "", "bm9jb2xvbg==", "", ""}).ok());  // "nocolon"
}

TEST_CASE("Bearer flow: 401 challenge, token with basic credentials, retry with the token, cached") {
  FakeRegistryServer registry;
  FakeRegistryServer auth;
  TestImage image = make_test_image();
  serve_test_image(registry, image, "team/app", "v1", require("Bearer tok-1", bearer_challenge(auth, "team/app")));
  auth.route("/token", [](const FakeRequest& r) {
    if (r.header("authorization") != "Basic dXNlcjpwYXNz")
      return FakeResponse::registry_error(401, "UNAUTHORIZED", "bad credentials");
    if (r.query_param("service") != "fake registry" || r.query_param("scope") != "repository:team/app:pull") {
      return FakeResponse::registry_error(400, "BAD", "wrong query " + r.query);
    }
    return token_json("token", "tok-1");
  });
  auto options = test_options({registry.host(), auth.host()});
  HttpRegistryClient client(options);
  Credentials creds{"user", "pass", "", "", ""};
  auto m = client.resolve(test_ref(registry, "team/app:v1"), creds, kAmd64);
  REQUIRE(m.ok());
  CHECK(auth.count("/token") == 1);
  auto again = client.resolve(test_ref(registry, "team/app:v1"), creds, kAmd64);
  REQUIRE(again.ok());
  CHECK(auth.count("/token") == 1);  // cached
  CollectingSink sink;
  BlobSink blob_sink = sink.sink();
  REQUIRE(client.fetch_blob(test_ref(registry, "team/app:v1"), image.config_desc, creds, blob_sink).ok());
  CHECK(sink.data == image.config);
  CHECK(auth.count("/token") == 1);

  // Other credentials do not reuse the cached token.
  auto wrong = client.resolve(test_ref(registry, "team/app:v1"), Credentials{"user", "nope", "", "", ""}, kAmd64);
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error().code() == ErrorCode::kPermissionDenied);
  CHECK_THAT(wrong.error().message(), ContainsSubstring("refused the credentials") &&
                                          ContainsSubstring("bad credentials") && ContainsSubstring("team/app"));
  CHECK(auth.count("/token") == 2);
}

TEST_CASE("Bearer flow: anonymous token as access_token") {
  FakeRegistryServer registry;
  TestImage image = make_test_image();
  serve_test_image(registry, image, "library/busybox", "latest",
                   require("Bearer anon", bearer_challenge(registry, "library/busybox")));
  registry.route("/token", [](const FakeRequest& r) {
    if (!r.header("authorization").empty()) return FakeResponse::registry_error(400, "BAD", "unexpected credentials");
    return token_json("access_token", "anon");
  });
  HttpRegistryClient client(test_options({registry.host()}));
  auto m = client.resolve(test_ref(registry, "library/busybox:latest"), {}, kAmd64);
  REQUIRE(m.ok());
  CHECK(registry.count("/token") == 1);
}

TEST_CASE("Bearer flow: identity token exchanged with a refresh_token POST") {
  FakeRegistryServer registry;
  TestImage image = make_test_image();
  serve_test_image(registry, image, "a/b", "latest", require("Bearer from-refresh", bearer_challenge(registry, "a/b")));
  registry.route("/token", [](const FakeRequest& r) {
    bool ok = r.method == "POST" && r.body.find("grant_type=refresh_token") != std::string::npos &&
              r.body.find("refresh_token=refresh-me") != std::string::npos &&
              r.body.find("scope=repository%3Aa%2Fb%3Apull") != std::string::npos;
    return ok ? token_json("access_token", "from-refresh") : FakeResponse::registry_error(400, "BAD", r.body);
  });
  HttpRegistryClient client(test_options({registry.host()}));
  Credentials creds;
  creds.identity_token = "refresh-me";
  REQUIRE(client.resolve(test_ref(registry, "a/b:latest"), creds, kAmd64).ok());
}

TEST_CASE("a registry token is sent as is, without a challenge round") {
  FakeRegistryServer registry;
  TestImage image = make_test_image();
  serve_test_image(registry, image, "a/b", "latest",
                   require("Bearer given", FakeResponse::registry_error(401, "UNAUTHORIZED", "no")));
  HttpRegistryClient client(test_options({registry.host()}));
  Credentials creds;
  creds.registry_token = "given";
  REQUIRE(client.resolve(test_ref(registry, "a/b:latest"), creds, kAmd64).ok());
  for (const FakeRequest& r : registry.requests()) CHECK(r.header("authorization") == "Bearer given");
  creds.registry_token = "wrong";
  auto m = client.resolve(test_ref(registry, "a/b:latest"), creds, kAmd64);
  REQUIRE_FALSE(m.ok());
  CHECK(m.error().code() == ErrorCode::kPermissionDenied);
}

TEST_CASE("Basic flow: credentials sent after a Basic challenge") {
  FakeRegistryServer registry;
  TestImage image = make_test_image();
  FakeResponse challenge = FakeResponse::registry_error(401, "UNAUTHORIZED", "login");
  challenge.with_header("WWW-Authenticate", "Basic realm=\"Registry Realm\"");
  serve_test_image(registry, image, "a/b", "latest", require("Basic dXNlcjpwYXNz", challenge));
  HttpRegistryClient client(test_options({registry.host()}));
  Credentials creds;
  creds.auth = "dXNlcjpwYXNz";
  REQUIRE(client.resolve(test_ref(registry, "a/b:latest"), creds, kAmd64).ok());

  auto anonymous = client.resolve(test_ref(registry, "a/b:latest"), {}, kAmd64);
  REQUIRE_FALSE(anonymous.ok());
  CHECK(anonymous.error().code() == ErrorCode::kPermissionDenied);
  CHECK_THAT(anonymous.error().message(), ContainsSubstring("no credentials were given"));
}

TEST_CASE("a 401 without a usable challenge is PermissionDenied naming the schemes") {
  FakeRegistryServer registry;
  FakeResponse challenge = FakeResponse::registry_error(401, "UNAUTHORIZED", "login");
  challenge.with_header("WWW-Authenticate", "Negotiate");
  registry.route("/v2/a/b/manifests/latest", challenge);
  HttpRegistryClient client(test_options({registry.host()}));
  auto m = client.resolve(test_ref(registry, "a/b:latest"), {}, kAmd64);
  REQUIRE_FALSE(m.ok());
  CHECK(m.error().code() == ErrorCode::kPermissionDenied);
  CHECK_THAT(m.error().message(), ContainsSubstring("schemes: negotiate"));
  CHECK(registry.count("/v2/a/b/manifests/latest") == 1);
}

TEST_CASE("one client serves concurrent pulls") {
  FakeRegistryServer registry;
  TestImage image = make_test_image();
  serve_test_image(registry, image, "a/b", "latest", require("Bearer shared", bearer_challenge(registry, "a/b")));
  registry.route("/token", token_json("token", "shared"));
  HttpRegistryClient client(test_options({registry.host()}));
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      CollectingSink sink;
      BlobSink blob_sink = sink.sink();
      auto m = client.resolve(test_ref(registry, "a/b:latest"), {}, kAmd64);
      auto s = client.fetch_blob(test_ref(registry, "a/b:latest"), image.layer_desc, {}, blob_sink);
      if (m.ok() && s.ok() && sink.data == image.layer) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  CHECK(ok == 8);
}

TEST_CASE("an oversized token response is refused") {
  FakeRegistryServer registry;
  TestImage image = make_test_image();
  serve_test_image(registry, image, "a/b", "latest", require("Bearer x", bearer_challenge(registry, "a/b")));
  registry.route("/token", token_json("token", std::string(4096, 'x')));
  auto options = test_options({registry.host()});
  options.max_token_response_bytes = 1024;
  HttpRegistryClient client(options);
  auto m = client.resolve(test_ref(registry, "a/b:latest"), {}, kAmd64);
  REQUIRE_FALSE(m.ok());
  CHECK(m.error().code() == ErrorCode::kInvalidArgument);
  CHECK_THAT(m.error().message(), ContainsSubstring("token service " + registry.url() + "/token") &&
                                      ContainsSubstring("exceeds 1024 bytes"));
}

TEST_CASE("credentials are not sent to a plain-HTTP token realm of an HTTPS registry") {
  // An HTTPS endpoint whose challenge names a plain-HTTP realm: refused before any connection.
  FakeRegistryServer auth;
  Endpoint https_endpoint;
  https_endpoint.base_url = "https://registry.example";
  zoned::oci::http::Transport transport;
  RegistryClientOptions options;
  Authenticator authenticator(transport, options);
  Credentials creds{"user", "pass", "", "", ""};
  auto answer =
      authenticator.answer(https_endpoint, "a/b", creds, {"Bearer realm=\"" + auth.url() + "/token\",service=\"s\""});
  REQUIRE_FALSE(answer.ok());
  CHECK(answer.error().code() == ErrorCode::kPermissionDenied);
  CHECK_THAT(answer.error().message(), ContainsSubstring("plain-HTTP token realm"));
  CHECK(auth.requests().empty());
}
