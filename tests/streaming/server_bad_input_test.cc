// Hostile and vanishing clients: each connection ends with an error, the backend session is
// ended, and the server keeps serving others.
#include <poll.h>
#include <sys/socket.h>

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>

#include "test_support.h"
#include "zoned/streaming/spdy_frame.h"

using namespace zoned::streaming;
using namespace zoned::streaming::testing;
using namespace std::chrono_literals;

namespace {

ExecRequest command(std::vector<std::string> args) {
  ExecRequest r;
  r.container_id = "c1";
  r.args = std::move(args);
  return r;
}

// Connects and upgrades to SPDY by hand; returns the socket after the 101 head.
zoned::UniqueFd spdy_upgrade(const std::string& url) {
  auto fd = raw_connect(url);
  send_all(fd.get(), "GET " + url_path(url) +
                         " HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
                         "X-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n");
  std::string head;
  char c;
  while (head.find("\r\n\r\n") == std::string::npos && ::recv(fd.get(), &c, 1, 0) == 1) head.push_back(c);
  REQUIRE(head.starts_with("HTTP/1.1 101"));
  return fd;
}

// The server still runs a whole exec for a well-behaved client.
void check_server_still_serves(ServerFixture& f) {
  auto url = f.server->request_exec(command({"out-err-exit", "5"}), ExecStreams{});
  REQUIRE(url.ok());
  auto session = client::CommandSession::start(*url, {}, nullptr, nullptr);
  REQUIRE(session.ok());
  auto result = (*session)->wait(5s);
  REQUIRE(result.ok());
  CHECK(result->exit_code == 5);
}

}  // namespace

TEST_CASE("malformed SPDY input closes the connection with GOAWAY, others are unaffected") {
  ServerFixture f;
  std::string bad_version = spdy::ping_frame(1);
  bad_version[1] = 2;
  std::string oversized = spdy::data_frame(1, 0, "");
  oversized[5] = '\xff';  // length 16 MiB - 1, above the 1 MiB bound
  oversized[6] = '\xff';
  oversized[7] = '\xff';
  const std::string unknown_stream = spdy::data_frame(99, 0, "data for a stream never opened");
  std::string corrupt_headers = spdy::syn_stream_frame(1, 0, "definitely not zlib");
  std::string even_stream;
  {
    spdy::HeaderCodec codec(spdy::Limits{});
    even_stream = spdy::syn_stream_frame(2, 0, *codec.encode({{"streamtype", "error"}}));
  }
  const std::string garbage(64, '\x80');
  for (const auto& input : {bad_version, oversized, unknown_stream, corrupt_headers, even_stream, garbage}) {
    auto url = f.server->request_exec(command({"sleep"}), ExecStreams{});
    REQUIRE(url.ok());
    auto fd = spdy_upgrade(*url);
    send_all(fd.get(), input);
    bool eof = false;
    const std::string reply = read_until_eof(fd.get(), 5s, &eof);
    CHECK(eof);
    spdy::FrameParser parser(spdy::Limits{});
    parser.feed(reply);
    auto frame = parser.next();
    REQUIRE(frame.ok());
    REQUIRE(frame->has_value());
    CHECK((*frame)->type == spdy::FrameType::kGoAway);
  }
  CHECK(eventually([&] { return f.server->stats().connections == 0; }));
  CHECK(f.backend.counters.live_sessions == 0);
  check_server_still_serves(f);
}

TEST_CASE("a header block that inflates past the bound is refused") {
  ServerFixture f;
  auto url = f.server->request_exec(command({"sleep"}), ExecStreams{});
  REQUIRE(url.ok());
  auto fd = spdy_upgrade(*url);
  spdy::HeaderCodec codec(spdy::Limits{});
  auto block = codec.encode({{"streamtype", std::string(1 << 20, 'a')}});
  REQUIRE(block.ok());
  send_all(fd.get(), spdy::syn_stream_frame(1, 0, *block));
  bool eof = false;
  read_until_eof(fd.get(), 5s, &eof);
  CHECK(eof);
  check_server_still_serves(f);
}

TEST_CASE("a client that vanishes mid-exec gets its process killed and nothing leaks") {
  auto transport = GENERATE(client::Transport::kSpdy, client::Transport::kWebSocket);
  ServerFixture f;
  auto url = f.server->request_exec(command({"sleep"}), ExecStreams{.stdin = true});
  REQUIRE(url.ok());
  client::CommandOptions options;
  options.transport = transport;
  options.stdin = true;
  auto session = client::CommandSession::start(*url, options, nullptr, nullptr);
  REQUIRE(session.ok());
  REQUIRE(eventually([&] { return f.backend.counters.live_sessions == 1; }));
  (*session)->abort();
  CHECK(eventually([&] { return f.backend.counters.kills == 1; }));
  CHECK(eventually([&] { return f.backend.counters.live_sessions == 0; }));
  CHECK(eventually([&] { return f.server->stats().connections == 0 && f.server->stats().sessions == 0; }));
  check_server_still_serves(f);
}

TEST_CASE("a client that never creates its streams is dropped after the creation timeout") {
  StreamingServerOptions options;
  options.stream_creation_timeout = 300ms;
  ServerFixture f(options);
  auto url = f.server->request_exec(command({"sleep"}), ExecStreams{});
  REQUIRE(url.ok());
  auto fd = spdy_upgrade(*url);
  bool eof = false;
  read_until_eof(fd.get(), 5s, &eof);
  CHECK(eof);
  CHECK(f.backend.counters.live_sessions == 0);
}

TEST_CASE("bad HTTP is answered with an error status") {
  ServerFixture f;
  struct Case {
    std::string request;
    std::string status;
  };
  const std::vector<Case> cases = {
      {"NONSENSE\r\n\r\n", "HTTP/1.1 400"},
      {"GET /exec/abc HTTP/1.0\r\n\r\n", "HTTP/1.1 400"},
      {"GET /nothing/here HTTP/1.1\r\n\r\n", "HTTP/1.1 404"},
      {"GET /exec/0123456789abcdef0123456789abcdef HTTP/1.1\r\nUpgrade: SPDY/3.1\r\n\r\n", "HTTP/1.1 404"},
      {"GET / HTTP/1.1\r\nX: " + std::string(20000, 'a') + "\r\n\r\n", "HTTP/1.1 400"},
  };
  for (const auto& c : cases) {
    auto fd = raw_connect(f.server->base_url());
    send_all(fd.get(), c.request);
    const std::string reply = read_until_eof(fd.get(), 5s);
    INFO(c.request.substr(0, 40) << " -> " << reply.substr(0, 60));
    CHECK(reply.starts_with(c.status));
  }
  // A valid token without an upgrade is consumed and refused.
  auto url = f.server->request_exec(command({"sleep"}), ExecStreams{});
  REQUIRE(url.ok());
  auto fd = raw_connect(*url);
  send_all(fd.get(), "GET " + url_path(*url) + " HTTP/1.1\r\n\r\n");
  CHECK(read_until_eof(fd.get(), 5s).starts_with("HTTP/1.1 400"));
}

TEST_CASE("connections beyond the limit are refused with 503") {
  StreamingServerOptions options;
  options.max_connections = 2;
  options.handshake_timeout = 5s;
  ServerFixture f(options);
  auto a = raw_connect(f.server->base_url());
  auto b = raw_connect(f.server->base_url());
  REQUIRE(eventually([&] { return f.server->stats().connections == 2; }));
  auto c = raw_connect(f.server->base_url());
  CHECK(read_until_eof(c.get(), 5s).starts_with("HTTP/1.1 503"));
}

TEST_CASE("stop ends live sessions and port connections") {
  EchoServer echo;
  auto f = std::make_unique<ServerFixture>();
  auto url = f->server->request_exec(command({"sleep"}), ExecStreams{});
  REQUIRE(url.ok());
  auto session = client::CommandSession::start(*url, {}, nullptr, nullptr);
  REQUIRE(session.ok());
  auto pf_url = f->server->request_port_forward("pod-1");
  REQUIRE(pf_url.ok());
  auto pf = client::PortForwardSession::connect_spdy(*pf_url, 5s);
  REQUIRE(pf.ok());
  auto stream = (*pf)->open(echo.port());
  REQUIRE(stream.ok());
  REQUIRE(eventually([&] { return f->backend.counters.live_sessions == 2; }));
  f->server->stop();
  CHECK(f->backend.counters.live_sessions == 0);
  CHECK(f->backend.counters.kills == 1);
  auto result = (*session)->wait(5s);
  CHECK_FALSE(result.ok());  // no status came: the connection was cut
}
