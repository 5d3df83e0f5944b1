#include "zoned/idm/client.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <iterator>
#include <optional>
#include <string>
#include <utility>

#include "zoned/common/log.h"
#include "zoned/idm/wire_error.h"

namespace zoned::idm {
namespace {

using std::chrono::milliseconds;

constexpr std::string_view kAgent = "zone agent";

// "request.ping", "event.container_exited", "stream": what an envelope carries, for messages.
std::string describe(const Envelope& envelope) {
  const auto* body = Envelope::descriptor()->FindFieldByNumber(static_cast<int>(envelope.body_case()));
  if (body == nullptr) return "nothing";
  std::string out = body->name();
  const google::protobuf::Message* inner = nullptr;
  if (envelope.has_request()) inner = &envelope.request();
  if (envelope.has_response()) inner = &envelope.response();
  if (envelope.has_event()) inner = &envelope.event();
  if (inner != nullptr) {
    const auto* kind = inner->GetDescriptor()->FindOneofByName("kind");
    const auto* field = kind ? inner->GetReflection()->GetOneofFieldDescriptor(*inner, kind) : nullptr;
    if (field != nullptr) out += "." + field->name();
  }
  return out;
}

int poll_timeout_ms(std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::ceil<milliseconds>(deadline - std::chrono::steady_clock::now()).count();
  return static_cast<int>(std::clamp<std::int64_t>(left, 0, 60'000));
}

Status wait_readable(int fd, std::chrono::steady_clock::time_point deadline, bool& readable) {
  pollfd p{fd, POLLIN, 0};
  const int n = ::poll(&p, 1, poll_timeout_ms(deadline));
  if (n < 0 && errno != EINTR) return sys_error("idm: poll");
  readable = n > 0 && (p.revents & POLLIN) != 0;
  if (n > 0 && !readable) return Error(ErrorCode::kInternal, "idm: the channel's poll fd reported an error");
  return ok_status();
}

// The agent's first envelopes, Hello first; fails if they do not come before the deadline.
Result<std::vector<Envelope>> receive_first(Endpoint& endpoint, std::chrono::steady_clock::time_point deadline,
                                            milliseconds timeout) {
  for (;;) {
    if (!endpoint.input_pending()) {
      if (std::chrono::steady_clock::now() >= deadline) {
        return Error(ErrorCode::kDeadlineExceeded,
                     "idm: no Hello from the zone agent within " + std::to_string(timeout.count()) + " ms");
      }
      bool readable = false;
      ZONED_TRY(wait_readable(endpoint.poll_fd(), deadline, readable));
      if (!readable) continue;
      ZONED_TRY(endpoint.ack_wakeup());
    }
    auto received = endpoint.pump();
    if (!received.ok()) return std::move(received).take_error().wrap("idm: waiting for the zone agent's Hello");
    if (!received->empty()) return received;
  }
}

// Best effort: tells a peer that opened with a request why it is refused.
void refuse(Endpoint& endpoint, const Envelope& first, const Error& why) {
  if (!first.has_request()) return;
  Envelope reply;
  reply.set_id(first.id());
  *reply.mutable_response()->mutable_error() = error_to_wire(why);
  if (endpoint.send(reply).ok()) (void)endpoint.pump();
}

}  // namespace

struct Client::PendingCall {
  std::condition_variable done;
  std::optional<Result<v1::Response>> result;
};

Result<std::unique_ptr<Client>> Client::connect(std::unique_ptr<ByteChannel> channel, Handlers handlers,
                                                Endpoint::Limits limits, milliseconds hello_timeout) {
  auto endpoint = std::make_unique<Endpoint>(std::move(channel), limits);
  auto received = receive_first(*endpoint, std::chrono::steady_clock::now() + hello_timeout, hello_timeout);
  if (!received.ok()) return std::move(received).take_error();
  const Envelope& first = received->front();
  if (!first.has_request() || !first.request().has_hello() || first.id() != 1) {
    Error why(ErrorCode::kInvalidArgument,
              "idm: the zone agent's first message must be a Hello request with id 1, not " + describe(first) +
                  " with id " + std::to_string(first.id()));
    refuse(*endpoint, first, why);
    return why;
  }
  const v1::Hello& hello = first.request().hello();
  if (hello.protocol_version() == 0) {
    Error why(ErrorCode::kInvalidArgument, "idm: the zone agent offers protocol version 0");
    refuse(*endpoint, first, why);
    return why;
  }
  const std::uint32_t version = std::min<std::uint32_t>(kProtocolVersion, hello.protocol_version());
  Envelope reply;
  reply.set_id(first.id());
  reply.mutable_response()->mutable_hello()->set_protocol_version(version);
  ZONED_TRY(endpoint->send(reply));

  UniqueFd wake(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake.valid()) return sys_error("idm: eventfd");
  log::info("idm: zone agent connected", {{"agent_version", hello.agent_version()}, {"protocol_version", version}});
  std::vector<Envelope> early(std::make_move_iterator(received->begin() + 1), std::make_move_iterator(received->end()));
  std::unique_ptr<Client> client(new Client(std::move(endpoint), std::move(handlers), std::move(wake), hello, version));
  client->io_thread_ =
      std::thread([c = client.get(), early = std::move(early)]() mutable { c->run(std::move(early)); });
  return client;
}

Client::Client(std::unique_ptr<Endpoint> endpoint, Handlers handlers, UniqueFd wake, v1::Hello hello,
               std::uint32_t version)
    : handlers_(std::move(handlers)),
      wake_fd_(std::move(wake)),
      channel_fd_(endpoint->poll_fd()),
      hello_(std::move(hello)),
      protocol_version_(version),
      endpoint_(std::move(endpoint)) {}

Client::~Client() {
  bool from_handler = false;
  {
    std::lock_guard lock(mu_);
    from_handler = on_io_thread();
  }
  if (from_handler) {
    log::error("idm: a Client was destroyed by its own handler; aborting");
    std::abort();
  }
  close();
}

bool Client::on_io_thread() const {
  return io_thread_id_ == std::this_thread::get_id();
}

bool Client::alive() const {
  std::lock_guard lock(mu_);
  return !closing_ && !ended_;
}

Status Client::usable() const {
  if (closing_) return Error(ErrorCode::kCancelled, "idm: the connection to the zone agent was closed");
  if (ended_)
    return Error(ErrorCode::kUnavailable, "idm: the connection to the zone agent ended: " + ended_->message());
  return ok_status();
}

void Client::wake() {
  const std::uint64_t one = 1;
  // Cannot fail but for a counter at its maximum, which already means "wake up".
  (void)!::write(wake_fd_.get(), &one, sizeof one);
}

Status Client::queue(std::unique_lock<std::mutex>& lock, const Envelope& envelope, Clock::time_point deadline) {
  for (;;) {
    ZONED_TRY(usable());
    auto sent = endpoint_->send(envelope);
    if (sent.ok()) {
      wake();
      return ok_status();
    }
    if (sent.error().code() != ErrorCode::kResourceExhausted) return sent;
    if (on_io_thread()) return sent;  // only this thread could make room
    if (Clock::now() >= deadline) {
      return Error(ErrorCode::kDeadlineExceeded, "idm: no room to send to the zone agent in time (" +
                                                     std::to_string(endpoint_->outbound_bytes()) + " bytes queued)");
    }
    space_cv_.wait_until(lock, deadline);
  }
}

Result<v1::Response> Client::call(const v1::Request& request, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::unique_lock lock(mu_);
  ZONED_TRY(usable());
  if (on_io_thread()) {
    return Error(ErrorCode::kFailedPrecondition, "idm: call() from a Client handler would wait for itself");
  }
  Envelope envelope;
  envelope.set_id(next_id_++);
  *envelope.mutable_request() = request;
  ZONED_TRY(queue(lock, envelope, deadline));
  PendingCall call;
  pending_[envelope.id()] = &call;
  while (!call.result) {
    if (call.done.wait_until(lock, deadline) == std::cv_status::timeout && !call.result) {
      pending_.erase(envelope.id());
      timed_out_.insert(envelope.id());
      if (timed_out_.size() > kMaxTimedOutIds) timed_out_.erase(timed_out_.begin());
      return Error(ErrorCode::kDeadlineExceeded, "idm: no response from the zone agent to " + describe(envelope) +
                                                     " within " + std::to_string(timeout.count()) + " ms");
    }
  }
  return std::move(*call.result);
}

Status Client::send_stream(const v1::StreamData& data, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  Envelope envelope;
  *envelope.mutable_stream() = data;
  std::unique_lock lock(mu_);
  return queue(lock, envelope, deadline);
}

void Client::close() {
  bool from_handler = false;
  {
    std::lock_guard lock(mu_);
    from_handler = on_io_thread();
    closing_ = true;
    for (auto& [id, call] : pending_) {
      call->result = Error(ErrorCode::kCancelled, "idm: the connection to the zone agent was closed");
      call->done.notify_all();
    }
    pending_.clear();
    space_cv_.notify_all();
  }
  wake();
  if (from_handler || !io_thread_.joinable()) return;  // the thread ends when the handler returns
  io_thread_.join();
  std::lock_guard lock(mu_);
  endpoint_.reset();
}

// --- the I/O thread ---

void Client::end(Error why) {
  {
    std::lock_guard lock(mu_);
    if (closing_ || ended_) return;
    ended_ = why;
    endpoint_.reset();  // closes the channel now, so the agent sees it
    for (auto& [id, call] : pending_) {
      call->result = Error(ErrorCode::kUnavailable, "idm: the connection to the zone agent ended: " + why.message());
      call->done.notify_all();
    }
    pending_.clear();
    space_cv_.notify_all();
  }
  if (why.code() == ErrorCode::kUnavailable) {
    log::info("idm: zone agent disconnected", {{"reason", why.describe()}});
  } else {
    log::warn("idm: dropping the zone agent's connection", {{"reason", why.describe()}});
  }
  if (handlers_.on_closed) handlers_.on_closed(why);
}

// Waits for the channel or the eventfd; false when the thread must stop.
bool Client::wait_for_input() {
  {
    std::lock_guard lock(mu_);
    if (closing_ || !endpoint_) return false;
    if (endpoint_->input_pending()) return true;
  }
  pollfd fds[2] = {{channel_fd_, POLLIN, 0}, {wake_fd_.get(), POLLIN, 0}};
  if (::poll(fds, 2, -1) < 0) {
    if (errno == EINTR) return true;
    end(sys_error("idm: poll"));
    return false;
  }
  if ((fds[1].revents & POLLIN) != 0) {
    std::uint64_t count = 0;
    (void)!::read(wake_fd_.get(), &count, sizeof count);
  }
  std::unique_lock lock(mu_);
  if (closing_ || !endpoint_) return false;
  if ((fds[0].revents & POLLIN) != 0) {
    if (auto acked = endpoint_->ack_wakeup(); !acked.ok()) {
      lock.unlock();
      end(std::move(acked).take_error());
      return false;
    }
  } else if (fds[0].revents != 0) {
    lock.unlock();
    end(Error(ErrorCode::kInternal, "idm: the channel's poll fd reported an error"));
    return false;
  }
  return true;
}

void Client::run(std::vector<Envelope> received) {
  {
    std::lock_guard lock(mu_);
    io_thread_id_ = std::this_thread::get_id();
  }
  for (bool first = true;; first = false) {
    if (!first && !wait_for_input()) return;
    Result<std::vector<Envelope>> pumped = std::vector<Envelope>{};
    {
      std::lock_guard lock(mu_);
      if (closing_ || !endpoint_) return;
      const std::size_t before = endpoint_->outbound_bytes();
      pumped = endpoint_->pump();
      if (!pumped.ok() || endpoint_->outbound_bytes() < before) space_cv_.notify_all();
    }
    if (!pumped.ok()) return end(std::move(pumped).take_error());
    std::move(pumped->begin(), pumped->end(), std::back_inserter(received));
    for (auto& envelope : received) {
      if (!dispatch(envelope)) return;
    }
    received.clear();
  }
}

bool Client::dispatch(Envelope& envelope) {
  {
    std::lock_guard lock(mu_);
    if (closing_ || ended_) return false;
  }
  switch (envelope.body_case()) {
    case Envelope::kResponse: return on_response(envelope);
    case Envelope::kRequest: return on_request(envelope);
    case Envelope::kEvent:
      if (handlers_.on_event) handlers_.on_event(envelope.event());
      return true;
    case Envelope::kStream:
      if (handlers_.on_stream) handlers_.on_stream(envelope.stream());
      return true;
    case Envelope::BODY_NOT_SET: break;  // validate() lets none through
  }
  end(Error(ErrorCode::kInternal, "idm: an envelope without a body got past validation"));
  return false;
}

bool Client::on_response(Envelope& envelope) {
  {
    std::lock_guard lock(mu_);
    if (auto it = pending_.find(envelope.id()); it != pending_.end()) {
      v1::Response& response = *envelope.mutable_response();
      if (response.has_error()) {
        it->second->result = error_from_wire(response.error(), kAgent);
      } else {
        it->second->result = std::move(response);
      }
      it->second->done.notify_all();
      pending_.erase(it);
      return true;
    }
    if (timed_out_.erase(envelope.id()) == 1) {
      log::debug("idm: dropping a late response", {{"id", envelope.id()}});
      return true;
    }
  }
  end(Error(ErrorCode::kInvalidArgument,
            "idm: the zone agent answered request id " + std::to_string(envelope.id()) + ", which is not pending"));
  return false;
}

bool Client::on_request(const Envelope& envelope) {
  std::unique_lock lock(mu_);
  if (++unserved_requests_ > kMaxUnservedRequests) {
    lock.unlock();
    end(Error(ErrorCode::kInvalidArgument, "idm: the zone agent sent more than " +
                                               std::to_string(kMaxUnservedRequests) + " requests (the last " +
                                               describe(envelope) + "); the daemon serves none"));
    return false;
  }
  Envelope reply;
  reply.set_id(envelope.id());
  *reply.mutable_response()->mutable_error() =
      error_to_wire(Error(ErrorCode::kUnimplemented, "the daemon does not serve " + describe(envelope)));
  if (auto sent = endpoint_->send(reply); !sent.ok()) {
    lock.unlock();
    end(std::move(sent).take_error().wrap("idm: answering the zone agent's request"));
    return false;
  }
  wake();  // the reply goes out at the next pump
  return true;
}

}  // namespace zoned::idm
