// AgentPeer: the far end of a Client in the tests, scripted by the test itself: an Endpoint on
// the other half of a socket_channel_pair, with blocking helpers on top (bounded by timeouts).
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <optional>

#include "zoned/idm/endpoint.h"

namespace zoned::idm::testing {

class AgentPeer {
 public:
  explicit AgentPeer(std::unique_ptr<ByteChannel> channel, Endpoint::Limits limits = {});

  // Queues `envelope` and writes until it is all out (or the timeout passes). False on failure.
  bool send(const Envelope& envelope, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // The next envelope from the client, or the error that ended the connection / kDeadlineExceeded.
  Result<Envelope> receive(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Sends the Hello that opens a connection (id 1).
  bool hello(std::uint32_t protocol_version = 1);
  // Closes our end; the client sees EOF.
  void close() { endpoint_.reset(); }

  Endpoint& endpoint() { return *endpoint_; }

 private:
  bool wait_readable(std::chrono::steady_clock::time_point deadline);

  std::unique_ptr<Endpoint> endpoint_;
  std::deque<Envelope> received_;
};

// Envelope builders.
Envelope ping_request(std::uint64_t nonce);
Envelope pong_response(std::uint64_t id, std::uint64_t nonce);
Envelope stream_chunk(std::uint32_t stream_id, std::string data);
Envelope exited_event(std::string container_id, std::int32_t exit_code);

}  // namespace zoned::idm::testing
