// The streaming server over TLS: certificates made for the test with the openssl CLI, the
// in-repo client verifying them (or not), and what goes wrong: a wrong CA, a plain-HTTP
// client, bad certificate settings.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <cstdlib>

#include "support/temp_dir.h"
#include "test_support.h"

using namespace zoned::streaming;
using namespace zoned::streaming::testing;
using namespace std::chrono_literals;
using Catch::Matchers::ContainsSubstring;

namespace {

// A self-signed certificate for 127.0.0.1 (its own CA) in dir/<name>.{crt,key}.
void make_certificate(const std::string& dir, const std::string& name) {
  const std::string cmd =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
      "-subj /CN=zoned-test -addext subjectAltName=IP:127.0.0.1 -keyout " +
      dir + "/" + name + ".key -out " + dir + "/" + name + ".crt 2>/dev/null";
  REQUIRE(std::system(cmd.c_str()) == 0);
}

struct TlsFixture {
  zoned::testing::TempDir dir;
  FakeStreamingBackend backend;
  std::unique_ptr<StreamingServer> server;
  client::TlsOptions trusted;

  TlsFixture() {
    make_certificate(dir.path(), "server");
    make_certificate(dir.path(), "other");
    StreamingServerOptions options;
    options.tls_cert_file = dir.file("server.crt");
    options.tls_key_file = dir.file("server.key");
    auto started = StreamingServer::start(options, backend);
    INFO((started.ok() ? "" : started.error().describe()));
    REQUIRE(started.ok());
    server = std::move(*started);
    trusted.ca_file = dir.file("server.crt");
  }
};

ExecRequest command(std::vector<std::string> args) {
  ExecRequest r;
  r.container_id = "c1";
  r.args = std::move(args);
  return r;
}

}  // namespace

TEST_CASE("over TLS: exec with both streams and its exit code, SPDY and WebSocket, the server verified") {
  TlsFixture f;
  CHECK(f.server->base_url().rfind("https://127.0.0.1:", 0) == 0);
  for (auto transport : {client::Transport::kSpdy, client::Transport::kWebSocket}) {
    CAPTURE(transport == client::Transport::kSpdy ? "spdy" : "websocket");
    auto url = f.server->request_exec(command({"out-err-exit", "3"}), ExecStreams{});
    REQUIRE(url.ok());
    CHECK(url->rfind("https://", 0) == 0);
    client::CommandOptions options;
    options.transport = transport;
    options.tls = f.trusted;
    Collected out, err;
    auto session = client::CommandSession::start(*url, options, out.callback(), err.callback());
    INFO((session.ok() ? "" : session.error().describe()));
    REQUIRE(session.ok());
    auto result = (*session)->wait(5s);
    REQUIRE(result.ok());
    CHECK(result->exit_code == 3);
    CHECK(out.get() == "out\n");
    CHECK(err.get() == "err\n");
  }
}

TEST_CASE("over TLS: port-forward carries 4 MiB each way intact") {
  EchoServer echo;
  TlsFixture f;
  auto url = f.server->request_port_forward("pod-1");
  REQUIRE(url.ok());
  auto pf = client::PortForwardSession::connect_spdy(*url, 5s, f.trusted);
  INFO((pf.ok() ? "" : pf.error().describe()));
  REQUIRE(pf.ok());
  auto stream = (*pf)->open(echo.port());
  REQUIRE(stream.ok());
  std::string payload(4 << 20, '\0');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>((i * 7919) >> 3);
  std::thread writer([&] {
    for (size_t at = 0; at < payload.size(); at += 64 * 1024) {
      if (!(*stream)->write(std::string_view(payload).substr(at, 64 * 1024)).ok()) return;
    }
  });
  std::string got;
  char buf[64 * 1024];
  while (got.size() < payload.size()) {
    auto r = (*stream)->read(buf, sizeof(buf), 10s);
    if (!r.ok() || *r == 0) break;
    got.append(buf, *r);
  }
  writer.join();
  CHECK(got.size() == payload.size());
  CHECK(got == payload);
  (*pf)->close();
}

TEST_CASE("over TLS: a wrong CA is refused, insecure mode connects, a plain-HTTP client gets nothing") {
  TlsFixture f;
  auto url = f.server->request_exec(command({"out-err-exit", "0"}), ExecStreams{});
  REQUIRE(url.ok());
  client::CommandOptions wrong;
  wrong.tls.ca_file = f.dir.file("other.crt");
  auto refused = client::CommandSession::start(*url, wrong, nullptr, nullptr);
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.error().message(), ContainsSubstring("TLS handshake") && ContainsSubstring("certificate"));

  // Plain HTTP to the TLS port: no HTTP answer, and the server carries on.
  auto raw = raw_connect(f.server->base_url());
  send_all(raw.get(), "GET " + url_path(*url) + " HTTP/1.1\r\nHost: x\r\n\r\n");
  bool eof = false;
  const std::string answer = read_until_eof(raw.get(), 5s, &eof);
  CHECK(eof);
  CHECK(answer.find("HTTP/1.1") == std::string::npos);

  client::CommandOptions insecure;
  insecure.tls.insecure_skip_verify = true;
  auto session = client::CommandSession::start(*url, insecure, nullptr, nullptr);  // the token was not used up
  INFO((session.ok() ? "" : session.error().describe()));
  REQUIRE(session.ok());
  auto result = (*session)->wait(5s);
  REQUIRE(result.ok());
  CHECK(result->exit_code == 0);
}

TEST_CASE("TLS settings: both files needed, each must load, the key must match the certificate") {
  zoned::testing::TempDir dir;
  make_certificate(dir.path(), "a");
  make_certificate(dir.path(), "b");
  FakeStreamingBackend backend;
  struct Case {
    std::string cert, key, fragment;
  };
  const std::vector<Case> cases = {
      {dir.file("a.crt"), "", "needs both"},
      {dir.path() + "/missing.crt", dir.file("a.key"), "missing.crt"},
      {dir.file("a.crt"), dir.path() + "/missing.key", "missing.key"},
      {dir.file("a.crt"), dir.file("b.key"), "mismatch"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.cert, c.key);
    StreamingServerOptions options;
    options.tls_cert_file = c.cert;
    options.tls_key_file = c.key;
    auto server = StreamingServer::start(options, backend);
    REQUIRE_FALSE(server.ok());
    CHECK(server.error().code() == zoned::ErrorCode::kInvalidArgument);
    CHECK_THAT(server.error().message(), ContainsSubstring(c.fragment));
  }
}
