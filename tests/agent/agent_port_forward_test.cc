// PortForwardOpen / Close / Window through the agent loop: a real TCP listener on 127.0.0.1
// plays the pod's service (the in-process agent shares the test's network namespace).
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "agent_harness.h"
#include "zoned/common/unique_fd.h"
#include "zoned/idm/validate.h"

using namespace zoned::testing;
using Catch::Matchers::ContainsSubstring;
using zoned::UniqueFd;
using zoned::idm::v1::STREAM_FD_STDOUT;

namespace {

struct Listener {
  UniqueFd fd;
  uint16_t port = 0;
  Listener() : fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd.get(), 8) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port = ntohs(addr.sin_port);
  }
};

Request open_request(uint32_t stream, uint16_t port, uint32_t window) {
  Request r;
  r.mutable_port_forward_open()->set_stream_id(stream);
  r.mutable_port_forward_open()->set_port(port);
  r.mutable_port_forward_open()->set_window(window);
  return r;
}

Request window_request(uint32_t stream, uint32_t bytes) {
  Request r;
  r.mutable_port_forward_window()->set_stream_id(stream);
  r.mutable_port_forward_window()->set_bytes(bytes);
  return r;
}

Request close_request(uint32_t stream) {
  Request r;
  r.mutable_port_forward_close()->set_stream_id(stream);
  return r;
}

UniqueFd accept_one(AgentHarness& h, Listener& l) {
  UniqueFd conn;
  h.run_until([&] {
    conn = UniqueFd(::accept4(l.fd.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    return conn.valid();
  });
  REQUIRE(conn.valid());
  return conn;
}

// Reads what the server side got, stepping the agent meanwhile, until `n` bytes or EOF.
std::string server_read(AgentHarness& h, int fd, size_t n, bool* eof = nullptr) {
  std::string got;
  h.run_until([&] {
    char buf[4096];
    for (;;) {
      const ssize_t r = ::recv(fd, buf, sizeof buf, 0);
      if (r > 0) {
        got.append(buf, static_cast<size_t>(r));
        continue;
      }
      if (r == 0 && eof) *eof = true;
      return r == 0 || got.size() >= n;
    }
  });
  return got;
}

size_t granted(const AgentHarness& h, uint32_t stream) {
  size_t total = 0;
  for (const auto& e : h.events()) {
    if (e.has_port_forward_window() && e.port_forward_window().stream_id() == stream) {
      total += e.port_forward_window().bytes();
    }
  }
  return total;
}

std::optional<std::string> closed(const AgentHarness& h, uint32_t stream) {
  for (const auto& e : h.events()) {
    if (e.has_port_forward_closed() && e.port_forward_closed().stream_id() == stream) {
      return e.port_forward_closed().message();
    }
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("port forward: bytes both ways within the windows, half-closes, then PortForwardClosed") {
  AgentHarness h;
  REQUIRE(h.connect());
  Listener l;
  REQUIRE(h.call(open_request(30, l.port, 1000)).has_ack());
  UniqueFd conn = accept_one(h, l);

  h.send_stdin(30, "hello", false);
  CHECK(server_read(h, conn.get(), 5) == "hello");
  REQUIRE(h.run_until([&] { return granted(h, 30) == 5; }));  // written bytes are granted back

  const std::string big(3000, 'x');
  REQUIRE(::send(conn.get(), big.data(), big.size(), 0) == 3000);
  REQUIRE(h.run_until([&] { return h.output(30, STREAM_FD_STDOUT).size() == 1000; }));
  h.run_until([] { return false; }, std::chrono::milliseconds(200));
  CHECK(h.output(30, STREAM_FD_STDOUT).size() == 1000);  // no more than the daemon's window
  REQUIRE(h.call(window_request(30, 5000)).has_ack());
  REQUIRE(h.run_until([&] { return h.output(30, STREAM_FD_STDOUT).size() == 3000; }));

  ::shutdown(conn.get(), SHUT_WR);
  REQUIRE(h.run_until([&] { return h.eof(30, STREAM_FD_STDOUT); }));
  CHECK_FALSE(closed(h, 30).has_value());  // the other direction is still open
  h.send_stdin(30, "bye", true);
  bool eof = false;
  CHECK(server_read(h, conn.get(), 100, &eof) == "bye");
  CHECK(eof);
  REQUIRE(h.run_until([&] { return closed(h, 30).has_value(); }));
  CHECK(closed(h, 30)->empty());
  CHECK(h.call(close_request(30)).error().code() == zoned::idm::v1::Error::CODE_NOT_FOUND);
}

TEST_CASE("port forward: nothing listening is kUnavailable; ids in use and unknown ids are refused") {
  AgentHarness h;
  REQUIRE(h.connect());
  uint16_t free_port = 0;
  {
    Listener gone;
    free_port = gone.port;
  }
  const auto refused = h.call(open_request(31, free_port, 1000));
  REQUIRE(refused.has_error());
  CHECK_THAT(refused.error().message(), ContainsSubstring("127.0.0.1:" + std::to_string(free_port)));

  Listener l;
  REQUIRE(h.call(open_request(32, l.port, 1000)).has_ack());
  CHECK(h.call(open_request(32, l.port, 1000)).error().code() == zoned::idm::v1::Error::CODE_ALREADY_EXISTS);
  CHECK(h.call(window_request(99, 10)).error().code() == zoned::idm::v1::Error::CODE_NOT_FOUND);
  CHECK(h.call(window_request(32, 16 * 1024 * 1024)).has_error());  // beyond 16 MiB outstanding
}

TEST_CASE("port forward: PortForwardClose closes the socket; a daemon overrunning its window is cut off") {
  AgentHarness h;
  REQUIRE(h.connect());
  Listener l;
  REQUIRE(h.call(open_request(40, l.port, 1000)).has_ack());
  UniqueFd first = accept_one(h, l);
  REQUIRE(h.call(close_request(40)).has_ack());
  bool eof = false;
  CHECK(server_read(h, first.get(), 1, &eof).empty());
  CHECK(eof);

  REQUIRE(h.call(open_request(41, l.port, 1000)).has_ack());
  UniqueFd second = accept_one(h, l);
  // The server does not read: the agent holds what it could not write, at most its window.
  const std::string chunk(200 * 1024, 'y');
  for (size_t sent = 0; sent <= zoned::idm::kPortForwardInitialWindow + 16 * 1024 * 1024; sent += chunk.size()) {
    h.send_stdin(41, chunk, false);
    h.step();
    if (closed(h, 41)) break;
  }
  REQUIRE(h.run_until([&] { return closed(h, 41).has_value(); }));
  CHECK_THAT(*closed(h, 41), ContainsSubstring("window"));
}
