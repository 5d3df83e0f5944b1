// Endpoint: the protocol engine over a socket channel: round trips, partial writes, the
// outbound limit, the per-pump read budget, and what a hostile peer's bytes do to it.
#include "zoned/idm/endpoint.h"

#include <google/protobuf/util/message_differencer.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <functional>
#include <string>
#include <vector>

#include "agent_peer.h"
#include "sample_messages.h"
#include "silent_channel.h"
#include "zoned/idm/socket_channel.h"

namespace zoned::idm {
namespace {

using Catch::Matchers::ContainsSubstring;
using google::protobuf::util::MessageDifferencer;

struct Pair {
  std::unique_ptr<Endpoint> a;
  std::unique_ptr<Endpoint> b;
};

Pair endpoint_pair(Endpoint::Limits limits = {}) {
  auto channels = socket_channel_pair();
  REQUIRE(channels.ok());
  return {std::make_unique<Endpoint>(std::move(channels->first), limits),
          std::make_unique<Endpoint>(std::move(channels->second), limits)};
}

// An Endpoint on one end of a socketpair, the raw other end for writing arbitrary bytes.
struct RawPeer {
  std::unique_ptr<Endpoint> endpoint;
  UniqueFd raw;
};

RawPeer raw_peer(Endpoint::Limits limits = {}, int buffer_bytes = 0) {
  int fds[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
  if (buffer_bytes > 0) {
    for (int fd : fds) {
      REQUIRE(::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer_bytes, sizeof buffer_bytes) == 0);
      REQUIRE(::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer_bytes, sizeof buffer_bytes) == 0);
    }
  }
  auto channel = socket_channel(UniqueFd(fds[0]));
  REQUIRE(channel.ok());
  return {std::make_unique<Endpoint>(std::move(*channel), limits), UniqueFd(fds[1])};
}

void write_raw(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    REQUIRE(n > 0);
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

bool wait_readable(Endpoint& endpoint, int timeout_ms = 1000) {
  pollfd p{endpoint.poll_fd(), POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) != 1) return false;
  return endpoint.ack_wakeup().ok();
}

// Pumps both endpoints, waiting on either, until `done` or too many rounds; envelopes arriving
// at b are appended to `at_b`.
void pump_until(Endpoint& a, Endpoint& b, std::vector<Envelope>& at_b, const std::function<bool()>& done) {
  for (int round = 0; round < 100000 && !done(); ++round) {
    auto from_b = a.pump();
    REQUIRE(from_b.ok());
    auto to_b = b.pump();
    REQUIRE(to_b.ok());
    for (auto& e : *to_b) at_b.push_back(std::move(e));
    if (done()) return;
    pollfd p[2] = {{a.poll_fd(), POLLIN, 0}, {b.poll_fd(), POLLIN, 0}};
    if (b.input_pending()) continue;
    REQUIRE(::poll(p, 2, 1000) > 0);
    if (p[0].revents & POLLIN) REQUIRE(a.ack_wakeup().ok());
    if (p[1].revents & POLLIN) REQUIRE(b.ack_wakeup().ok());
  }
  REQUIRE(done());
}

std::string frame_of(const Envelope& e) {
  auto frame = encode_frame(e);
  REQUIRE(frame.ok());
  return *frame;
}

void require_dead(Endpoint& endpoint, ErrorCode code, const std::string& message) {
  Result<std::vector<Envelope>> result = std::vector<Envelope>{};
  for (int i = 0; i < 100 && result.ok(); ++i) {
    if (!endpoint.input_pending()) wait_readable(endpoint, 100);
    result = endpoint.pump();
  }
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().code() == code);
  CHECK_THAT(result.error().message(), ContainsSubstring(message));
  CHECK_FALSE(endpoint.alive());
  auto again = endpoint.pump();  // dead for good, with the same reason
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().message() == result.error().message());
  CHECK_FALSE(endpoint.send(testing::stream_envelope("x")).ok());
}

TEST_CASE("endpoint: every message form crosses both ways, in order", "[idm][endpoint]") {
  auto [a, b] = endpoint_pair();
  const auto samples = testing::sample_envelopes();
  for (const auto& s : samples) REQUIRE(a->send(s.envelope).ok());
  std::vector<Envelope> at_b;
  pump_until(*a, *b, at_b, [&] { return at_b.size() == samples.size(); });
  for (std::size_t i = 0; i < samples.size(); ++i) {
    INFO(samples[i].name);
    CHECK(MessageDifferencer::Equals(samples[i].envelope, at_b[i]));
  }
  CHECK(a->outbound_bytes() == 0);

  for (const auto& s : samples) REQUIRE(b->send(s.envelope).ok());
  std::vector<Envelope> at_a;
  pump_until(*b, *a, at_a, [&] { return at_a.size() == samples.size(); });
  CHECK(MessageDifferencer::Equals(samples.back().envelope, at_a.back()));
}

TEST_CASE("endpoint: many messages through tiny socket buffers arrive whole and in order", "[idm][endpoint]") {
  auto peer = raw_peer({}, 4096);
  auto channel = socket_channel(std::move(peer.raw));
  REQUIRE(channel.ok());
  Endpoint far(std::move(*channel));
  Endpoint& near = *peer.endpoint;

  constexpr int kMessages = 300;
  for (int i = 0; i < kMessages; ++i) {
    REQUIRE(near.send(testing::stream_envelope(std::to_string(i) + std::string(3000, 'p'))).ok());
  }
  REQUIRE(near.pump().ok());
  CHECK(near.outbound_bytes() > 0);  // far more than the socket holds: writes were partial
  std::vector<Envelope> received;
  pump_until(near, far, received, [&] { return received.size() == kMessages; });
  for (int i = 0; i < kMessages; ++i) {
    CHECK(received[static_cast<std::size_t>(i)].stream().data() == std::to_string(i) + std::string(3000, 'p'));
  }
  CHECK(near.outbound_bytes() == 0);
}

TEST_CASE("endpoint: send refuses what would overflow the outbound queue, and queues nothing", "[idm][endpoint]") {
  Endpoint::Limits limits;
  limits.max_frame_bytes = 2048;
  limits.max_outbound_bytes = 8192;
  auto [a, b] = endpoint_pair(limits);
  const Envelope chunk = testing::stream_envelope(std::string(1000, 'c'));
  std::size_t queued = 0;
  Status status = ok_status();
  while ((status = a->send(chunk)).ok()) ++queued;
  CHECK(status.error().code() == ErrorCode::kResourceExhausted);
  CHECK(queued == 8192 / frame_of(chunk).size());
  const std::size_t before = a->outbound_bytes();
  CHECK(before <= 8192);
  CHECK_FALSE(a->send(chunk).ok());
  CHECK(a->outbound_bytes() == before);

  std::vector<Envelope> at_b;
  pump_until(*a, *b, at_b, [&] { return at_b.size() == queued; });
  CHECK(a->send(chunk).ok());  // room again once written
}

TEST_CASE("endpoint: the outbound limit always holds one maximal frame", "[idm][endpoint]") {
  Endpoint::Limits limits;
  limits.max_frame_bytes = 4096;
  limits.max_outbound_bytes = 10;
  auto [a, b] = endpoint_pair(limits);
  CHECK(a->limits().max_outbound_bytes == kFrameHeaderBytes + 4096);
  CHECK(a->send(testing::stream_envelope(std::string(4000, 'x'))).ok());
}

TEST_CASE("endpoint: our own invalid or oversized envelopes are refused without harm", "[idm][endpoint]") {
  Endpoint::Limits limits;
  limits.max_frame_bytes = 1024;
  auto [a, b] = endpoint_pair(limits);
  Envelope bad = testing::stream_envelope("x");
  bad.mutable_stream()->set_stream_id(0);
  auto invalid = a->send(bad);
  REQUIRE_FALSE(invalid.ok());
  CHECK(invalid.error().code() == ErrorCode::kInvalidArgument);
  CHECK_THAT(invalid.error().message(), ContainsSubstring("stream.stream_id: zero"));
  auto big = a->send(testing::stream_envelope(std::string(2000, 'x')));
  REQUIRE_FALSE(big.ok());
  CHECK(big.error().code() == ErrorCode::kInvalidArgument);
  CHECK(a->outbound_bytes() == 0);
  CHECK(a->alive());
  CHECK(a->send(testing::stream_envelope("fine")).ok());
}

TEST_CASE("endpoint: a malformed frame from the peer kills the endpoint", "[idm][endpoint]") {
  auto peer = raw_peer();
  SECTION("bad magic") {
    write_raw(peer.raw.get(), "GET / HTTP/1.1\r\n\r\n");
    require_dead(*peer.endpoint, ErrorCode::kInvalidArgument, "idm frame: bad magic");
  }
  SECTION("a payload that is not an Envelope") {
    std::string frame = frame_of(testing::stream_envelope("abc"));
    frame[kFrameHeaderBytes] = '\xff';  // an invalid tag
    write_raw(peer.raw.get(), frame);
    require_dead(*peer.endpoint, ErrorCode::kInvalidArgument, "not a valid Envelope");
  }
  SECTION("an envelope that fails validation") {
    Envelope bad = testing::stream_envelope("abc");
    bad.mutable_stream()->set_stream_id(0);
    write_raw(peer.raw.get(), frame_of(bad));
    require_dead(*peer.endpoint, ErrorCode::kInvalidArgument, "stream.stream_id: zero");
  }
  SECTION("valid envelopes before the bad one are not delivered either") {
    write_raw(peer.raw.get(), frame_of(testing::stream_envelope("ok")) + "garbage!");
    require_dead(*peer.endpoint, ErrorCode::kInvalidArgument, "bad magic");
  }
}

TEST_CASE("endpoint: an oversized frame is refused from its header", "[idm][endpoint]") {
  Endpoint::Limits limits;
  limits.max_frame_bytes = 1024;
  auto peer = raw_peer(limits);
  std::string header = frame_of(testing::stream_envelope("x")).substr(0, 4);
  header += std::string("\x00\x00\x10\x00", 4);  // 1 MiB payload announced, none sent
  write_raw(peer.raw.get(), header);
  require_dead(*peer.endpoint, ErrorCode::kInvalidArgument, "exceeds the limit of 1024");
}

TEST_CASE("endpoint: a frame cut short by the peer's close is an error", "[idm][endpoint]") {
  auto peer = raw_peer();
  const std::string frame = frame_of(testing::stream_envelope("truncated"));
  write_raw(peer.raw.get(), frame.substr(0, frame.size() - 3));
  peer.raw.reset();
  require_dead(*peer.endpoint, ErrorCode::kInvalidArgument, "stream ended inside a frame");
}

TEST_CASE("endpoint: a clean close delivers what came first, then reports kUnavailable", "[idm][endpoint]") {
  auto peer = raw_peer();
  write_raw(peer.raw.get(), frame_of(testing::stream_envelope("one")) + frame_of(testing::stream_envelope("two")));
  peer.raw.reset();
  REQUIRE(wait_readable(*peer.endpoint));
  auto got = peer.endpoint->pump();
  REQUIRE(got.ok());
  REQUIRE(got->size() == 2);
  CHECK((*got)[1].stream().data() == "two");
  CHECK(peer.endpoint->input_pending());  // the close is still to be reported
  require_dead(*peer.endpoint, ErrorCode::kUnavailable, "closed the connection");
}

TEST_CASE("endpoint: writing to a peer that is gone kills the endpoint", "[idm][endpoint]") {
  auto peer = raw_peer();
  peer.raw.reset();
  REQUIRE(peer.endpoint->send(testing::stream_envelope("anyone there?")).ok());
  require_dead(*peer.endpoint, ErrorCode::kUnavailable, "closed the connection");
}

TEST_CASE("endpoint: a flooding peer is read at most max_read_per_pump bytes per pump", "[idm][endpoint]") {
  Endpoint::Limits limits;
  limits.max_read_per_pump = 4096;
  auto peer = raw_peer(limits);
  const std::string frame = frame_of(testing::stream_envelope(std::string(1000, 'f')));
  constexpr std::size_t kFrames = 100;
  std::string flood;
  for (std::size_t i = 0; i < kFrames; ++i) flood += frame;
  write_raw(peer.raw.get(), flood);

  REQUIRE(wait_readable(*peer.endpoint));
  std::size_t received = 0;
  int pumps = 0;
  while (received < kFrames) {
    auto got = peer.endpoint->pump();
    REQUIRE(got.ok());
    ++pumps;
    CHECK(got->size() <= 4096 / frame.size() + 1);
    received += got->size();
    if (received < kFrames) REQUIRE(peer.endpoint->input_pending());  // more to read, no wakeup needed
  }
  CHECK(pumps >= static_cast<int>(flood.size() / 4096));
  auto idle = peer.endpoint->pump();
  REQUIRE(idle.ok());
  CHECK(idle->empty());
  CHECK_FALSE(peer.endpoint->input_pending());
}

TEST_CASE("endpoint: poll_fd wakes the reader when a frame arrives", "[idm][endpoint]") {
  auto [a, b] = endpoint_pair();
  pollfd p{b->poll_fd(), POLLIN, 0};
  CHECK(::poll(&p, 1, 0) == 0);
  REQUIRE(a->send(testing::stream_envelope("wake up")).ok());
  REQUIRE(a->pump().ok());
  REQUIRE(wait_readable(*b));
  auto got = b->pump();
  REQUIRE(got.ok());
  REQUIRE(got->size() == 1);
  CHECK(got->front().stream().data() == "wake up");
}

TEST_CASE("endpoint: a fresh endpoint reads before waiting for a wakeup", "[idm][endpoint]") {
  Endpoint endpoint(std::make_unique<testing::SilentChannel>(frame_of(testing::stream_envelope("already here"))));
  REQUIRE(endpoint.input_pending());
  auto got = endpoint.pump();
  REQUIRE(got.ok());
  REQUIRE(got->size() == 1);
  CHECK(got->front().stream().data() == "already here");
  CHECK_FALSE(endpoint.input_pending());
}

}  // namespace
}  // namespace zoned::idm
