// FakeZoneManager: an in-memory test double of zone_runtime::ZoneManager for the admin API and
// zonectl tests. Zones "boot" at once; nothing touches Xen.
//
// Containers and execs run a tiny script named by their command line (command, then args):
//   echo WORDS...      WORDS and a newline on stdout, exit 0
//   echo-err WORDS...  the same on stderr, exit 1
//   exit N             exit status N
//   cat                (exec) stdin copied to stdout until stdin is closed, then exit 0
//   size               (exec) "ROWSxCOLS\n" on every resize, until stdin is closed
//   sleep              runs until stopped or signalled (exit 128 + signal)
// attach: the attached "main process" echoes stdin to stdout (fd 1) and prints "ROWSxCOLS\n" on
// resize; wait() returns once the container exited. dial(zone, port) connects to
// 127.0.0.1:port on the test host (dial_port_offset shifts it; dial_calls counts).
// A container without a command runs `echo hello from IMAGE`. Containers write CRI-format log
// files into the directory given to the constructor; tests can add lines and end running
// containers by hand (append_log, finish_container). Images are known by name (known_images);
// `fail_next` makes the next call fail with the given error.
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "zoned/common/unique_fd.h"
#include "zoned/zone_runtime/zone_manager.h"

namespace zoned::testing {

class FakeZoneManager final : public zone_runtime::ZoneManager {
 public:
  using ZoneRecord = zone_runtime::ZoneRecord;
  using ContainerRecord = zone_runtime::ContainerRecord;
  using ZoneState = zone_runtime::ZoneState;
  using ContainerState = zone_runtime::ContainerState;

  explicit FakeZoneManager(std::string log_dir) : log_dir_(std::move(log_dir)) {}

  // ---- test controls (lock-free to set before the server starts; guarded afterwards) ----
  // The network config (ZoneSpec::network_config_json) each zone's agent was given, by zone id.
  std::map<std::string, std::string> network_configs;
  // The next call fails with `error`; with `call` ("create_container"), the next call of that
  // method only (lookups such as get_zone are never named).
  void set_fail_next(Error error, std::string call = "") {
    std::lock_guard lock(mu_);
    fail_next_ = std::move(error);
    fail_call_ = std::move(call);
  }
  void add_image(const std::string& name) {
    std::lock_guard lock(mu_);
    known_images_.insert(name);
  }
  void set_console(const std::string& zone_id, const std::string& text) {
    std::lock_guard lock(mu_);
    zones_.at(zone_id).console = text;
  }
  void append_console(const std::string& zone_id, const std::string& text) {
    std::lock_guard lock(mu_);
    zones_.at(zone_id).console += text;
  }
  void append_log(const std::string& container_id, int fd, const std::string& line) {
    std::lock_guard lock(mu_);
    write_log_line(containers_.at(container_id), fd, line);
  }
  void finish_container(const std::string& container_id, int exit_code) {
    std::lock_guard lock(mu_);
    exit_container(containers_.at(container_id), exit_code, 0, exit_code == 0 ? "Completed" : "Error");
  }
  void stop_zone_now(const std::string& zone_id, const std::string& reason) {
    std::lock_guard lock(mu_);
    auto& zone = zones_.at(zone_id);
    zone.record.state = ZoneState::kStopped;
    zone.record.reason = reason;
    cv_.notify_all();
  }
  std::vector<std::string> calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }
  // The last ExecRequest seen (exec or exec_sync), and the last timeouts/bounds passed.
  zone_runtime::ExecRequest last_exec() {
    std::lock_guard lock(mu_);
    return last_exec_;
  }
  std::chrono::milliseconds last_exec_timeout() {
    std::lock_guard lock(mu_);
    return last_exec_timeout_;
  }
  size_t last_max_output() {
    std::lock_guard lock(mu_);
    return last_max_output_;
  }
  std::chrono::seconds last_grace() {
    std::lock_guard lock(mu_);
    return last_grace_;
  }
  zone_runtime::ContainerSpec last_container_spec() {
    std::lock_guard lock(mu_);
    return last_container_spec_;
  }
  size_t live_exec_sessions() const { return live_sessions_.load(); }

  // ---- ZoneManager ----
  Result<ZoneRecord> create_zone(const zone_runtime::ZoneSpec& spec) override {
    std::lock_guard lock(mu_);
    ZONED_TRY(enter("create_zone " + spec.name));
    for (const auto& image : spec.images) {
      if (!known_images_.count(image)) return Error(ErrorCode::kNotFound, "image " + image + " not found");
    }
    ZoneRecord r;
    r.id = spec.id.empty() ? new_id() : spec.id;
    if (zones_.count(r.id) != 0) return Error(ErrorCode::kAlreadyExists, "a zone with id " + r.id + " exists");
    r.spec = spec;
    r.spec.on_domain_created = nullptr;
    if (r.spec.name.empty()) r.spec.name = r.id.substr(0, 12);
    for (const auto& [id, zone] : zones_) {
      if (zone.record.spec.name == r.spec.name) {
        return Error(ErrorCode::kAlreadyExists, "a zone named " + r.spec.name + " exists");
      }
    }
    r.type = spec.type.value_or(zone_runtime::DomainType::kPv);
    if (r.spec.memory_mib == 0) r.spec.memory_mib = 256;
    if (r.spec.vcpus == 0) r.spec.vcpus = 1;
    if (r.spec.hostname.empty()) r.spec.hostname = r.spec.name;
    r.state = ZoneState::kRunning;
    r.domid = next_domid_++;
    r.domain_name = "zoned-" + r.id.substr(0, 16);
    r.uuid = "00000000-0000-4000-8000-" + r.id.substr(0, 12);
    for (size_t i = 0; i < spec.images.size(); ++i) {
      std::string letter(1, "bcdefghijklmnop"[i % 15]);
      r.disks.push_back({"sha256:" + std::string(64, 'a'), "xvd" + letter, "/dev/loop" + std::to_string(i)});
    }
    r.created_at_ns = r.started_at_ns = now_ns();
    r.agent_connected = true;
    // pod networking: the hook sees the domid (the CRI layer wires vif<domid>.0 there)
    if (spec.on_domain_created) ZONED_TRY(spec.on_domain_created(r.domid));
    if (!spec.network_config_json.empty()) network_configs[r.id] = spec.network_config_json;
    zones_[r.id] = Zone{r, "[    0.000000] Linux version 6.1 (fake)\nzone " + r.spec.name + ": agent ready\n"};
    return r;
  }

  Status stop_zone(const std::string& key, std::chrono::seconds grace) override {
    std::lock_guard lock(mu_);
    ZONED_TRY(enter("stop_zone " + key));
    auto* zone = find_zone(key);
    if (zone == nullptr) return zone_error(key);
    last_grace_ = grace;
    for (const auto& id : zone->record.container_ids) {
      auto& c = containers_.at(id);
      if (c.record.state == ContainerState::kRunning) exit_container(c, 143, 15, "ZoneStopped");
    }
    zone->record.state = ZoneState::kStopped;
    zone->record.domid = 0;
    zone->record.reason = "Stopped";
    zone->record.finished_at_ns = now_ns();
    cv_.notify_all();
    return ok_status();
  }

  Status remove_zone(const std::string& key) override {
    std::lock_guard lock(mu_);
    ZONED_TRY(enter("remove_zone " + key));
    auto* zone = find_zone(key);
    if (zone == nullptr) return zone_error(key);
    for (const auto& id : zone->record.container_ids) containers_.erase(id);
    zones_.erase(zone->record.id);
    cv_.notify_all();
    return ok_status();
  }

  Result<ZoneRecord> get_zone(const std::string& key) override {
    std::lock_guard lock(mu_);
    ZONED_TRY(enter_quiet());
    auto* zone = find_zone(key);
    if (zone == nullptr) return zone_error(key);
    return zone->record;
  }

  std::vector<ZoneRecord> list_zones() override {
    std::lock_guard lock(mu_);
    std::vector<ZoneRecord> out;
    for (const auto& [id, zone] : zones_) out.push_back(zone.record);
    return out;
  }

  Result<std::string> console(const std::string& key, size_t max_bytes) override {
    std::lock_guard lock(mu_);
    ZONED_TRY(enter_quiet());
    auto* zone = find_zone(key);
    if (zone == nullptr) return zone_error(key);
    const std::string& text = zone->console;
    return text.substr(text.size() - std::min(max_bytes, text.size()));
  }

  Result<zone_runtime::ZoneStats> stats(const std::string& key) override {
    std::lock_guard lock(mu_);
    ZONED_TRY(enter("stats " + key));
    auto* zone = find_zone(key);
    if (zone == nullptr) return zone_error(key);
    if (zone->record.state != ZoneState::kRunning) return not_running(*zone);
    zone_runtime::ZoneStats s;
    s.timestamp_ns = now_ns();
    s.memory_total_bytes = zone->record.spec.memory_mib << 20;
    s.memory_available_bytes = s.memory_total_bytes / 2;
    s.cpu_usage_ns = 123456789;
    for (const auto& id : zone->record.container_ids) s.containers.push_back({id, 1000, 4096});
    return s;
  }

  Result<ContainerRecord> create_container(const std::string& zone_key,
                                           const zone_runtime::ContainerSpec& spec) override {
    std::lock_guard lock(mu_);
    ZONED_TRY(enter("create_container " + spec.name));
    auto* zone = find_zone(zone_key);
    if (zone == nullptr) return zone_error(zone_key);
    if (zone->record.state != ZoneState::kRunning) return not_running(*zone);
    if (!known_images_.count(spec.image)) return Error(ErrorCode::kNotFound, "image " + spec.image + " not found");
    last_container_spec_ = spec;
    ContainerRecord r;
    r.id = new_id();
    r.zone_id = zone->record.id;
    r.spec = spec;
    if (r.spec.name.empty()) r.spec.name = r.id.substr(0, 12);
    for (const auto& id : zone->record.container_ids) {
      if (containers_.at(id).record.spec.name == r.spec.name) {
        return Error(ErrorCode::kAlreadyExists, "a container named " + r.spec.name + " exists in the zone");
      }
    }
    r.image_id = "sha256:" + std::string(64, 'a');
    r.created_at_ns = now_ns();
    r.log_path = spec.log_path.empty() ? log_dir_ + "/" + r.id + ".log" : spec.log_path;
    zone->record.container_ids.push_back(r.id);
    containers_[r.id] = Container{r};
    return r;
  }

  Status start_container(const std::string& key) override {
    std::lock_guard lock(mu_);
    ZONED_TRY(enter("start_container " + key));
    auto* c = find_container(key);
    if (c == nullptr) return container_error(key);
    if (c->record.state != ContainerState::kCreated) {
      return Error(ErrorCode::kFailedPrecondition, "container " + c->record.spec.name + " is not created");
    }
    c->record.state = ContainerState::kRunning;
    c->record.pid = 42;
    c->record.started_at_ns = now_ns();
    std::ofstream(c->record.log_path, std::ios::app);  // the file exists from the start
    auto argv = c->record.spec.oci.command;
    argv.insert(argv.end(), c->record.spec.oci.args.begin(), c->record.spec.oci.args.end());
    if (argv.empty()) argv = {"echo", "hello from " + c->record.spec.image};
    Outcome outcome = run_batch(argv);
    if (!outcome.out.empty()) write_log_line(*c, 1, outcome.out);
    if (!outcome.err.empty()) write_log_line(*c, 2, outcome.err);
    if (!outcome.keeps_running) {
      exit_container(*c, outcome.exit_code, 0, outcome.exit_code == 0 ? "Completed" : "Error");
    }
    return ok_status();
  }

  Status stop_container(const std::string& key, std::chrono::seconds grace) override {
    std::lock_guard lock(mu_);
    ZONED_TRY(enter("stop_container " + key));
    auto* c = find_container(key);
    if (c == nullptr) return container_error(key);
    last_grace_ = grace;
    if (c->record.state == ContainerState::kRunning) exit_container(*c, 143, 15, "Error");
    if (c->record.state == ContainerState::kCreated) exit_container(*c, 0, 0, "NeverStarted");
    return ok_status();
  }

  Status remove_container(const std::string& key) override {
    std::lock_guard lock(mu_);
    ZONED_TRY(enter("remove_container " + key));
    auto* c = find_container(key);
    if (c == nullptr) return ok_status();
    if (c->record.state == ContainerState::kRunning) {
      return Error(ErrorCode::kFailedPrecondition, "container " + c->record.spec.name + " is running");
    }
    auto& ids = zones_.at(c->record.zone_id).record.container_ids;
    ids.erase(std::remove(ids.begin(), ids.end(), c->record.id), ids.end());
    containers_.erase(c->record.id);
    cv_.notify_all();
    return ok_status();
  }

  Result<ContainerRecord> get_container(const std::string& key) override {
    std::lock_guard lock(mu_);
    ZONED_TRY(enter_quiet());
    auto* c = find_container(key);
    if (c == nullptr) return container_error(key);
    return c->record;
  }

  std::vector<ContainerRecord> list_containers(const std::string& zone_filter) override {
    std::lock_guard lock(mu_);
    std::vector<ContainerRecord> out;
    for (const auto& [id, c] : containers_) {
      if (zone_filter.empty() || c.record.zone_id == zone_filter) out.push_back(c.record);
    }
    return out;
  }

  Result<ContainerRecord> wait_container(const std::string& key, std::chrono::milliseconds timeout) override {
    std::unique_lock lock(mu_);
    ZONED_TRY(enter_quiet());
    auto* c = find_container(key);
    if (c == nullptr) return container_error(key);
    std::string id = c->record.id;
    auto exited = [&] {
      auto it = containers_.find(id);
      return it == containers_.end() || it->second.record.state == ContainerState::kExited;
    };
    if (!cv_.wait_for(lock, timeout, exited)) {
      return Error(ErrorCode::kDeadlineExceeded, "container " + id + " is still running");
    }
    auto it = containers_.find(id);
    if (it == containers_.end()) return container_error(id);
    return it->second.record;
  }

  // The fake writes each log line by opening the path anew, so a renamed log is replaced by a
  // new file at the next line; reopening creates it at once, as the real one does.
  Status update_container_resources(const std::string& key, const std::string& resources_json) override {
    std::lock_guard lock(mu_);
    ZONED_TRY(enter("update_container_resources " + key));
    auto* c = find_container(key);
    if (c == nullptr) return container_error(key);
    if (c->record.state != ContainerState::kCreated && c->record.state != ContainerState::kRunning) {
      return Error(ErrorCode::kFailedPrecondition, "container " + c->record.spec.name + " is not created or running");
    }
    resources_updates_.emplace_back(c->record.id, resources_json);
    return ok_status();
  }
  // What update_container_resources applied: {container id, resources JSON}, in order.
  std::vector<std::pair<std::string, std::string>> resources_updates() {
    std::lock_guard lock(mu_);
    return resources_updates_;
  }

  Status reopen_container_log(const std::string& key) override {
    std::lock_guard lock(mu_);
    ZONED_TRY(enter("reopen_container_log " + key));
    auto* c = find_container(key);
    if (c == nullptr) return container_error(key);
    if (c->record.state != ContainerState::kRunning) {
      return Error(ErrorCode::kFailedPrecondition, "container " + c->record.spec.name + " is not running");
    }
    std::ofstream(c->record.log_path, std::ios::app);
    return ok_status();
  }

  Result<zone_runtime::ExecResult> exec_sync(const zone_runtime::ExecRequest& request,
                                             std::chrono::milliseconds timeout, size_t max_output_bytes) override {
    std::lock_guard lock(mu_);
    ZONED_TRY(enter("exec_sync " + request.container_id));
    ZONED_TRY(check_exec(request));
    last_exec_timeout_ = timeout;
    last_max_output_ = max_output_bytes;
    Outcome outcome = run_batch(request.args);
    if (outcome.keeps_running) return Error(ErrorCode::kDeadlineExceeded, "exec timed out");
    zone_runtime::ExecResult result;
    result.exit_code = outcome.exit_code;
    result.stdout_data = outcome.out.substr(0, max_output_bytes);
    result.stderr_data = outcome.err.substr(0, max_output_bytes);
    result.output_truncated = outcome.out.size() > max_output_bytes || outcome.err.size() > max_output_bytes;
    return result;
  }

  Result<std::unique_ptr<zone_runtime::ExecSession>> exec(const zone_runtime::ExecRequest& request,
                                                          zone_runtime::ExecOutputSink sink) override {
    std::lock_guard lock(mu_);
    ZONED_TRY(enter("exec " + request.container_id));
    ZONED_TRY(check_exec(request));
    return std::unique_ptr<zone_runtime::ExecSession>(
        std::make_unique<Session>(request.args, request.tty, std::move(sink), live_sessions_));
  }

  Result<std::unique_ptr<zone_runtime::AttachSession>> attach(const std::string& container,
                                                              const zone_runtime::AttachOptions& options,
                                                              zone_runtime::ExecOutputSink sink) override {
    std::lock_guard lock(mu_);
    ZONED_TRY(enter("attach " + container));
    auto* c = find_container(container);
    if (c == nullptr) return container_error(container);
    if (c->record.state != ContainerState::kRunning) {
      return Error(ErrorCode::kFailedPrecondition, "container " + c->record.spec.name + " is not running");
    }
    if (options.stdin && !c->record.spec.oci.stdin) {
      return Error(ErrorCode::kFailedPrecondition, "container " + c->record.spec.name + " has no stdin");
    }
    last_attach_ = options;
    return std::unique_ptr<zone_runtime::AttachSession>(
        std::make_unique<Attached>(*this, c->record.id, options, std::move(sink)));
  }

  Result<std::unique_ptr<zone_runtime::PortStream>> dial(const std::string& zone, uint16_t port) override {
    {
      std::lock_guard lock(mu_);
      ZONED_TRY(enter("dial " + zone + " " + std::to_string(port)));
      auto* z = find_zone(zone);
      if (z == nullptr) return Error(ErrorCode::kNotFound, "zone " + zone + " not found");
      if (z->record.state != ZoneState::kRunning) return Error(ErrorCode::kFailedPrecondition, "zone not running");
    }
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return sys_error("socket");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
      return Error(ErrorCode::kUnavailable,
                   "connect to 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(errno), errno);
    }
    return std::unique_ptr<zone_runtime::PortStream>(std::make_unique<TcpStream>(std::move(fd)));
  }

  zone_runtime::AttachOptions last_attach() {
    std::lock_guard lock(mu_);
    return last_attach_;
  }
  size_t live_attachments() const { return live_attachments_.load(); }

  bool image_in_use(const std::string& image) override {
    std::lock_guard lock(mu_);
    for (const auto& [id, zone] : zones_) {
      const auto& images = zone.record.spec.images;
      if (std::find(images.begin(), images.end(), image) != images.end()) return true;
    }
    return false;
  }

 private:
  struct Zone {
    ZoneRecord record;
    std::string console;
  };
  struct Container {
    ContainerRecord record;
  };
  struct Outcome {
    int32_t exit_code = 0;
    std::string out, err;
    bool keeps_running = false;
  };

  static std::string join(const std::vector<std::string>& argv, size_t from) {
    std::string out;
    for (size_t i = from; i < argv.size(); ++i) out += (i > from ? " " : "") + argv[i];
    return out;
  }

  // A script run without input: what `echo`, `exit` and friends print and return.
  static Outcome run_batch(const std::vector<std::string>& argv) {
    Outcome o;
    const std::string& cmd = argv.at(0);
    if (cmd == "echo") {
      o.out = join(argv, 1) + "\n";
    } else if (cmd == "echo-err") {
      o.err = join(argv, 1) + "\n";
      o.exit_code = 1;
    } else if (cmd == "exit") {
      o.exit_code = argv.size() > 1 ? std::stoi(argv[1]) : 0;
    } else if (cmd == "sleep") {
      o.keeps_running = true;
    } else if (cmd != "cat" && cmd != "size") {
      o.err = cmd + ": not found\n";
      o.exit_code = 127;
    }
    return o;
  }

  // An exec with streamed stdio, run by its own thread.
  class Session final : public zone_runtime::ExecSession {
   public:
    Session(std::vector<std::string> argv, bool tty, zone_runtime::ExecOutputSink sink, std::atomic<size_t>& live)
        : argv_(std::move(argv)), tty_(tty), sink_(std::move(sink)), live_(live) {
      ++live_;
      thread_ = std::thread([this] { run(); });
    }
    ~Session() override {
      {
        std::lock_guard lock(mu_);
        killed_ = killed_ == 0 ? 9 : killed_;
        cv_.notify_all();
      }
      thread_.join();
      --live_;
    }
    Status write_stdin(std::string_view data) override { return push({Event::kStdin, std::string(data), 0, 0}); }
    Status close_stdin() override { return push({Event::kClose, {}, 0, 0}); }
    Status resize(uint32_t rows, uint32_t cols) override { return push({Event::kResize, {}, rows, cols}); }
    Status signal(uint32_t sig) override {
      std::lock_guard lock(mu_);
      if (result_) return Error(ErrorCode::kFailedPrecondition, "the process has exited");
      killed_ = sig;
      cv_.notify_all();
      return ok_status();
    }
    Result<std::optional<zone_runtime::ExecResult>> wait(std::chrono::milliseconds timeout) override {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, timeout, [this] { return result_.has_value(); });
      return result_;
    }

   private:
    struct Event {
      enum Kind { kStdin, kClose, kResize } kind;
      std::string data;
      uint32_t rows, cols;
    };

    Status push(Event event) {
      std::lock_guard lock(mu_);
      if (result_) return Error(ErrorCode::kFailedPrecondition, "the process has exited");
      events_.push_back(std::move(event));
      cv_.notify_all();
      return ok_status();
    }

    void run() {
      const std::string& cmd = argv_.at(0);
      zone_runtime::ExecResult result;
      if (cmd == "cat" || cmd == "size" || cmd == "sleep") {
        result = interact(cmd);
      } else {
        Outcome o = run_batch(argv_);
        if (!o.out.empty()) sink_(1, o.out);
        if (!o.err.empty()) sink_(tty_ ? 1 : 2, o.err);
        result.exit_code = o.exit_code;
      }
      std::lock_guard lock(mu_);
      result_ = result;
      cv_.notify_all();
    }

    zone_runtime::ExecResult interact(const std::string& cmd) {
      std::unique_lock lock(mu_);
      for (;;) {
        cv_.wait(lock, [this] { return killed_ != 0 || !events_.empty(); });
        if (killed_ != 0) {
          zone_runtime::ExecResult r;
          r.signal = killed_;
          r.exit_code = 128 + static_cast<int32_t>(killed_);
          return r;
        }
        Event e = std::move(events_.front());
        events_.pop_front();
        if (e.kind == Event::kClose && cmd != "sleep") return {};
        lock.unlock();
        if (e.kind == Event::kStdin && cmd == "cat") sink_(1, e.data);
        if (e.kind == Event::kResize && cmd == "size") {
          sink_(1, std::to_string(e.rows) + "x" + std::to_string(e.cols) + "\n");
        }
        lock.lock();
      }
    }

    std::vector<std::string> argv_;
    bool tty_;
    zone_runtime::ExecOutputSink sink_;
    std::atomic<size_t>& live_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Event> events_;
    uint32_t killed_ = 0;
    std::optional<zone_runtime::ExecResult> result_;
    std::thread thread_;
  };

  // An attachment to a fake container: stdin comes back on stdout.
  class Attached final : public zone_runtime::AttachSession {
   public:
    Attached(FakeZoneManager& owner, std::string id, zone_runtime::AttachOptions options,
             zone_runtime::ExecOutputSink sink)
        : owner_(owner), id_(std::move(id)), options_(options), sink_(std::move(sink)) {
      ++owner_.live_attachments_;
    }
    ~Attached() override { --owner_.live_attachments_; }
    Status write_stdin(std::string_view data) override {
      if (!options_.stdin || closed_) return Error(ErrorCode::kFailedPrecondition, "no stdin");
      sink_(1, data);
      return ok_status();
    }
    Status close_stdin() override {
      closed_ = true;
      return ok_status();
    }
    Status resize(uint32_t rows, uint32_t cols) override {
      if (!options_.tty) return Error(ErrorCode::kFailedPrecondition, "no tty");
      sink_(1, std::to_string(rows) + "x" + std::to_string(cols) + "\n");
      return ok_status();
    }
    Result<bool> wait(std::chrono::milliseconds timeout) override {
      auto r = owner_.wait_container(id_, timeout);
      if (r.ok()) return true;
      if (r.error().code() == ErrorCode::kDeadlineExceeded) return false;
      return r.error();
    }

   private:
    FakeZoneManager& owner_;
    std::string id_;
    zone_runtime::AttachOptions options_;
    zone_runtime::ExecOutputSink sink_;
    bool closed_ = false;
  };

  // A PortStream over a TCP socket on the test host.
  class TcpStream final : public zone_runtime::PortStream {
   public:
    explicit TcpStream(UniqueFd fd) : fd_(std::move(fd)) {}
    Result<size_t> read(char* buf, size_t n) override {
      for (;;) {
        if (closed_.load()) return Error(ErrorCode::kCancelled, "closed");
        pollfd p{fd_.get(), POLLIN, 0};
        const int r = ::poll(&p, 1, 50);
        if (r < 0 && errno != EINTR) return sys_error("poll");
        if (r <= 0) continue;
        const ssize_t got = ::recv(fd_.get(), buf, n, 0);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return sys_error("recv");
        return static_cast<size_t>(got);
      }
    }
    Status write(std::string_view data) override {
      while (!data.empty()) {
        const ssize_t n = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return sys_error("send");
        data.remove_prefix(static_cast<size_t>(n));
      }
      return ok_status();
    }
    Status close_write() override {
      if (::shutdown(fd_.get(), SHUT_WR) != 0) return sys_error("shutdown");
      return ok_status();
    }
    void close() override {
      closed_ = true;
      (void)::shutdown(fd_.get(), SHUT_RDWR);
    }

   private:
    UniqueFd fd_;
    std::atomic<bool> closed_{false};
  };

  Status enter(std::string call) {
    calls_.push_back(call);
    return enter_quiet(call);
  }
  Status enter_quiet(const std::string& call = "") {
    if (!fail_next_ || call.rfind(fail_call_, 0) != 0) return ok_status();
    Error error = std::move(*fail_next_);
    fail_next_.reset();
    return error;
  }

  Status check_exec(const zone_runtime::ExecRequest& request) {
    last_exec_ = request;
    auto* c = find_container(request.container_id);
    if (c == nullptr) return container_error(request.container_id);
    if (c->record.state != ContainerState::kRunning) {
      return Error(ErrorCode::kFailedPrecondition, "container " + c->record.spec.name + " is not running");
    }
    return ok_status();
  }

  std::string new_id() {
    static const char* hex = "0123456789abcdef";
    std::string id;
    for (int i = 0; i < 64; ++i) id += hex[rng_() % 16];
    return id;
  }

  static int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  Zone* find_zone(const std::string& key) {
    lookup_ambiguous_ = false;
    Zone* found = nullptr;
    for (auto& [id, zone] : zones_) {
      if (zone.record.spec.name == key || id == key) return &zone;
    }
    for (auto& [id, zone] : zones_) {
      if (!key.empty() && id.rfind(key, 0) == 0) {
        if (found != nullptr) lookup_ambiguous_ = true;
        found = &zone;
      }
    }
    return lookup_ambiguous_ ? nullptr : found;
  }

  Container* find_container(const std::string& key) {
    lookup_ambiguous_ = false;
    Container* found = nullptr;
    for (auto& [id, c] : containers_) {
      if (key.empty() || id.rfind(key, 0) != 0) continue;
      if (found != nullptr) lookup_ambiguous_ = true;
      found = &c;
    }
    return lookup_ambiguous_ ? nullptr : found;
  }

  Error zone_error(const std::string& key) const {
    if (lookup_ambiguous_) return Error(ErrorCode::kInvalidArgument, "zone id prefix " + key + " is ambiguous");
    return Error(ErrorCode::kNotFound, "zone " + key + " not found");
  }
  Error container_error(const std::string& key) const {
    if (lookup_ambiguous_) return Error(ErrorCode::kInvalidArgument, "container id prefix " + key + " is ambiguous");
    return Error(ErrorCode::kNotFound, "container " + key + " not found");
  }
  static Error not_running(const Zone& zone) {
    return Error(ErrorCode::kFailedPrecondition, "zone " + zone.record.spec.name + " is " +
                                                     std::string(zone_runtime::zone_state_name(zone.record.state)) +
                                                     ", not running");
  }

  static void write_log_line(Container& c, int fd, const std::string& text) {
    std::ofstream log(c.record.log_path, std::ios::app);
    std::string rest = text;
    while (!rest.empty()) {
      auto nl = rest.find('\n');
      std::string line = rest.substr(0, nl);
      bool whole = nl != std::string::npos;
      log << "2025-01-01T00:00:00.000000000Z " << (fd == 2 ? "stderr" : "stdout") << (whole ? " F " : " P ") << line
          << "\n";
      rest = whole ? rest.substr(nl + 1) : "";
    }
  }

  void exit_container(Container& c, int32_t exit_code, uint32_t sig, const std::string& reason) {
    c.record.state = ContainerState::kExited;
    c.record.exit_code = exit_code;
    c.record.signal = sig;
    c.record.reason = reason;
    c.record.finished_at_ns = now_ns();
    cv_.notify_all();
  }

  std::string log_dir_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Zone> zones_;
  std::map<std::string, Container> containers_;
  std::set<std::string> known_images_{"busybox", "alpine"};
  std::optional<Error> fail_next_;
  std::string fail_call_;
  std::vector<std::string> calls_;
  zone_runtime::ExecRequest last_exec_;
  std::chrono::milliseconds last_exec_timeout_{0};
  size_t last_max_output_ = 0;
  std::chrono::seconds last_grace_{0};
  zone_runtime::ContainerSpec last_container_spec_;
  std::vector<std::pair<std::string, std::string>> resources_updates_;
  std::mt19937_64 rng_{20250101};
  uint32_t next_domid_ = 1;
  bool lookup_ambiguous_ = false;
  std::atomic<size_t> live_sessions_{0};
  std::atomic<size_t> live_attachments_{0};
  zone_runtime::AttachOptions last_attach_;
};

}  // namespace zoned::testing
