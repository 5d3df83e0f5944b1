#include "agent_harness.h"

#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <deque>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "zoned/common/unique_fd.h"
#include "zoned/idm/socket_channel.h"

namespace zoned::testing {

using Clock = std::chrono::steady_clock;

// Channels handed over by the test; poll_fd is an eventfd raised by offer().
class TestChannelSource final : public agent::ChannelSource {
 public:
  TestChannelSource() : event_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
  int poll_fd() const override { return event_.get(); }
  void offer(std::unique_ptr<idm::ByteChannel> channel) {
    pending_.push_back(std::move(channel));
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(event_.get(), &one, sizeof one);
  }
  Result<std::optional<agent::NewChannel>> on_readable(const std::function<void()>& drop_current) override {
    std::uint64_t count = 0;
    [[maybe_unused]] auto n = ::read(event_.get(), &count, sizeof count);
    if (pending_.empty()) return std::optional<agent::NewChannel>();
    drop_current();
    agent::NewChannel fresh;
    fresh.channel = std::move(pending_.front());
    pending_.pop_front();
    return std::optional<agent::NewChannel>(std::move(fresh));
  }

 private:
  UniqueFd event_;
  std::deque<std::unique_ptr<idm::ByteChannel>> pending_;
};

AgentHarness::AgentHarness(const std::function<void(agent::AgentOptions&)>& tweak,
                           std::shared_ptr<agent::LinkConfigurator> links) {
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  options_.crun_binary = ZONED_FAKE_CRUN;
  options_.crun_root = dir_.path() + "/crun";
  options_.state_dir = dir_.path() + "/state";
  options_.dev_dir = dir_.path() + "/dev";
  options_.cgroup_root = dir_.path() + "/cgroup";
  options_.proc_dir = dir_.path() + "/proc";
  options_.agent_version = "test";
  options_.crun_timeout = std::chrono::seconds(10);
  options_.device_wait = std::chrono::milliseconds(300);
  options_.stop_grace = std::chrono::seconds(2);
  ::mkdir(options_.dev_dir.c_str(), 0700);
  if (tweak) tweak(options_);
  auto source = std::make_unique<TestChannelSource>();
  source_ = source.get();
  auto mounts = std::make_unique<FakeMountOps>();
  mounts_ = mounts.get();
  agent::AgentHooks hooks;
  hooks.power_off = [this] { powered_off_ = true; };
  hooks.links = std::move(links);
  auto created = agent::Agent::create(options_, std::move(source), std::move(mounts), hooks);
  if (!created.ok()) throw std::runtime_error("agent: " + created.error().describe());
  agent_ = std::move(*created);
}

AgentHarness::~AgentHarness() {
  daemon_.reset();
  agent_.reset();
  // Container processes a test left running (fake-crun records their pids) die with it.
  auto names = [&] {
    std::vector<std::string> out;
    if (DIR* d = ::opendir(options_.crun_root.c_str())) {
      while (const dirent* e = ::readdir(d)) out.emplace_back(e->d_name);
      ::closedir(d);
    }
    return out;
  }();
  for (const auto& name : names) {
    std::ifstream pid_file(options_.crun_root + "/" + name + "/pid");
    int pid = 0;
    if (pid_file >> pid && pid > 1) ::kill(pid, SIGKILL);
  }
  const auto deadline = Clock::now() + std::chrono::seconds(2);
  while (Clock::now() < deadline && ::waitpid(-1, nullptr, WNOHANG) >= 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void AgentHarness::make_device(const std::string& name) {
  const std::string root = options_.dev_dir + "/" + name;
  ::mkdir(root.c_str(), 0755);
  ::mkdir((root + "/etc").c_str(), 0755);
  std::ofstream(root + "/etc/passwd") << "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:App:/home/app:/bin/sh\n";
  std::ofstream(root + "/etc/group") << "root:x:0:\napp:x:1000:\nwheel:x:10:app,other\naudio:x:29:app\n";
}

bool AgentHarness::connect() {
  auto pair = idm::socket_channel_pair();
  if (!pair.ok()) return false;
  source_->offer(std::move(pair->first));
  daemon_ = std::make_unique<idm::Endpoint>(std::move(pair->second));
  const int before = hellos_;
  return run_until([&] { return hellos_ > before; }, std::chrono::seconds(5));
}

void AgentHarness::disconnect() {
  daemon_.reset();
}

void AgentHarness::sort(Envelope envelope) {
  switch (envelope.body_case()) {
    case Envelope::kRequest:
      if (envelope.request().has_hello()) {
        ++hellos_;
        Envelope reply;
        reply.set_id(envelope.id());
        reply.mutable_response()->mutable_hello()->set_protocol_version(1);
        if (daemon_) (void)daemon_->send(reply);
      }
      break;
    case Envelope::kResponse: responses_[envelope.id()] = envelope.response(); break;
    case Envelope::kStream: {
      const auto& s = envelope.stream();
      const auto key = std::make_pair(s.stream_id(), static_cast<int>(s.fd()));
      output_[key] += s.data();
      if (s.eof()) {
        eof_[key] = true;
        trace_.push_back("eof:" + std::to_string(s.stream_id()) + ":" + std::to_string(static_cast<int>(s.fd())));
      }
      break;
    }
    case Envelope::kEvent: {
      const auto& e = envelope.event();
      if (e.has_container_started()) trace_.push_back("started:" + e.container_started().container_id());
      if (e.has_container_exited()) trace_.push_back("exited:" + e.container_exited().container_id());
      if (e.has_exec_exited()) trace_.push_back("exec-exited:" + e.exec_exited().exec_id());
      events_.push_back(e);
      break;
    }
    case Envelope::BODY_NOT_SET: break;
  }
}

void AgentHarness::step(std::chrono::milliseconds agent_wait) {
  auto ran = agent_->run_once(agent_wait);
  if (!ran.ok()) throw std::runtime_error("agent loop: " + ran.error().describe());
  if (!daemon_) return;
  pollfd fd{daemon_->poll_fd(), POLLIN, 0};
  if (::poll(&fd, 1, 0) > 0) (void)daemon_->ack_wakeup();
  for (int i = 0; i < 8 && daemon_; ++i) {
    auto received = daemon_->pump();
    if (!received.ok()) {
      daemon_.reset();
      return;
    }
    for (auto& envelope : *received) sort(std::move(envelope));
    if (!daemon_->input_pending()) break;
  }
}

bool AgentHarness::run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!done()) {
    if (Clock::now() > deadline) return false;
    step();
  }
  return true;
}

void AgentHarness::run_without_reading(std::chrono::milliseconds duration) {
  const auto deadline = Clock::now() + duration;
  while (Clock::now() < deadline) {
    auto ran = agent_->run_once(std::chrono::milliseconds(5));
    if (!ran.ok()) throw std::runtime_error("agent loop: " + ran.error().describe());
  }
}

std::uint64_t AgentHarness::send(const Request& request) {
  Envelope envelope;
  envelope.set_id(next_id_++);
  *envelope.mutable_request() = request;
  auto sent = daemon_->send(envelope);
  if (!sent.ok()) throw std::runtime_error("daemon send: " + sent.error().describe());
  return envelope.id();
}

Response AgentHarness::call(const Request& request, std::chrono::milliseconds timeout) {
  const auto id = send(request);
  if (!run_until([&] { return responses_.count(id) != 0; }, timeout)) return Response();
  return *take_response(id);
}

std::optional<Response> AgentHarness::take_response(std::uint64_t id) {
  auto it = responses_.find(id);
  if (it == responses_.end()) return std::nullopt;
  Response response = std::move(it->second);
  responses_.erase(it);
  return response;
}

std::string AgentHarness::output(std::uint32_t stream, idm::v1::StreamFd fd) const {
  auto it = output_.find({stream, static_cast<int>(fd)});
  return it == output_.end() ? std::string() : it->second;
}

bool AgentHarness::eof(std::uint32_t stream, idm::v1::StreamFd fd) const {
  return eof_.count({stream, static_cast<int>(fd)}) != 0;
}

std::optional<idm::v1::ContainerExited> AgentHarness::container_exit(const std::string& id) const {
  for (const auto& e : events_) {
    if (e.has_container_exited() && e.container_exited().container_id() == id) return e.container_exited();
  }
  return std::nullopt;
}

std::optional<idm::v1::ExecExited> AgentHarness::exec_exit(const std::string& id) const {
  for (const auto& e : events_) {
    if (e.has_exec_exited() && e.exec_exited().exec_id() == id) return e.exec_exited();
  }
  return std::nullopt;
}

void AgentHarness::send_stdin(std::uint32_t stream, const std::string& data, bool eof) {
  Envelope envelope;
  auto* s = envelope.mutable_stream();
  s->set_stream_id(stream);
  s->set_fd(idm::v1::STREAM_FD_STDIN);
  s->set_data(data);
  s->set_eof(eof);
  auto sent = daemon_->send(envelope);
  if (!sent.ok()) throw std::runtime_error("daemon send: " + sent.error().describe());
}

Request create_request(const std::string& id, std::uint32_t stream, const std::vector<std::string>& args,
                       const std::string& device, bool terminal, const std::string& annotations_json) {
  nlohmann::json config = {{"ociVersion", "1.0.2"},
                           {"process",
                            {{"terminal", terminal},
                             {"user", {{"uid", 0}, {"gid", 0}}},
                             {"args", args},
                             {"env", {"PATH=/usr/local/bin:/usr/bin:/bin", "FROM_SPEC=1"}},
                             {"cwd", "/"}}},
                           {"root", {{"path", "rootfs"}, {"readonly", false}}},
                           {"annotations", nlohmann::json::parse(annotations_json)},
                           {"linux", nlohmann::json::object()}};
  Request request;
  auto* create = request.mutable_create_container();
  create->set_container_id(id);
  create->set_oci_config_json(config.dump());
  create->set_rootfs_device(device);
  create->set_stream_id(stream);
  return request;
}

Request start_request(const std::string& id) {
  Request r;
  r.mutable_start_container()->set_container_id(id);
  return r;
}

Request signal_request(const std::string& id, std::uint32_t sig) {
  Request r;
  r.mutable_signal_container()->set_container_id(id);
  r.mutable_signal_container()->set_signal(sig);
  return r;
}

Request wait_request(const std::string& id) {
  Request r;
  r.mutable_wait_container()->set_container_id(id);
  return r;
}

Request update_request(const std::string& id, const std::string& resources_json) {
  Request r;
  r.mutable_update_container()->set_container_id(id);
  r.mutable_update_container()->set_resources_json(resources_json);
  return r;
}

Request delete_request(const std::string& id) {
  Request r;
  r.mutable_delete_container()->set_container_id(id);
  return r;
}

Request list_request() {
  Request r;
  r.mutable_list_containers();
  return r;
}

Request exec_request(const std::string& container, const std::string& exec, std::uint32_t stream,
                     const std::vector<std::string>& args, bool stdin, bool tty) {
  Request r;
  auto* e = r.mutable_exec_start();
  e->set_container_id(container);
  e->set_exec_id(exec);
  e->set_stream_id(stream);
  for (const auto& a : args) e->add_args(a);
  e->add_env("FROM_EXEC=2");
  e->set_stdin(stdin);
  e->set_tty(tty);
  return r;
}

}  // namespace zoned::testing
