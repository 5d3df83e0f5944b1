// socket_channel: the ByteChannel contract over a unix stream socket, which every Endpoint and
// Client test relies on.
#include "zoned/idm/socket_channel.h"

#include <poll.h>
#include <sys/socket.h>

#include <catch2/catch_test_macros.hpp>
#include <string>
#include <vector>

namespace zoned::idm {
namespace {

bool readable(const ByteChannel& channel, int timeout_ms = 0) {
  pollfd p{channel.poll_fd(), POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN) != 0;
}

std::string read_all(ByteChannel& channel) {
  std::string out;
  std::vector<char> buf(64 * 1024);
  for (;;) {
    auto n = channel.read_some(buf);
    if (!n.ok() || *n == 0) return out;
    out.append(buf.data(), *n);
  }
}

auto connected_pair() {
  auto pair = socket_channel_pair();
  REQUIRE(pair.ok());
  return std::move(*pair);
}

TEST_CASE("socket channel: bytes cross both ways, and reads never wait", "[idm][socket_channel]") {
  auto [a, b] = connected_pair();
  std::vector<char> buf(16);
  auto none = b->read_some(buf);
  REQUIRE(none.ok());
  CHECK(*none == 0);
  CHECK_FALSE(readable(*b));

  const std::string hello = "hello";
  auto written = a->write_some(hello);
  REQUIRE(written.ok());
  CHECK(*written == hello.size());
  CHECK(readable(*b, 1000));
  REQUIRE(b->ack_wakeup().ok());
  CHECK(read_all(*b) == "hello");
  CHECK_FALSE(readable(*b));

  REQUIRE(b->write_some(std::string("back")).ok());
  CHECK(read_all(*a) == "back");
  CHECK(a->is_open());
  CHECK(b->is_open());
}

TEST_CASE("socket channel: after the peer closes, what it sent is drained, then kUnavailable",
          "[idm][socket_channel]") {
  auto [a, b] = connected_pair();
  REQUIRE(a->write_some(std::string("last words")).ok());
  a.reset();
  CHECK_FALSE(b->is_open());
  CHECK(readable(*b, 1000));  // the close wakes the reader
  REQUIRE(b->ack_wakeup().ok());
  std::vector<char> buf(64);
  auto got = b->read_some(buf);
  REQUIRE(got.ok());
  CHECK(std::string(buf.data(), *got) == "last words");
  for (int i = 0; i < 2; ++i) {
    auto after = b->read_some(buf);
    REQUIRE_FALSE(after.ok());
    CHECK(after.error().code() == ErrorCode::kUnavailable);
  }
  auto write = b->write_some(std::string("anyone?"));
  REQUIRE_FALSE(write.ok());
  CHECK(write.error().code() == ErrorCode::kUnavailable);
  CHECK_FALSE(b->is_open());
}

TEST_CASE("socket channel: freed write space makes poll_fd readable until acknowledged", "[idm][socket_channel]") {
  auto [writer, reader] = connected_pair();
  const std::string chunk(64 * 1024, 'x');
  std::size_t total = 0;
  for (;;) {
    auto n = writer->write_some(chunk);
    REQUIRE(n.ok());
    total += *n;
    if (*n < chunk.size()) break;
  }
  CHECK(total > 0);
  auto full = writer->write_some(chunk);
  REQUIRE(full.ok());
  CHECK(*full == 0);
  CHECK_FALSE(readable(*writer));  // no space, no input: nothing to wake for

  REQUIRE(read_all(*reader).size() == total);
  CHECK(readable(*writer, 1000));  // the reader freed the space
  REQUIRE(writer->ack_wakeup().ok());
  CHECK_FALSE(readable(*writer));  // acknowledged, and there is no input
  auto again = writer->write_some(chunk);
  REQUIRE(again.ok());
  CHECK(*again > 0);
}

TEST_CASE("socket channel: only connected stream sockets", "[idm][socket_channel]") {
  int fds[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, fds) == 0);
  UniqueFd keep(fds[1]);
  auto channel = socket_channel(UniqueFd(fds[0]));
  REQUIRE_FALSE(channel.ok());
  CHECK(channel.error().code() == ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace zoned::idm
