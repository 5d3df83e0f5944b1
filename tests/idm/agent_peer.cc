#include "agent_peer.h"

#include <poll.h>

#include <algorithm>

namespace zoned::idm::testing {

using Clock = std::chrono::steady_clock;

AgentPeer::AgentPeer(std::unique_ptr<ByteChannel> channel, Endpoint::Limits limits)
    : endpoint_(std::make_unique<Endpoint>(std::move(channel), limits)) {}

bool AgentPeer::wait_readable(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  pollfd p{endpoint_->poll_fd(), POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(left, 0))) != 1) return false;
  return endpoint_->ack_wakeup().ok();
}

bool AgentPeer::send(const Envelope& envelope, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  if (!endpoint_ || !endpoint_->send(envelope).ok()) return false;
  while (endpoint_->outbound_bytes() > 0) {
    auto pumped = endpoint_->pump();
    if (!pumped.ok()) return false;
    for (auto& e : *pumped) received_.push_back(std::move(e));
    if (endpoint_->outbound_bytes() > 0 && !endpoint_->input_pending() && !wait_readable(deadline)) return false;
  }
  return true;
}

Result<Envelope> AgentPeer::receive(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (received_.empty()) {
    if (!endpoint_) return Error(ErrorCode::kFailedPrecondition, "agent peer closed");
    auto pumped = endpoint_->pump();
    if (!pumped.ok()) return std::move(pumped).take_error();
    for (auto& e : *pumped) received_.push_back(std::move(e));
    if (!received_.empty() || endpoint_->input_pending()) continue;
    if (!wait_readable(deadline)) return Error(ErrorCode::kDeadlineExceeded, "agent peer: nothing received");
  }
  Envelope e = std::move(received_.front());
  received_.pop_front();
  return e;
}

bool AgentPeer::hello(std::uint32_t protocol_version) {
  Envelope e;
  e.set_id(1);
  auto* h = e.mutable_request()->mutable_hello();
  h->set_protocol_version(protocol_version);
  h->set_agent_version("test-agent 1.0");
  h->add_capabilities("exec-tty");
  return send(e);
}

Envelope ping_request(std::uint64_t nonce) {
  Envelope e;
  e.mutable_request()->mutable_ping()->set_nonce(nonce);
  return e;
}

Envelope pong_response(std::uint64_t id, std::uint64_t nonce) {
  Envelope e;
  e.set_id(id);
  e.mutable_response()->mutable_pong()->set_nonce(nonce);
  return e;
}

Envelope stream_chunk(std::uint32_t stream_id, std::string data) {
  Envelope e;
  e.mutable_stream()->set_stream_id(stream_id);
  e.mutable_stream()->set_fd(v1::STREAM_FD_STDOUT);
  e.mutable_stream()->set_data(std::move(data));
  return e;
}

Envelope exited_event(std::string container_id, std::int32_t exit_code) {
  Envelope e;
  e.mutable_event()->mutable_container_exited()->set_container_id(std::move(container_id));
  e.mutable_event()->mutable_container_exited()->set_exit_code(exit_code);
  return e;
}

}  // namespace zoned::idm::testing
