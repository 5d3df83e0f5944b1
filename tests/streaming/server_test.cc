// The streaming server end to end over 127.0.0.1: the in-repo client (SPDY/3.1 and WebSocket)
// against StreamingServer with FakeStreamingBackend.
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>

#include "test_support.h"

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

client::CommandOptions transport_options(client::Transport transport, std::vector<std::string> protocols) {
  client::CommandOptions o;
  o.transport = transport;
  o.protocols = std::move(protocols);
  return o;
}

}  // namespace

TEST_CASE("exec gives stdout, stderr and exit code 3 as a NonZeroExitCode status") {
  auto [transport, protocol] = GENERATE(std::pair(client::Transport::kSpdy, "v4.channel.k8s.io"),
                                        std::pair(client::Transport::kSpdy, "v5.channel.k8s.io"),
                                        std::pair(client::Transport::kWebSocket, "v4.channel.k8s.io"),
                                        std::pair(client::Transport::kWebSocket, "v5.channel.k8s.io"));
  ServerFixture f;
  auto url = f.server->request_exec(command({"out-err-exit", "3"}), ExecStreams{});
  REQUIRE(url.ok());
  Collected out, err;
  auto session =
      client::CommandSession::start(*url, transport_options(transport, {protocol}), out.callback(), err.callback());
  REQUIRE(session.ok());
  CHECK((*session)->protocol() == protocol);
  auto result = (*session)->wait(5s);
  REQUIRE(result.ok());
  CHECK(result->exit_code == 3);
  CHECK_FALSE(result->failed);
  CHECK(out.get() == "out\n");
  CHECK(err.get() == "err\n");
  session->reset();
  CHECK(eventually([&] { return f.backend.counters.live_sessions == 0; }));
}

TEST_CASE("exec exiting 0 reports Success; a command that cannot start reports Failure") {
  ServerFixture f;
  auto ok_url = f.server->request_exec(command({"out-err-exit", "0"}), ExecStreams{});
  REQUIRE(ok_url.ok());
  auto ok = client::CommandSession::start(*ok_url, {}, nullptr, nullptr);
  REQUIRE(ok.ok());
  auto r = (*ok)->wait(5s);
  REQUIRE(r.ok());
  CHECK(r->exit_code == 0);
  CHECK_FALSE(r->failed);

  auto bad_url = f.server->request_exec(command({"no-such-binary"}), ExecStreams{});
  REQUIRE(bad_url.ok());
  auto bad = client::CommandSession::start(*bad_url, {}, nullptr, nullptr);
  REQUIRE(bad.ok());
  auto b = (*bad)->wait(5s);
  REQUIRE(b.ok());
  CHECK(b->failed);
  CHECK(b->message.find("no such command") != std::string::npos);
}

TEST_CASE("stdin is piped through and closing it ends the command") {
  auto [transport, protocol] = GENERATE(std::pair(client::Transport::kSpdy, "v4.channel.k8s.io"),
                                        std::pair(client::Transport::kWebSocket, "v5.channel.k8s.io"));
  ServerFixture f;
  auto url = f.server->request_exec(command({"cat"}), ExecStreams{.stdin = true, .stdout = true, .stderr = false});
  REQUIRE(url.ok());
  auto options = transport_options(transport, {protocol});
  options.stdin = true;
  options.stderr = false;
  Collected out;
  auto session = client::CommandSession::start(*url, options, out.callback(), nullptr);
  REQUIRE(session.ok());
  REQUIRE((*session)->write_stdin("hello ").ok());
  REQUIRE((*session)->write_stdin("world\n").ok());
  CHECK(eventually([&] { return out.get() == "hello world\n"; }));
  REQUIRE((*session)->close_stdin().ok());
  auto result = (*session)->wait(5s);
  REQUIRE(result.ok());
  CHECK(result->exit_code == 0);
}

TEST_CASE("websocket v4 cannot close stdin (that came with v5)") {
  ServerFixture f;
  auto url = f.server->request_exec(command({"cat"}), ExecStreams{.stdin = true});
  REQUIRE(url.ok());
  auto options = transport_options(client::Transport::kWebSocket, {"v4.channel.k8s.io"});
  options.stdin = true;
  auto session = client::CommandSession::start(*url, options, nullptr, nullptr);
  REQUIRE(session.ok());
  CHECK((*session)->close_stdin().error().code() == zoned::ErrorCode::kUnimplemented);
}

TEST_CASE("a tty exec gets resize events") {
  auto transport = GENERATE(client::Transport::kSpdy, client::Transport::kWebSocket);
  ServerFixture f;
  auto url =
      f.server->request_exec(command({"cat"}), ExecStreams{.stdin = true, .stdout = true, .stderr = true, .tty = true});
  REQUIRE(url.ok());
  auto options = transport_options(transport, {"v5.channel.k8s.io"});
  options.stdin = true;
  options.tty = true;
  Collected out;
  auto session = client::CommandSession::start(*url, options, out.callback(), nullptr);
  REQUIRE(session.ok());
  REQUIRE((*session)->resize(80, 24).ok());
  REQUIRE((*session)->resize(132, 43).ok());
  REQUIRE((*session)->write_stdin("x").ok());
  CHECK(eventually([&] { return out.get() == "x"; }));
  CHECK(eventually([&] {
    std::lock_guard lock(f.backend.counters.mu);
    return f.backend.counters.resizes.size() == 2;
  }));
  {
    std::lock_guard lock(f.backend.counters.mu);
    CHECK(f.backend.counters.resizes[0] == std::pair<uint32_t, uint32_t>(24, 80));
    CHECK(f.backend.counters.resizes[1] == std::pair<uint32_t, uint32_t>(43, 132));
  }
  REQUIRE((*session)->close_stdin().ok());
  REQUIRE((*session)->wait(5s).ok());
}

TEST_CASE("large output arrives whole (flow control does not stall)") {
  ServerFixture f;
  auto url = f.server->request_exec(command({"big", "3000000"}), ExecStreams{});
  REQUIRE(url.ok());
  std::atomic<size_t> bytes{0};
  auto session = client::CommandSession::start(
      *url, {}, [&](std::string_view d) { bytes += d.size(); }, nullptr);
  REQUIRE(session.ok());
  auto result = (*session)->wait(20s);
  REQUIRE(result.ok());
  CHECK(bytes == 3000000);
}

TEST_CASE("attach echoes through the main process and detaches when the client leaves") {
  auto transport = GENERATE(client::Transport::kSpdy, client::Transport::kWebSocket);
  ServerFixture f;
  AttachRequest request{"attachable", true, false};
  auto url = f.server->request_attach(request, ExecStreams{.stdin = true, .stdout = true, .stderr = true});
  REQUIRE(url.ok());
  auto options = transport_options(transport, {"v5.channel.k8s.io"});
  options.stdin = true;
  Collected out;
  auto session = client::CommandSession::start(*url, options, out.callback(), nullptr);
  REQUIRE(session.ok());
  REQUIRE((*session)->write_stdin("ping").ok());
  CHECK(eventually([&] { return out.get() == "ping"; }));
  CHECK(f.backend.counters.live_sessions == 1);
  (*session)->abort();
  CHECK(eventually([&] { return f.backend.counters.detaches == 1 && f.backend.counters.live_sessions == 0; }));
  CHECK(f.backend.counters.kills == 0);  // attach never kills the container
}

TEST_CASE("attach ends with Success when the container exits") {
  ServerFixture f;
  auto url = f.server->request_attach(AttachRequest{"attachable", false, false}, ExecStreams{});
  REQUIRE(url.ok());
  auto session = client::CommandSession::start(*url, {}, nullptr, nullptr);
  REQUIRE(session.ok());
  f.backend.end_container();
  auto result = (*session)->wait(5s);
  REQUIRE(result.ok());
  CHECK_FALSE(result->failed);
}

TEST_CASE("port-forward over SPDY: two concurrent connections to an echo server") {
  EchoServer echo;
  ServerFixture f;
  auto url = f.server->request_port_forward("pod-1");
  REQUIRE(url.ok());
  auto pf = client::PortForwardSession::connect_spdy(*url, 5s);
  REQUIRE(pf.ok());
  auto a = (*pf)->open(echo.port());
  auto b = (*pf)->open(echo.port());
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  REQUIRE((*a)->write("first").ok());
  REQUIRE((*b)->write("second").ok());
  auto read_exact = [](zoned::streaming::client::ForwardStream& s, size_t n) {
    std::string got;
    char buf[4096];
    while (got.size() < n) {
      auto r = s.read(buf, sizeof(buf), 5s);
      if (!r || *r == 0) break;
      got.append(buf, *r);
    }
    return got;
  };
  CHECK(read_exact(**b, 6) == "second");
  CHECK(read_exact(**a, 5) == "first");
  CHECK(f.backend.counters.live_sessions == 2);
  // A half-close reaches the echo server, which closes: the stream ends.
  REQUIRE((*a)->close_write().ok());
  char buf[16];
  auto eof = (*a)->read(buf, sizeof(buf), 5s);
  REQUIRE(eof.ok());
  CHECK(*eof == 0);
  (*pf)->close();
  CHECK(eventually([&] { return f.backend.counters.live_sessions == 0; }));
}

TEST_CASE("port-forward over SPDY reports a failed dial on the error stream") {
  ServerFixture f;
  auto url = f.server->request_port_forward("pod-1");
  REQUIRE(url.ok());
  auto pf = client::PortForwardSession::connect_spdy(*url, 5s);
  REQUIRE(pf.ok());
  auto s = (*pf)->open(1);  // nothing listens on port 1
  REQUIRE(s.ok());
  char buf[16];
  auto r = (*s)->read(buf, sizeof(buf), 5s);
  REQUIRE(r.ok());
  CHECK(*r == 0);
  CHECK(eventually([&] { return (*s)->error_text().find("error forwarding port 1") != std::string::npos; }));
}

TEST_CASE("port-forward over WebSocket: two ports at once") {
  EchoServer echo1, echo2;
  ServerFixture f;
  auto url = f.server->request_port_forward("pod-1");
  REQUIRE(url.ok());
  auto pf = client::PortForwardSession::connect_websocket(*url, {echo1.port(), echo2.port()}, 5s);
  REQUIRE(pf.ok());
  auto a = (*pf)->open(echo1.port());
  auto b = (*pf)->open(echo2.port());
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  REQUIRE((*a)->write("to-one").ok());
  REQUIRE((*b)->write("to-two").ok());
  auto read_some = [](zoned::streaming::client::ForwardStream& s, size_t n) {
    std::string got;
    char buf[64];
    while (got.size() < n) {
      auto r = s.read(buf, sizeof(buf), 5s);
      if (!r || *r == 0) break;
      got.append(buf, *r);
    }
    return got;
  };
  CHECK(read_some(**a, 6) == "to-one");
  CHECK(read_some(**b, 6) == "to-two");
  (*pf)->close();
  CHECK(eventually([&] { return f.backend.counters.live_sessions == 0; }));
}

TEST_CASE("tokens are single use and expire") {
  StreamingServerOptions options;
  options.token_ttl = 200ms;
  ServerFixture f(options);
  auto url = f.server->request_exec(command({"out-err-exit", "0"}), ExecStreams{});
  REQUIRE(url.ok());
  auto first = client::CommandSession::start(*url, {}, nullptr, nullptr);
  REQUIRE(first.ok());
  REQUIRE((*first)->wait(5s).ok());
  auto again = client::CommandSession::start(*url, {}, nullptr, nullptr);
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().code() == zoned::ErrorCode::kNotFound);

  auto late = f.server->request_exec(command({"out-err-exit", "0"}), ExecStreams{});
  REQUIRE(late.ok());
  CHECK(f.server->stats().pending_requests == 1);
  std::this_thread::sleep_for(300ms);
  CHECK(f.server->stats().pending_requests == 0);
  auto expired = client::CommandSession::start(*late, {}, nullptr, nullptr);
  REQUIRE_FALSE(expired.ok());
  CHECK(expired.error().code() == zoned::ErrorCode::kNotFound);

  // A token of one kind does not open another.
  auto pf = f.server->request_port_forward("pod-1");
  REQUIRE(pf.ok());
  std::string as_exec = *pf;
  as_exec.replace(as_exec.find("/portforward/"), 13, "/exec/");
  CHECK_FALSE(client::CommandSession::start(as_exec, {}, nullptr, nullptr).ok());
}

TEST_CASE("pending requests are bounded and bad requests are refused") {
  StreamingServerOptions options;
  options.max_pending_requests = 2;
  ServerFixture f(options);
  REQUIRE(f.server->request_port_forward("pod-1").ok());
  REQUIRE(f.server->request_port_forward("pod-1").ok());
  auto third = f.server->request_port_forward("pod-1");
  REQUIRE_FALSE(third.ok());
  CHECK(third.error().code() == zoned::ErrorCode::kResourceExhausted);
  CHECK_FALSE(f.server->request_exec(command({}), ExecStreams{}).ok());
  CHECK_FALSE(f.server->request_exec(command({"x"}), ExecStreams{false, false, false, false}).ok());
}

TEST_CASE("an unsupported subprotocol is refused with 403") {
  ServerFixture f;
  auto url = f.server->request_exec(command({"out-err-exit", "0"}), ExecStreams{});
  REQUIRE(url.ok());
  auto session = client::CommandSession::start(*url, transport_options(client::Transport::kSpdy, {"v1.channel.k8s.io"}),
                                               nullptr, nullptr);
  REQUIRE_FALSE(session.ok());
  CHECK(session.error().code() == zoned::ErrorCode::kPermissionDenied);
}
