// Fuzzes the IDM Endpoint as a zone would attack it: arbitrary bytes written by the peer into
// a socket channel, in pieces, with the endpoint pumping in between under a small read budget
// and answering every request it receives (so the write path runs too). Whatever the bytes:
// everything pump() returns validates, the endpoint dies with kInvalidArgument or
// kUnavailable and stays dead, and it never buffers more than its limits allow.
//
// Input layout: byte 0 picks the frame limit and the read budget, the rest is the stream.
#include <google/protobuf/stubs/logging.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "zoned/idm/endpoint.h"
#include "zoned/idm/socket_channel.h"
#include "zoned/idm/validate.h"

namespace {

using zoned::ErrorCode;
using zoned::idm::Endpoint;
using zoned::idm::Envelope;

void check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "idm_endpoint_fuzz: invariant broken: %s\n", what);
    std::abort();
  }
}

// Pumps once; false once the endpoint is dead (checked to be dead for a good reason).
bool pump(Endpoint& endpoint) {
  auto received = endpoint.pump();
  if (!received.ok()) {
    const ErrorCode code = received.error().code();
    check(code == ErrorCode::kInvalidArgument || code == ErrorCode::kUnavailable, "unexpected error code");
    check(!endpoint.alive(), "endpoint alive after an error");
    check(!endpoint.pump().ok(), "a dead endpoint pumped again");
    return false;
  }
  check(endpoint.outbound_bytes() <= endpoint.limits().max_outbound_bytes, "outbound queue over its limit");
  for (const auto& envelope : *received) {
    check(zoned::idm::validate(envelope).ok(), "pump returned an invalid envelope");
    if (!envelope.has_request()) continue;
    Envelope reply;
    reply.set_id(envelope.id());
    reply.mutable_response()->mutable_ack();
    (void)endpoint.send(reply);  // may be refused when the queue is full: fine
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  Endpoint::Limits limits;
  limits.max_frame_bytes = (data[0] & 1) != 0 ? 256 : zoned::idm::kDefaultMaxFrameBytes;
  limits.max_read_per_pump = 1 + ((data[0] >> 1) & 0x7f) * 64;
  limits.max_outbound_bytes = 1024;
  std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);

  int fds[2];
  check(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0, "socketpair");
  zoned::UniqueFd peer(fds[1]);
  auto channel = zoned::idm::socket_channel(zoned::UniqueFd(fds[0]));
  check(channel.ok(), "socket_channel");
  Endpoint endpoint(std::move(*channel), limits);

  bool alive = true;
  while (alive && !stream.empty()) {
    const ssize_t n = ::write(peer.get(), stream.data(), std::min<std::size_t>(stream.size(), 997));
    check(n > 0 || errno == EAGAIN, "write to the endpoint");
    if (n > 0) stream.remove_prefix(static_cast<std::size_t>(n));
    alive = pump(endpoint);
    char sink[4096];
    while (::read(peer.get(), sink, sizeof sink) > 0) {
    }
  }
  peer.reset();
  for (int i = 0; alive && i < 100000; ++i) alive = pump(endpoint);
  check(!alive, "endpoint alive after the peer closed");
  return 0;
}
