// FakeAgent (fake_zone_host.h): the IDM side of a fake zone, and the programs its processes run.
#include <poll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "fakes/fake_zone_host.h"
#include "zoned/idm/socket_channel.h"

namespace zoned::testing {

namespace {

constexpr uint32_t kSigKill = 9;
constexpr uint32_t kSigTerm = 15;

int64_t unix_now_ns() {
  struct timespec ts {};
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

std::string join(const std::vector<std::string>& words, size_t from) {
  std::string out;
  for (size_t i = from; i < words.size(); ++i) {
    if (i > from) out += ' ';
    out += words[i];
  }
  return out;
}

idm::v1::Response ack() {
  idm::v1::Response r;
  r.mutable_ack();
  return r;
}

idm::v1::Response error(idm::v1::Error::Code code, std::string message) {
  idm::v1::Response r;
  r.mutable_error()->set_code(code);
  r.mutable_error()->set_message("fake agent: " + std::move(message));
  return r;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// programs

std::map<std::string, FakeProgramFn> default_fake_programs() {
  std::map<std::string, FakeProgramFn> table;
  table["echo"] = [](const std::vector<std::string>& argv) {
    return FakeProgram{join(argv, 1) + "\n", "", 0, {}, false};
  };
  table["printf"] = [](const std::vector<std::string>& argv) {
    return FakeProgram{argv.size() > 1 ? argv[1] : "", "", 0, {}, false};
  };
  table["true"] = [](const std::vector<std::string>&) { return FakeProgram{"", "", 0, {}, false}; };
  table["false"] = [](const std::vector<std::string>&) { return FakeProgram{"", "", 1, {}, false}; };
  table["sleep"] = [](const std::vector<std::string>&) { return FakeProgram{"", "", std::nullopt, {}, false}; };
  table["stubborn"] = [](const std::vector<std::string>&) {
    return FakeProgram{"", "", std::nullopt, {kSigTerm}, false};
  };
  table["cat"] = [](const std::vector<std::string>&) { return FakeProgram{"", "", std::nullopt, {}, true}; };
  return table;
}

// ---------------------------------------------------------------------------------------------
// FakeAgent: connection handling

FakeAgent::FakeAgent(FakeZoneHost& host, uint32_t domid)
    : host_(host), domid_(domid), wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

FakeAgent::~FakeAgent() {
  stop();
}

void FakeAgent::wake() {
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_.get(), &one, sizeof one);
}

void FakeAgent::stop_serving() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    pending_channel_.reset();
  }
  wake();
  if (thread_.joinable()) thread_.join();
}

void FakeAgent::stop() {
  std::lock_guard serving(serve_mu_);
  stop_serving();
}

void FakeAgent::listen(const std::string& generation) {
  {
    std::lock_guard serving(serve_mu_);
    stop_serving();  // a daemon asking for a new channel replaces the old one
    auto pair = idm::socket_channel_pair();
    if (!pair.ok()) return;
    uint64_t connection = 0;
    {
      std::lock_guard lock(mu_);
      stop_ = false;
      connection = ++connection_;
      pending_channel_ = std::move(pair->first);
    }
    thread_ = std::thread(
        [this, channel = std::move(pair->second), connection]() mutable { serve(std::move(channel), connection); });
  }
  host_.agent_ready(domid_, generation);
}

Result<std::unique_ptr<idm::ByteChannel>> FakeAgent::take_channel() {
  std::lock_guard lock(mu_);
  if (!pending_channel_) return Error(ErrorCode::kUnavailable, "fake agent: no channel offered");
  return std::move(pending_channel_);
}

void FakeAgent::set_hung(bool hung) {
  std::lock_guard lock(mu_);
  hung_ = hung;
}

void FakeAgent::send_event(idm::v1::Event event) {
  std::lock_guard lock(mu_);
  Outgoing out;
  *out.envelope.mutable_event() = std::move(event);
  outbox_.push_back(std::move(out));
  wake();
}

bool FakeAgent::connected() const {
  std::lock_guard lock(mu_);
  return connected_;
}

int FakeAgent::connections() const {
  std::lock_guard lock(mu_);
  return connections_;
}

bool FakeAgent::wait_connected(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return changed_.wait_for(lock, timeout, [&] { return connected_; });
}

void FakeAgent::serve(std::unique_ptr<idm::ByteChannel> channel, uint64_t connection) {
  idm::Endpoint endpoint(std::move(channel));
  idm::Envelope hello;
  hello.set_id(1);
  auto* body = hello.mutable_request()->mutable_hello();
  body->set_protocol_version(1);
  body->set_agent_version("fake-agent 1");
  for (const char* cap : {"exec-tty", "stdin", "resize", "stats", "list-containers"}) body->add_capabilities(cap);
  (void)endpoint.send(hello);

  bool greeted = false;
  bool busy = true;  // something was queued: pump before waiting
  std::deque<idm::Envelope> inbox;
  for (;;) {
    if (!busy && inbox.empty() && !endpoint.input_pending()) {
      pollfd fds[2] = {{endpoint.poll_fd(), POLLIN, 0}, {wake_fd_.get(), POLLIN, 0}};
      const int ready = ::poll(fds, 2, 200);
      if (ready > 0 && (fds[0].revents & POLLIN) != 0 && !endpoint.ack_wakeup().ok()) break;
      if (ready > 0 && (fds[1].revents & POLLIN) != 0) {
        uint64_t count = 0;
        [[maybe_unused]] ssize_t n = ::read(wake_fd_.get(), &count, sizeof count);
      }
    }
    busy = false;
    {
      std::lock_guard lock(mu_);
      if (stop_ || connection != connection_) break;
    }
    auto received = endpoint.pump();
    if (!received.ok()) break;
    for (auto& e : *received) inbox.push_back(std::move(e));
    while (!inbox.empty()) {
      bool power_off = false;
      auto reply = handle(inbox.front(), greeted, power_off);
      inbox.pop_front();
      if (reply && !endpoint.send(*reply).ok()) break;
      busy = true;
      if (power_off) {
        (void)endpoint.pump();  // the Ack goes out before the zone is gone
        host_.agent_powered_off(domid_);
      }
    }
    if (greeted) {
      std::lock_guard lock(mu_);
      while (!outbox_.empty()) {
        if (!endpoint.send(outbox_.front().envelope).ok()) break;  // full: next round
        outbox_.pop_front();
        busy = true;
      }
    }
  }
  std::lock_guard lock(mu_);
  if (connection == connection_) connected_ = false;
  changed_.notify_all();
}

std::optional<idm::Envelope> FakeAgent::handle(const idm::Envelope& envelope, bool& greeted, bool& power_off) {
  std::lock_guard lock(mu_);
  switch (envelope.body_case()) {
    case idm::Envelope::kResponse:
      if (envelope.id() == 1 && envelope.response().has_hello() && !greeted) {
        greeted = true;
        connected_ = true;
        ++connections_;
        changed_.notify_all();
      }
      return std::nullopt;
    case idm::Envelope::kStream: on_stdin(envelope.stream()); return std::nullopt;
    case idm::Envelope::kRequest: {
      if (hung_) {
        requests_.push_back("(unanswered) " + std::to_string(static_cast<int>(envelope.request().kind_case())));
        return std::nullopt;
      }
      idm::Envelope reply;
      reply.set_id(envelope.id());
      *reply.mutable_response() = dispatch(envelope.request(), power_off);
      return reply;
    }
    default: return std::nullopt;
  }
}

// ---------------------------------------------------------------------------------------------
// FakeAgent: requests

idm::v1::Response FakeAgent::dispatch(const idm::v1::Request& request, bool& power_off) {
  using R = idm::v1::Request;
  switch (request.kind_case()) {
    case R::kPing: {
      requests_.push_back("Ping");
      idm::v1::Response r;
      r.mutable_pong()->set_nonce(request.ping().nonce());
      return r;
    }
    case R::kCreateContainer: return create_container(request.create_container());
    case R::kStartContainer: return start_container(request.start_container().container_id());
    case R::kSignalContainer:
      return signal_container(request.signal_container().container_id(), request.signal_container().signal());
    case R::kWaitContainer: {
      const std::string& id = request.wait_container().container_id();
      requests_.push_back("WaitContainer " + id);
      auto it = containers_.find(id);
      if (it == containers_.end()) return error(idm::v1::Error::CODE_NOT_FOUND, "no container " + id);
      if (it->second.status != Container::Status::kExited) {
        return error(idm::v1::Error::CODE_UNIMPLEMENTED, "waiting for a running container is not scripted");
      }
      idm::v1::Response r;
      auto* e = r.mutable_container_exited();
      e->set_container_id(id);
      e->set_exit_code(it->second.exit_code);
      e->set_signal(it->second.signal);
      return r;
    }
    case R::kDeleteContainer: return delete_container(request.delete_container().container_id());
    case R::kListContainers: return list_containers();
    case R::kUpdateContainer: {
      const auto& u = request.update_container();
      requests_.push_back("UpdateContainer " + u.container_id() + " " + u.resources_json());
      if (containers_.count(u.container_id()) == 0) {
        return error(idm::v1::Error::CODE_NOT_FOUND, "no container " + u.container_id());
      }
      return ack();
    }
    case R::kExecStart: return exec_start(request.exec_start());
    case R::kSignalExec: return signal_exec(request.signal_exec().exec_id(), request.signal_exec().signal());
    case R::kResizeTty:
      requests_.push_back("ResizeTty " + std::to_string(request.resize_tty().stream_id()) + " " +
                          std::to_string(request.resize_tty().rows()) + "x" +
                          std::to_string(request.resize_tty().cols()));
      return ack();
    case R::kStats: return stats();
    case R::kShutdown: power_off = true; return shutdown();
    case R::kConfigureNetwork: {
      const std::string& config = request.configure_network().config_json();
      requests_.push_back("ConfigureNetwork " + config);
      if (!nlohmann::json::accept(config)) return error(idm::v1::Error::CODE_INVALID_ARGUMENT, "not JSON");
      return ack();
    }
    case R::kPortForwardOpen: return port_forward_open(request.port_forward_open());
    case R::kPortForwardClose: {
      const uint32_t stream = request.port_forward_close().stream_id();
      requests_.push_back("PortForwardClose " + std::to_string(stream));
      if (ports_.erase(stream) == 0) return error(idm::v1::Error::CODE_NOT_FOUND, "no such port stream");
      return ack();
    }
    case R::kPortForwardWindow: {
      auto it = ports_.find(request.port_forward_window().stream_id());
      if (it == ports_.end()) return error(idm::v1::Error::CODE_NOT_FOUND, "no such port stream");
      it->second.credit += request.port_forward_window().bytes();
      flush_port(it->first);
      return ack();
    }
    case R::kHello:
    case R::KIND_NOT_SET: break;
  }
  return error(idm::v1::Error::CODE_UNIMPLEMENTED, "request not served");
}

idm::v1::Response FakeAgent::create_container(const idm::v1::CreateContainer& r) {
  requests_.push_back("CreateContainer " + r.container_id() + " " + r.rootfs_device());
  if (containers_.count(r.container_id()) != 0) {
    return error(idm::v1::Error::CODE_ALREADY_EXISTS, "container " + r.container_id() + " exists");
  }
  Container c;
  c.id = r.container_id();
  c.stream_id = r.stream_id();
  c.rootfs_device = r.rootfs_device();
  c.stdin = r.stdin();
  c.created_ns = unix_now_ns();
  try {
    const auto config = nlohmann::json::parse(r.oci_config_json());
    c.argv = config.at("process").at("args").get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception& e) {
    return error(idm::v1::Error::CODE_INVALID_ARGUMENT, std::string("config.json: ") + e.what());
  }
  if (c.argv.empty()) return error(idm::v1::Error::CODE_INVALID_ARGUMENT, "config.json: empty process.args");
  containers_[c.id] = std::move(c);
  return ack();
}

idm::v1::Response FakeAgent::start_container(const std::string& id) {
  requests_.push_back("StartContainer " + id);
  auto it = containers_.find(id);
  if (it == containers_.end()) return error(idm::v1::Error::CODE_NOT_FOUND, "no container " + id);
  Container& c = it->second;
  if (c.status != Container::Status::kCreated) {
    return error(idm::v1::Error::CODE_FAILED_PRECONDITION, "container " + id + " is not created");
  }
  c.status = Container::Status::kRunning;
  c.pid = next_pid_++;
  c.started_ns = unix_now_ns();
  c.program = host_.program_for(c.argv);
  idm::v1::Event started;
  started.mutable_container_started()->set_container_id(id);
  started.mutable_container_started()->set_pid(c.pid);
  started.mutable_container_started()->set_started_at_unix_ns(c.started_ns);
  queue_event(std::move(started), c.stream_id);
  run_program(c.stream_id, c.program);
  if (c.program.exit_code) finish_container(c, *c.program.exit_code, 0);
  return ack();
}

idm::v1::Response FakeAgent::signal_container(const std::string& id, uint32_t sig) {
  requests_.push_back("SignalContainer " + id + " " + std::to_string(sig));
  auto it = containers_.find(id);
  if (it == containers_.end()) return error(idm::v1::Error::CODE_NOT_FOUND, "no container " + id);
  Container& c = it->second;
  if (c.status == Container::Status::kRunning && (sig == kSigKill || c.program.ignored_signals.count(sig) == 0)) {
    finish_container(c, 0, sig);
  }
  return ack();
}

idm::v1::Response FakeAgent::delete_container(const std::string& id) {
  requests_.push_back("DeleteContainer " + id);
  auto it = containers_.find(id);
  if (it == containers_.end()) return error(idm::v1::Error::CODE_NOT_FOUND, "no container " + id);
  if (it->second.status == Container::Status::kRunning) {
    return error(idm::v1::Error::CODE_FAILED_PRECONDITION, "container " + id + " is running");
  }
  containers_.erase(it);
  return ack();
}

idm::v1::Response FakeAgent::list_containers() {
  requests_.push_back("ListContainers");
  idm::v1::Response r;
  auto* list = r.mutable_container_list();
  for (const auto& [id, c] : containers_) {
    auto* s = list->add_containers();
    s->set_container_id(id);
    s->set_stream_id(c.stream_id);
    s->set_created_at_unix_ns(c.created_ns);
    s->set_started_at_unix_ns(c.started_ns);
    switch (c.status) {
      case Container::Status::kCreated: s->set_status(idm::v1::ContainerState::STATUS_CREATED); break;
      case Container::Status::kRunning:
        s->set_status(idm::v1::ContainerState::STATUS_RUNNING);
        s->set_pid(c.pid);
        break;
      case Container::Status::kExited: {
        s->set_status(idm::v1::ContainerState::STATUS_EXITED);
        auto* e = s->mutable_exit();
        e->set_container_id(id);
        e->set_exit_code(c.exit_code);
        e->set_signal(c.signal);
        e->set_started_at_unix_ns(c.started_ns);
        e->set_finished_at_unix_ns(c.finished_ns);
        break;
      }
    }
  }
  return r;
}

idm::v1::Response FakeAgent::exec_start(const idm::v1::ExecStart& r) {
  std::vector<std::string> argv(r.args().begin(), r.args().end());
  requests_.push_back("ExecStart " + r.exec_id() + " " + join(argv, 0));
  auto it = containers_.find(r.container_id());
  if (it == containers_.end()) return error(idm::v1::Error::CODE_NOT_FOUND, "no container " + r.container_id());
  if (it->second.status != Container::Status::kRunning) {
    return error(idm::v1::Error::CODE_FAILED_PRECONDITION, "container " + r.container_id() + " is not running");
  }
  if (execs_.count(r.exec_id()) != 0)
    return error(idm::v1::Error::CODE_ALREADY_EXISTS, "exec " + r.exec_id() + " exists");
  Exec e;
  e.id = r.exec_id();
  e.container_id = r.container_id();
  e.stream_id = r.stream_id();
  e.program = host_.program_for(argv);
  idm::v1::Response reply;
  reply.mutable_exec_started()->set_exec_id(e.id);
  reply.mutable_exec_started()->set_pid(next_pid_++);
  const std::string exec_id = e.id;
  execs_[exec_id] = std::move(e);
  Exec& stored = execs_[exec_id];
  run_program(stored.stream_id, stored.program);
  if (stored.program.echoes_stdin && !r.stdin()) {
    finish_exec(stored, 0, 0);  // stdin is /dev/null: cat ends at once
  } else if (stored.program.exit_code) {
    finish_exec(stored, *stored.program.exit_code, 0);
  }
  return reply;
}

idm::v1::Response FakeAgent::signal_exec(const std::string& exec_id, uint32_t sig) {
  requests_.push_back("SignalExec " + exec_id + " " + std::to_string(sig));
  auto it = execs_.find(exec_id);
  if (it == execs_.end()) return error(idm::v1::Error::CODE_NOT_FOUND, "no exec " + exec_id);
  if (it->second.running && (sig == kSigKill || it->second.program.ignored_signals.count(sig) == 0)) {
    finish_exec(it->second, 0, sig);
  }
  return ack();
}

idm::v1::Response FakeAgent::stats() {
  requests_.push_back("Stats");
  idm::v1::Response r;
  auto* s = r.mutable_stats();
  s->mutable_zone()->set_memory_total_bytes(256ull << 20);
  s->mutable_zone()->set_memory_available_bytes(200ull << 20);
  s->mutable_zone()->set_cpu_usage_ns(123456789);
  s->mutable_zone()->set_timestamp_unix_ns(unix_now_ns());
  for (const auto& [id, c] : containers_) {
    if (c.status != Container::Status::kRunning) continue;
    auto* cs = s->add_containers();
    cs->set_container_id(id);
    cs->set_cpu_usage_ns(1000);
    cs->set_memory_usage_bytes(4096);
  }
  auto* made_up = s->add_containers();  // a hostile zone may invent containers
  made_up->set_container_id("not-a-container-of-this-daemon");
  return r;
}

idm::v1::Response FakeAgent::shutdown() {
  requests_.push_back("Shutdown");
  for (auto& [id, c] : containers_) {
    if (c.status != Container::Status::kRunning) continue;
    finish_container(c, 0, c.program.ignored_signals.count(kSigTerm) != 0 ? kSigKill : kSigTerm);
  }
  return ack();
}

idm::v1::Response FakeAgent::port_forward_open(const idm::v1::PortForwardOpen& r) {
  requests_.push_back("PortForwardOpen " + std::to_string(r.stream_id()) + " " + std::to_string(r.port()));
  if (r.port() != 7 && r.port() != 13 && r.port() != 666) {
    return error(idm::v1::Error::CODE_FAILED_PRECONDITION,
                 "connect to 127.0.0.1:" + std::to_string(r.port()) + ": Connection refused");
  }
  ports_[r.stream_id()] = FakePort{r.port(), r.window(), {}};
  if (r.port() == 13) {
    queue_output(r.stream_id(), 1, "daytime\n");
    queue_port_eof(r.stream_id(), true);
  } else if (r.port() == 666) {
    queue_output(r.stream_id(), 1, std::string(std::min<size_t>(r.window(), 200 * 1024), 'f'));
    queue_output(r.stream_id(), 1, std::string(std::min<size_t>(r.window(), 200 * 1024), 'f'));
    queue_output(r.stream_id(), 1, std::string(std::min<size_t>(r.window(), 200 * 1024), 'f'));
  }
  return ack();
}

void FakeAgent::queue_port_eof(uint32_t stream_id, bool closed_event) {
  Outgoing out;
  out.stream_id = stream_id;
  auto* s = out.envelope.mutable_stream();
  s->set_stream_id(stream_id);
  s->set_fd(idm::v1::STREAM_FD_STDOUT);
  s->set_eof(true);
  outbox_.push_back(std::move(out));
  if (closed_event) {
    Outgoing closed;
    closed.stream_id = stream_id;
    closed.envelope.mutable_event()->mutable_port_forward_closed()->set_stream_id(stream_id);
    outbox_.push_back(std::move(closed));
    ports_.erase(stream_id);
  }
  wake();
}

// Echo within the daemon's window: what it sent comes back as its credit allows, and is granted
// back to it once echoed (as the real agent grants what it wrote to the socket).
void FakeAgent::flush_port(uint32_t stream_id) {
  FakePort& p = ports_.at(stream_id);
  const size_t n = std::min(p.credit, p.pending.size());
  if (n == 0) {
    if (p.eof && p.pending.empty()) queue_port_eof(stream_id, true);
    return;
  }
  p.credit -= n;
  queue_output(stream_id, 1, p.pending.substr(0, n));
  p.pending.erase(0, n);
  Outgoing grant;
  grant.stream_id = stream_id;
  auto* w = grant.envelope.mutable_event()->mutable_port_forward_window();
  w->set_stream_id(stream_id);
  w->set_bytes(static_cast<uint32_t>(n));
  outbox_.push_back(std::move(grant));
  wake();
  if (p.eof && p.pending.empty()) queue_port_eof(stream_id, true);
}

void FakeAgent::on_port_data(const idm::v1::StreamData& data) {
  if (ports_.at(data.stream_id()).port != 7) return;
  ports_.at(data.stream_id()).pending += data.data();
  if (data.eof()) ports_.at(data.stream_id()).eof = true;
  flush_port(data.stream_id());
}

void FakeAgent::on_stdin(const idm::v1::StreamData& data) {
  if (data.fd() != idm::v1::STREAM_FD_STDIN) return;
  if (ports_.count(data.stream_id()) != 0) {
    on_port_data(data);
    return;
  }
  for (auto& [id, e] : execs_) {
    if (e.stream_id != data.stream_id() || !e.running) continue;
    if (e.program.echoes_stdin && !data.data().empty()) queue_output(e.stream_id, 1, data.data());
    if (data.eof() && e.program.echoes_stdin) finish_exec(e, 0, 0);
    return;
  }
  for (auto& [id, c] : containers_) {
    if (c.stream_id != data.stream_id() || c.status != Container::Status::kRunning) continue;
    if (c.program.echoes_stdin && !data.data().empty()) queue_output(c.stream_id, 1, data.data());
    if (data.eof() && c.program.echoes_stdin) finish_container(c, 0, 0);
    return;
  }
}

// ---------------------------------------------------------------------------------------------
// FakeAgent: processes and what they send

void FakeAgent::run_program(uint32_t stream_id, const FakeProgram& program) {
  if (!program.out.empty()) queue_output(stream_id, 1, program.out);
  if (!program.err.empty()) queue_output(stream_id, 2, program.err);
}

void FakeAgent::finish_container(Container& c, int32_t exit_code, uint32_t sig) {
  c.status = Container::Status::kExited;
  c.pid = 0;
  c.signal = sig;
  c.exit_code = sig != 0 ? 128 + static_cast<int32_t>(sig) : exit_code;
  c.finished_ns = unix_now_ns();
  idm::v1::Event event;
  auto* e = event.mutable_container_exited();
  e->set_container_id(c.id);
  e->set_exit_code(sig != 0 ? 0 : exit_code);
  e->set_signal(sig);
  e->set_started_at_unix_ns(c.started_ns);
  e->set_finished_at_unix_ns(c.finished_ns);
  queue_event(std::move(event), c.stream_id);
}

void FakeAgent::finish_exec(Exec& e, int32_t exit_code, uint32_t sig) {
  e.running = false;
  idm::v1::Event event;
  auto* x = event.mutable_exec_exited();
  x->set_exec_id(e.id);
  x->set_exit_code(sig != 0 ? 0 : exit_code);
  x->set_signal(sig);
  queue_event(std::move(event), e.stream_id);
}

void FakeAgent::queue_output(uint32_t stream_id, int fd, std::string data) {
  Outgoing out;
  out.stream_id = stream_id;
  auto* s = out.envelope.mutable_stream();
  s->set_stream_id(stream_id);
  s->set_fd(fd == 2 ? idm::v1::STREAM_FD_STDERR : idm::v1::STREAM_FD_STDOUT);
  s->set_data(std::move(data));
  outbox_.push_back(std::move(out));
  wake();
}

// Like the real agent: an event is reported after the stream's output; with no daemon
// connected and no output pending, it is dropped (ListContainers tells a later daemon).
void FakeAgent::queue_event(idm::v1::Event event, uint32_t stream_id) {
  const bool output_pending = std::any_of(outbox_.begin(), outbox_.end(), [&](const Outgoing& o) {
    return o.stream_id == stream_id && o.envelope.has_stream();
  });
  if (!connected_ && !output_pending) return;
  Outgoing out;
  out.stream_id = stream_id;
  *out.envelope.mutable_event() = std::move(event);
  outbox_.push_back(std::move(out));
  wake();
}

// ---------------------------------------------------------------------------------------------
// FakeAgent: for tests

std::vector<std::string> FakeAgent::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

bool FakeAgent::saw(const std::string& request) const {
  std::lock_guard lock(mu_);
  return std::find(requests_.begin(), requests_.end(), request) != requests_.end();
}

std::optional<FakeAgent::Container> FakeAgent::container(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = containers_.find(id);
  if (it == containers_.end()) return std::nullopt;
  return it->second;
}

std::vector<FakeAgent::Container> FakeAgent::containers() const {
  std::lock_guard lock(mu_);
  std::vector<Container> out;
  for (const auto& [id, c] : containers_) out.push_back(c);
  return out;
}

Status FakeAgent::write_output(const std::string& container_id, int fd, std::string data) {
  std::lock_guard lock(mu_);
  auto it = containers_.find(container_id);
  if (it == containers_.end() || it->second.status != Container::Status::kRunning) {
    return Error(ErrorCode::kFailedPrecondition, "fake agent: container " + container_id + " is not running");
  }
  queue_output(it->second.stream_id, fd, std::move(data));
  return ok_status();
}

Status FakeAgent::exit_container(const std::string& container_id, int32_t exit_code) {
  std::lock_guard lock(mu_);
  auto it = containers_.find(container_id);
  if (it == containers_.end() || it->second.status != Container::Status::kRunning) {
    return Error(ErrorCode::kFailedPrecondition, "fake agent: container " + container_id + " is not running");
  }
  finish_container(it->second, exit_code, 0);
  return ok_status();
}
}  // namespace zoned::testing
