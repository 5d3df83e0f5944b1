// The poll loop, the IDM connection (Hello, reconnects) and stdio streaming.
#include <poll.h>
#include <signal.h>
#include <time.h>

#include <algorithm>
#include <cerrno>

#include "agent_impl.h"
#include "zoned/common/fs.h"
#include "zoned/common/log.h"
#include "zoned/idm/wire_error.h"

namespace zoned::agent {

using idm::v1::Envelope;

std::int64_t unix_now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return std::int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

// --- Agent (the public face) ---

Agent::Agent(std::unique_ptr<AgentImpl> impl) : impl_(std::move(impl)) {}
Agent::~Agent() = default;

Result<std::unique_ptr<Agent>> Agent::create(AgentOptions options, std::unique_ptr<ChannelSource> source,
                                             std::unique_ptr<MountOps> mounts, AgentHooks hooks) {
  ::signal(SIGPIPE, SIG_IGN);
  auto reaper = ChildReaper::create();
  if (!reaper.ok()) return std::move(reaper).take_error();
  auto impl = std::make_unique<AgentImpl>(std::move(options), std::move(source), std::move(mounts), std::move(hooks),
                                          std::move(*reaper));
  ZONED_TRY(impl->init());
  return std::unique_ptr<Agent>(new Agent(std::move(impl)));
}

Status Agent::run_once(std::chrono::milliseconds max_wait) {
  return impl_->run_once(max_wait);
}

bool Agent::stopped() const {
  return impl_->stopped();
}

// --- AgentImpl ---

AgentImpl::AgentImpl(AgentOptions options, std::unique_ptr<ChannelSource> source, std::unique_ptr<MountOps> mounts,
                     AgentHooks hooks, ChildReaper reaper)
    : options_(std::move(options)),
      source_(std::move(source)),
      mounts_(std::move(mounts)),
      hooks_(std::move(hooks)),
      reaper_(std::move(reaper)),
      runner_(reaper_) {}

Status AgentImpl::init() {
  for (const char* sub : {"/images", "/containers", "/execs"}) {
    ZONED_TRY(fs::make_dirs(options_.state_dir + sub, 0700));
  }
  ZONED_TRY(fs::make_dirs(options_.crun_root, 0700));
  return ok_status();
}

bool AgentImpl::may_read_output() const {
  return endpoint_ && hello_sent_ && !broken_ && endpoint_->outbound_bytes() < options_.outbound_high_water;
}

std::optional<Clock::time_point> AgentImpl::next_deadline() const {
  std::optional<Clock::time_point> next = runner_.next_deadline();
  auto consider = [&](Clock::time_point t) {
    if (!next || t < *next) next = t;
  };
  for (const auto& [id, c] : containers_) {
    if (c->phase == Phase::kWaitingDevice)
      consider(std::min(c->device_deadline, Clock::now() + std::chrono::milliseconds(50)));
    if (c->proc.exited && c->proc.stream && !c->proc.stream->output_done()) consider(c->proc.drain_deadline);
  }
  for (const auto& [id, e] : execs_) {
    if (e->proc.exited && e->proc.stream && !e->proc.stream->output_done()) consider(e->proc.drain_deadline);
  }
  if (shutting_down_) consider(std::min(shutdown_deadline_, Clock::now() + std::chrono::milliseconds(100)));
  return next;
}

Status AgentImpl::run_once(std::chrono::milliseconds max_wait) {
  if (stopped_) return ok_status();
  std::vector<pollfd> fds;
  fds.push_back({reaper_.poll_fd(), POLLIN, 0});
  fds.push_back({source_->poll_fd(), POLLIN, 0});
  fds.push_back({endpoint_ ? endpoint_->poll_fd() : -1, POLLIN, 0});
  const std::size_t first_stream = fds.size();
  // By stream id: a stream may be destroyed (its container deleted) before the fds are served.
  std::vector<std::pair<std::uint32_t, StdioStream::Role>> owners;
  const bool want_output = may_read_output();
  auto add_stream = [&](StdioStream* stream) {
    if (!stream) return;
    std::vector<StdioStream::Role> roles;
    stream->add_poll_fds(want_output, fds, roles);
    for (auto role : roles) owners.emplace_back(stream->id(), role);
  };
  for (auto& [id, c] : containers_) add_stream(c->proc.stream.get());
  for (auto& [id, e] : execs_) add_stream(e->proc.stream.get());
  const std::size_t first_port = fds.size();
  std::vector<std::uint32_t> port_owners;
  add_port_poll_fds(fds, port_owners);

  auto now = Clock::now();
  auto wait = max_wait;
  if (auto deadline = next_deadline()) {
    wait = std::min(
        wait, std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - now) + std::chrono::milliseconds(1));
  }
  if (endpoint_ && endpoint_->input_pending()) wait = std::chrono::milliseconds(0);
  if (endpoint_ && !hello_sent_) wait = std::min(wait, std::chrono::milliseconds(100));  // vchan: connect check
  if (wait.count() < 0) wait = std::chrono::milliseconds(0);

  const int ready = ::poll(fds.data(), fds.size(), static_cast<int>(wait.count()));
  if (ready < 0 && errno != EINTR) return sys_error("poll");

  if (fds[0].revents != 0) reaper_.collect();
  reaper_.dispatch();
  now = Clock::now();
  runner_.check_deadlines(now);
  if (fds[1].revents != 0) on_source_readable();

  // Stdio: one chunk per readable fd per round, in the order polled (fair between streams).
  for (std::size_t i = first_stream; i < first_port; ++i) {
    const auto [stream_id, role] = owners[i - first_stream];
    StdioStream* stream = find_stream(stream_id);
    if (!stream) continue;  // gone meanwhile
    stream->on_ready(role, fds[i].revents, [this, now](const idm::v1::StreamData& chunk) {
      touch_stream(chunk.stream_id(), now);
      Envelope envelope;
      *envelope.mutable_stream() = chunk;
      send(envelope);
    });
  }
  for (std::size_t i = first_port; i < fds.size(); ++i) on_port_ready(port_owners[i - first_port], fds[i].revents);
  if (fds[2].fd >= 0 && endpoint_ && fds[2].revents != 0) {
    service_endpoint(true);
  } else if (endpoint_) {
    service_endpoint(false);
  }
  tick(Clock::now());
  // tick() queues events (a container's or an exec's exit, shutdown progress): write them in
  // this round, not after the next poll, which may sleep for max_wait with nothing to wake it.
  if (endpoint_ && !broken_ && endpoint_->outbound_bytes() > 0) service_endpoint(false);
  if (broken_) drop_connection("sending failed");
  return ok_status();
}

void AgentImpl::on_source_readable() {
  auto fresh = source_->on_readable([this] { drop_connection("the daemon asked for a new channel"); });
  if (!fresh.ok()) {
    log::error("cannot open a new IDM channel", {{"error", fresh.error().describe()}});
    return;
  }
  if (!fresh->has_value()) return;
  drop_connection("replaced");
  NewChannel channel = std::move(**fresh);
  endpoint_ = std::make_unique<idm::Endpoint>(std::move(channel.channel));
  peer_connected_ = std::move(channel.peer_connected);
  ++connection_;
  hello_sent_ = false;
  broken_ = false;
  next_request_id_ = 1;
  log::info("IDM channel listening", {{"connection", connection_}});
  if (!announced_) {
    announced_ = true;
    if (hooks_.on_listening) hooks_.on_listening();
  }
}

void AgentImpl::drop_connection(const char* why) {
  if (!endpoint_) return;
  log::info("IDM connection closed", {{"connection", connection_}, {"reason", why}});
  endpoint_.reset();
  port_forwards_.clear();  // their stream ids belong to the old connection
  peer_connected_ = nullptr;
  hello_sent_ = false;
  broken_ = false;
}

void AgentImpl::service_endpoint(bool woken) {
  if (woken) {
    auto acked = endpoint_->ack_wakeup();
    if (!acked.ok()) {
      drop_connection("the channel broke");
      return;
    }
  }
  if (!hello_sent_) {
    if (peer_connected_ && !peer_connected_()) return;
    Envelope hello;
    hello.set_id(next_request_id_++);
    auto* body = hello.mutable_request()->mutable_hello();
    body->set_protocol_version(1);
    body->set_agent_version(options_.agent_version);
    for (const char* cap : {"exec-tty", "stdin", "resize", "stats", "list-containers", "port-forward"}) body->add_capabilities(cap);
    hello_sent_ = true;
    if (!send(hello)) return;
    log::info("daemon connected; hello sent", {{"connection", connection_}});
  }
  // Requests queue replies; pump again (bounded) so they are written in this round.
  for (int round = 0; round < 4 && endpoint_ && !broken_; ++round) {
    auto received = endpoint_->pump();
    if (!received.ok()) {
      drop_connection(received.error().code() == ErrorCode::kUnavailable ? "the daemon closed the channel"
                                                                         : "protocol error from the daemon");
      if (received.error().code() != ErrorCode::kUnavailable) {
        log::warn("IDM protocol error", {{"error", received.error().describe()}});
      }
      return;
    }
    if (received->empty() && !endpoint_->input_pending()) break;
    for (const auto& envelope : *received) {
      handle_envelope(envelope);
      if (!endpoint_ || broken_) return;
    }
  }
}

void AgentImpl::handle_envelope(const Envelope& envelope) {
  switch (envelope.body_case()) {
    case Envelope::kRequest: handle_request(envelope.id(), envelope.request()); break;
    case Envelope::kResponse:
      if (envelope.id() == 1 && envelope.response().has_hello()) {
        log::info("daemon answered hello", {{"protocol_version", envelope.response().hello().protocol_version()}});
      } else if (envelope.response().has_error()) {
        log::warn("daemon answered with an error",
                  {{"id", envelope.id()}, {"message", envelope.response().error().message()}});
      }
      break;
    case Envelope::kStream: on_stdin(envelope.stream()); break;
    case Envelope::kEvent:
    case Envelope::BODY_NOT_SET: log::debug("ignoring an envelope from the daemon", {{"id", envelope.id()}}); break;
  }
}

bool AgentImpl::send(const Envelope& envelope) {
  if (!endpoint_ || broken_) return false;
  auto sent = endpoint_->send(envelope);
  if (sent.ok()) return true;
  log::error("cannot send to the daemon; dropping the connection", {{"error", sent.error().describe()}});
  broken_ = true;
  return false;
}

void AgentImpl::reply(const ReplyTo& to, idm::v1::Response response) {
  if (to.connection != connection_ || !endpoint_) return;  // that connection is gone
  Envelope envelope;
  envelope.set_id(to.request_id);
  *envelope.mutable_response() = std::move(response);
  send(envelope);
}

void AgentImpl::reply_error(const ReplyTo& to, const Error& error) {
  log::info("request failed", {{"id", to.request_id}, {"error", error.describe()}});
  idm::v1::Response response;
  *response.mutable_error() = idm::error_to_wire(error);
  reply(to, std::move(response));
}

void AgentImpl::reply_ack(const ReplyTo& to) {
  idm::v1::Response response;
  response.mutable_ack();
  reply(to, std::move(response));
}

void AgentImpl::event(idm::v1::Event body) {
  Envelope envelope;
  envelope.set_id(0);
  *envelope.mutable_event() = std::move(body);
  send(envelope);
}

StdioStream* AgentImpl::find_stream(std::uint32_t id) {
  for (auto& [cid, c] : containers_) {
    if (c->proc.stream && c->proc.stream->id() == id) return c->proc.stream.get();
  }
  for (auto& [eid, e] : execs_) {
    if (e->proc.stream && e->proc.stream->id() == id) return e->proc.stream.get();
  }
  return nullptr;
}

bool AgentImpl::stream_in_use(std::uint32_t id) const {
  for (const auto& [cid, c] : containers_) {
    if (c->stream_id == id) return true;
  }
  for (const auto& [eid, e] : execs_) {
    if (e->stream_id == id) return true;
  }
  return port_forwards_.count(id) != 0;
}

void AgentImpl::on_stdin(const idm::v1::StreamData& data) {
  if (data.fd() != idm::v1::STREAM_FD_STDIN) {
    log::warn("ignoring output-direction stream data from the daemon", {{"stream", data.stream_id()}});
    return;
  }
  if (auto pf = port_forwards_.find(data.stream_id()); pf != port_forwards_.end()) {
    on_port_data(*pf->second, data);
    return;
  }
  StdioStream* stream = find_stream(data.stream_id());
  if (!stream) {
    log::warn("stdin for an unknown stream dropped", {{"stream", data.stream_id()}});
    return;
  }
  auto written = stream->write_stdin(data.data(), data.eof());
  if (!written.ok()) log::warn("stdin dropped", {{"stream", data.stream_id()}, {"error", written.error().describe()}});
}

void AgentImpl::touch_stream(std::uint32_t id, Clock::time_point now) {
  for (auto& [cid, c] : containers_) {
    if (c->stream_id == id) c->proc.drain_deadline = now + options_.drain_idle;
  }
  for (auto& [eid, e] : execs_) {
    if (e->stream_id == id) e->proc.drain_deadline = now + options_.drain_idle;
  }
}

// Keeps the drain deadline of an exited process moving while output cannot be read (the
// daemon is slow or absent), and closes output that stays idle past it.
void AgentImpl::drain(Tracked& proc, Clock::time_point now) {
  if (!proc.exited || !proc.stream || proc.stream->output_done()) return;
  if (!may_read_output()) {
    proc.drain_deadline = now + options_.drain_idle;
    return;
  }
  if (now < proc.drain_deadline) return;
  log::warn("output still open after the process exited; closing it", {{"stream", proc.stream->id()}});
  proc.stream->close_output([this](const idm::v1::StreamData& chunk) {
    Envelope envelope;
    *envelope.mutable_stream() = chunk;
    send(envelope);
  });
}

void AgentImpl::tick(Clock::time_point now) {
  for (auto it = containers_.begin(); it != containers_.end();) {
    Container& c = *it->second;
    ++it;  // continue_create may erase c
    if (c.phase == Phase::kWaitingDevice) continue_create(c);
  }
  for (auto& [id, c] : containers_) drain(c->proc, now);
  for (auto& [id, e] : execs_) drain(e->proc, now);
  finish_containers();
  finish_execs();
  if (shutting_down_) advance_shutdown(now);
}

}  // namespace zoned::agent
