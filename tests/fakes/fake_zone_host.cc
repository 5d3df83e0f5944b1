#include "fakes/fake_zone_host.h"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <sys/eventfd.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "zoned/common/file_ops.h"
#include "zoned/idm/socket_channel.h"

namespace zoned::testing {

using zone_runtime::DiskAttachment;
using zone_runtime::DomainInfo;
using zone_runtime::DomainRunState;
using zone_runtime::DomainSpec;

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

std::string domain_base(uint32_t domid) { return "/local/domain/" + std::to_string(domid); }

// "/local/domain/<domid>/data/zoned/idm-request" -> domid
std::optional<uint32_t> idm_request_domid(const std::string& path) {
  const std::string prefix = "/local/domain/";
  const std::string suffix = "/data/zoned/idm-request";
  if (!path.starts_with(prefix) || !path.ends_with(suffix)) return std::nullopt;
  const std::string digits = path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
  if (digits.empty() || digits.size() > 9 || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  return static_cast<uint32_t>(std::stoul(digits));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// programs

std::map<std::string, FakeProgramFn> default_fake_programs() {
  std::map<std::string, FakeProgramFn> table;
  table["echo"] = [](const std::vector<std::string>& argv) { return FakeProgram{join(argv, 1) + "\n", "", 0, {}, false}; };
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
// FakeDevices

struct FakeDevices::State {
  std::mutex mu;
  std::vector<Record> records;
  std::optional<Error> fail_next;
};

namespace {

class FakeAttachedDevice final : public zone_runtime::AttachedDevice {
 public:
  FakeAttachedDevice(std::function<void(bool released)> done, std::string path)
      : done_(std::move(done)), path_(std::move(path)) {}
  ~FakeAttachedDevice() override {
    if (!released_) done_(false);
  }
  const std::string& path() const override { return path_; }
  void release() override {
    if (released_) return;
    released_ = true;
    done_(true);
  }

 private:
  std::function<void(bool)> done_;
  std::string path_;
  bool released_ = false;
};

}  // namespace

FakeDevices::FakeDevices() : state_(std::make_shared<State>()) {}

zone_runtime::DeviceAttacher FakeDevices::attacher() {
  std::shared_ptr<State> state = state_;
  return [state](const std::string& file) -> Result<std::unique_ptr<zone_runtime::AttachedDevice>> {
    std::lock_guard lock(state->mu);
    if (state->fail_next) {
      Error e = std::move(*state->fail_next);
      state->fail_next.reset();
      return e;
    }
    const size_t index = state->records.size();
    const std::string path = "/dev/fake-loop" + std::to_string(index);
    state->records.push_back({file, path, false, true});
    auto done = [state, index](bool released) {
      std::lock_guard inner(state->mu);
      if (released) {
        state->records[index].released = true;
      } else {
        state->records[index].attached = false;
      }
    };
    return std::unique_ptr<zone_runtime::AttachedDevice>(new FakeAttachedDevice(done, path));
  };
}

std::vector<FakeDevices::Record> FakeDevices::records() const {
  std::lock_guard lock(state_->mu);
  return state_->records;
}

std::vector<std::string> FakeDevices::attached() const {
  std::lock_guard lock(state_->mu);
  std::vector<std::string> out;
  for (const auto& r : state_->records) {
    if (r.attached) out.push_back(r.path);
  }
  return out;
}

void FakeDevices::let_go(const std::string& path) {
  std::lock_guard lock(state_->mu);
  for (auto& r : state_->records) {
    if (r.path == path && r.released) r.attached = false;
  }
}

void FakeDevices::fail_next_attach(Error error) {
  std::lock_guard lock(state_->mu);
  state_->fail_next = std::move(error);
}

// ---------------------------------------------------------------------------------------------
// FakeAgent: connection handling

FakeAgent::FakeAgent(FakeZoneHost& host, uint32_t domid)
    : host_(host), domid_(domid), wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

FakeAgent::~FakeAgent() { stop(); }

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
    thread_ = std::thread([this, channel = std::move(pair->second), connection]() mutable {
      serve(std::move(channel), connection);
    });
  }
  host_.agent_ready(domid_, generation);
}

Result<std::unique_ptr<idm::ByteChannel>> FakeAgent::take_channel() {
  std::lock_guard lock(mu_);
  if (!pending_channel_) return Error(ErrorCode::kUnavailable, "fake agent: no channel offered");
  return std::move(pending_channel_);
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
    case idm::Envelope::kStream:
      on_stdin(envelope.stream());
      return std::nullopt;
    case idm::Envelope::kRequest: {
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
    case R::kExecStart: return exec_start(request.exec_start());
    case R::kSignalExec: return signal_exec(request.signal_exec().exec_id(), request.signal_exec().signal());
    case R::kResizeTty:
      requests_.push_back("ResizeTty " + std::to_string(request.resize_tty().stream_id()) + " " +
                          std::to_string(request.resize_tty().rows()) + "x" +
                          std::to_string(request.resize_tty().cols()));
      return ack();
    case R::kStats: return stats();
    case R::kShutdown:
      power_off = true;
      return shutdown();
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
  if (execs_.count(r.exec_id()) != 0) return error(idm::v1::Error::CODE_ALREADY_EXISTS, "exec " + r.exec_id() + " exists");
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

void FakeAgent::on_stdin(const idm::v1::StreamData& data) {
  if (data.fd() != idm::v1::STREAM_FD_STDIN) return;
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

// ---------------------------------------------------------------------------------------------
// FakeZoneHost

FakeZoneHost::FakeZoneHost() : programs_(default_fake_programs()) {}

FakeZoneHost::~FakeZoneHost() {
  std::map<uint32_t, std::unique_ptr<Domain>> domains;
  {
    std::lock_guard lock(mu_);
    domains.swap(domains_);
  }
  for (auto& [domid, d] : domains) d->agent->stop();
}

void FakeZoneHost::set_program(const std::string& argv0, FakeProgramFn program) {
  std::lock_guard lock(mu_);
  programs_[argv0] = std::move(program);
}

FakeProgram FakeZoneHost::program_for(const std::vector<std::string>& argv) const {
  FakeProgramFn fn;
  {
    std::lock_guard lock(mu_);
    if (!argv.empty()) {
      if (auto it = programs_.find(argv[0]); it != programs_.end()) fn = it->second;
    }
  }
  if (fn) return fn(argv);
  return FakeProgram{"", (argv.empty() ? std::string() : argv[0]) + ": not found\n", 127, {}, false};
}

void FakeZoneHost::fail_next_create(Error error) {
  std::lock_guard lock(mu_);
  fail_next_create_ = std::move(error);
}

void FakeZoneHost::set_agents_answer(bool answer) {
  std::vector<std::pair<std::shared_ptr<FakeAgent>, std::string>> late;  // requests not answered yet
  {
    std::lock_guard lock(mu_);
    agents_answer_ = answer;
    if (!answer) return;
    for (const auto& [domid, d] : domains_) {
      auto request = xenstore_.find(domain_base(domid) + "/data/zoned/idm-request");
      auto ready = xenstore_.find(domain_base(domid) + "/data/zoned/idm-ready");
      if (request == xenstore_.end() || d->state != DomainRunState::kRunning) continue;
      if (ready == xenstore_.end() || ready->second != request->second) late.emplace_back(d->agent, request->second);
    }
  }
  for (auto& [agent, generation] : late) agent->listen(generation);
}

std::vector<DomainSpec> FakeZoneHost::created_specs() const {
  std::lock_guard lock(mu_);
  return created_;
}

std::vector<std::pair<uint32_t, DiskAttachment>> FakeZoneHost::added_disks() const {
  std::lock_guard lock(mu_);
  return added_disks_;
}

std::vector<uint32_t> FakeZoneHost::destroyed() const {
  std::lock_guard lock(mu_);
  return destroyed_;
}

bool FakeZoneHost::has_domain(uint32_t domid) const {
  std::lock_guard lock(mu_);
  return domains_.count(domid) != 0;
}

size_t FakeZoneHost::domain_count() const {
  std::lock_guard lock(mu_);
  return domains_.size();
}

std::optional<DomainInfo> FakeZoneHost::domain(uint32_t domid) const {
  std::lock_guard lock(mu_);
  auto it = domains_.find(domid);
  if (it == domains_.end()) return std::nullopt;
  const Domain& d = *it->second;
  return DomainInfo{domid, d.spec.name, d.spec.uuid, d.state, d.spec.memory_mib * 1024, d.spec.vcpus, 1000};
}

std::shared_ptr<FakeAgent> FakeZoneHost::agent(uint32_t domid) const {
  std::lock_guard lock(mu_);
  auto it = domains_.find(domid);
  return it == domains_.end() ? nullptr : it->second->agent;
}

std::optional<std::string> FakeZoneHost::xenstore(const std::string& path) const {
  std::lock_guard lock(mu_);
  auto it = xenstore_.find(path);
  if (it == xenstore_.end()) return std::nullopt;
  return it->second;
}

bool FakeZoneHost::has_domain_change_callback() const {
  std::lock_guard lock(callback_mu_);
  return static_cast<bool>(callback_);
}

void FakeZoneHost::notify() {
  std::lock_guard lock(callback_mu_);
  if (callback_) callback_();
}

void FakeZoneHost::set_domain_state(uint32_t domid, DomainRunState state) {
  std::shared_ptr<FakeAgent> agent;
  {
    std::lock_guard lock(mu_);
    auto it = domains_.find(domid);
    if (it == domains_.end()) return;
    it->second->state = state;
    if (state != DomainRunState::kRunning) agent = it->second->agent;
  }
  if (agent) agent->stop();  // the guest is no longer running: nobody serves the channel
  notify();
}

void FakeZoneHost::vanish(uint32_t domid) {
  std::unique_ptr<Domain> gone;
  {
    std::lock_guard lock(mu_);
    gone = take_domain_locked(domid);
  }
  release_domain(std::move(gone));
  notify();
}

uint32_t FakeZoneHost::add_domain(const DomainSpec& spec) {
  std::lock_guard lock(mu_);
  return add_domain_locked(spec);
}

Status FakeZoneHost::write_console(uint32_t domid, std::string_view text) {
  int fd = -1;
  {
    std::lock_guard lock(mu_);
    auto it = domains_.find(domid);
    if (it == domains_.end()) return Error(ErrorCode::kNotFound, "fake host: no domain " + std::to_string(domid));
    fd = ::dup(it->second->console_master.get());
  }
  if (fd < 0) return sys_error("dup console master");
  UniqueFd master(fd);
  return fs::write_all(master.get(), text.data(), text.size());
}

uint32_t FakeZoneHost::add_domain_locked(const DomainSpec& spec) {
  const uint32_t domid = next_domid_++;
  auto d = std::make_unique<Domain>();
  d->spec = spec;
  int master = -1, slave = -1;
  char name[256] = {};
  if (::openpty(&master, &slave, name, nullptr, nullptr) == 0) {
    d->console_master = UniqueFd(master);
    d->console_slave = UniqueFd(slave);
    ::fcntl(master, F_SETFD, FD_CLOEXEC);
    ::fcntl(slave, F_SETFD, FD_CLOEXEC);
    struct termios tio {};
    if (::tcgetattr(slave, &tio) == 0) {  // no echo of what the test writes, no line discipline
      ::cfmakeraw(&tio);
      ::tcsetattr(slave, TCSANOW, &tio);
    }
    d->console_path = name;
  }
  d->agent = std::make_shared<FakeAgent>(*this, domid);
  xenstore_[domain_base(domid) + "/name"] = spec.name;
  domains_[domid] = std::move(d);
  return domid;
}

std::unique_ptr<FakeZoneHost::Domain> FakeZoneHost::take_domain_locked(uint32_t domid) {
  auto it = domains_.find(domid);
  if (it == domains_.end()) return nullptr;
  std::unique_ptr<Domain> d = std::move(it->second);
  domains_.erase(it);
  const std::string base = domain_base(domid) + "/";
  std::erase_if(xenstore_, [&](const auto& node) { return node.first.starts_with(base); });
  return d;
}

void FakeZoneHost::release_domain(std::unique_ptr<Domain> domain) {
  if (!domain) return;
  domain->agent->stop();
  for (const auto& disk : domain->spec.disks) devices.let_go(disk.target);
}

// --- Hypervisor

zone_runtime::HypervisorStatus FakeZoneHost::probe() { return {true, "", "", {{"hypervisor", "fake"}}}; }

Result<uint32_t> FakeZoneHost::create_domain(const DomainSpec& spec) {
  std::lock_guard lock(mu_);
  if (fail_next_create_) {
    Error e = std::move(*fail_next_create_);
    fail_next_create_.reset();
    return e;
  }
  for (const auto& [domid, d] : domains_) {
    if (d->spec.name == spec.name) return Error(ErrorCode::kAlreadyExists, "fake host: domain " + spec.name + " exists");
  }
  for (const auto& disk : spec.disks) {
    if (disk.target.empty() || disk.vdev.empty()) return Error(ErrorCode::kInvalidArgument, "fake host: disk without target");
  }
  created_.push_back(spec);
  return add_domain_locked(spec);
}

Status FakeZoneHost::destroy_domain(uint32_t domid) {
  std::unique_ptr<Domain> gone;
  {
    std::lock_guard lock(mu_);
    gone = take_domain_locked(domid);
    if (gone) destroyed_.push_back(domid);
  }
  release_domain(std::move(gone));
  return ok_status();
}

Result<std::vector<DomainInfo>> FakeZoneHost::list_domains() {
  std::vector<uint32_t> ids;
  {
    std::lock_guard lock(mu_);
    for (const auto& [domid, d] : domains_) ids.push_back(domid);
  }
  std::vector<DomainInfo> out;
  for (uint32_t domid : ids) {
    if (auto info = domain(domid)) out.push_back(*info);
  }
  return out;
}

Status FakeZoneHost::add_disk(uint32_t domid, const DiskAttachment& disk) {
  std::lock_guard lock(mu_);
  auto it = domains_.find(domid);
  if (it == domains_.end()) return Error(ErrorCode::kNotFound, "fake host: no domain " + std::to_string(domid));
  for (const auto& d : it->second->spec.disks) {
    if (d.vdev == disk.vdev) return Error(ErrorCode::kAlreadyExists, "fake host: " + disk.vdev + " is in use");
  }
  it->second->spec.disks.push_back(disk);
  added_disks_.emplace_back(domid, disk);
  return ok_status();
}

Status FakeZoneHost::remove_disk(uint32_t domid, const std::string& vdev) {
  std::string target;
  {
    std::lock_guard lock(mu_);
    auto it = domains_.find(domid);
    if (it == domains_.end()) return Error(ErrorCode::kNotFound, "fake host: no domain " + std::to_string(domid));
    auto& disks = it->second->spec.disks;
    auto d = std::find_if(disks.begin(), disks.end(), [&](const DiskAttachment& a) { return a.vdev == vdev; });
    if (d == disks.end()) return Error(ErrorCode::kNotFound, "fake host: no disk " + vdev);
    target = d->target;
    disks.erase(d);
  }
  devices.let_go(target);
  return ok_status();
}

Result<std::string> FakeZoneHost::console_path(uint32_t domid) {
  std::lock_guard lock(mu_);
  auto it = domains_.find(domid);
  if (it == domains_.end()) return Error(ErrorCode::kNotFound, "fake host: no domain " + std::to_string(domid));
  return it->second->console_path;
}

Status FakeZoneHost::xenstore_write(const std::string& path, const std::string& value) {
  std::shared_ptr<FakeAgent> agent;
  {
    std::lock_guard lock(mu_);
    xenstore_[path] = value;
    if (auto domid = idm_request_domid(path); domid && agents_answer_) {
      auto it = domains_.find(*domid);
      if (it != domains_.end() && it->second->state == DomainRunState::kRunning) agent = it->second->agent;
    }
  }
  if (agent) agent->listen(value);
  return ok_status();
}

Result<std::optional<std::string>> FakeZoneHost::xenstore_read(const std::string& path) {
  return xenstore(path);
}

void FakeZoneHost::set_domain_change_callback(std::function<void()> callback) {
  std::lock_guard lock(callback_mu_);
  callback_ = std::move(callback);
}

Result<std::unique_ptr<idm::ByteChannel>> FakeZoneHost::connect_channel(uint32_t domid, const std::string& xs_path) {
  std::shared_ptr<FakeAgent> agent;
  {
    std::lock_guard lock(mu_);
    if (xs_path != domain_base(domid) + "/data/zoned/idm") {
      return Error(ErrorCode::kInvalidArgument, "fake host: unexpected channel path " + xs_path);
    }
    auto it = domains_.find(domid);
    if (it == domains_.end()) return Error(ErrorCode::kNotFound, "fake host: no domain " + std::to_string(domid));
    agent = it->second->agent;
  }
  return agent->take_channel();
}

void FakeZoneHost::agent_ready(uint32_t domid, const std::string& generation) {
  std::lock_guard lock(mu_);
  if (domains_.count(domid) != 0) xenstore_[domain_base(domid) + "/data/zoned/idm-ready"] = generation;
}

void FakeZoneHost::agent_powered_off(uint32_t domid) {
  {
    std::lock_guard lock(mu_);
    auto it = domains_.find(domid);
    if (it == domains_.end()) return;
    it->second->state = DomainRunState::kPoweroff;
  }
  notify();
}

}  // namespace zoned::testing
