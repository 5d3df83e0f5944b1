// Internal: the agent's state and the members shared by agent_loop.cc (poll loop, connection),
// requests.cc (dispatch), containers.cc, execs.cc and shutdown.cc.
//
// Container states (phase), with what moves them:
//
//   CreateContainer -> kWaitingDevice --(/dev/<dev> appears)--> kCreating --(crun create ok)-->
//   kCreated --StartContainer--> kStarting --(crun start ok)--> kRunning
//   kCreated/kRunning: the init exits -> `exited` set; once its output reached EOF the exit is
//   reported (ContainerExited event, waiters answered): `exit_reported`, listed as EXITED.
//   DeleteContainer (kCreated, or exit reported) -> kDeleting --(crun delete)--> forgotten.
//   A failed create undoes its steps and forgets the container.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "idm.pb.h"
#include "zoned/agent/agent.h"
#include "zoned/agent/child_reaper.h"
#include "zoned/agent/command_runner.h"
#include "zoned/agent/oci_spec.h"
#include "zoned/agent/stdio_stream.h"
#include "zoned/common/result.h"
#include "zoned/common/unique_fd.h"
#include "zoned/idm/endpoint.h"

namespace zoned::agent {

using Clock = std::chrono::steady_clock;

// Where a Response must go: a request id on one connection (a reconnect makes it stale).
struct ReplyTo {
  std::uint64_t request_id = 0;
  std::uint64_t connection = 0;
};

// A process whose exit the agent reports once its output has drained.
struct Tracked {
  pid_t pid = 0;
  bool exited = false;
  ExitStatus exit;
  std::int64_t finished_ns = 0;
  std::unique_ptr<StdioStream> stream;
  UniqueFd console_listener;  // tty: crun sends the pty master here
  std::string console_path;
  Clock::time_point drain_deadline{};
};

enum class Phase { kWaitingDevice, kCreating, kCreated, kStarting, kRunning, kDeleting };

struct Container {
  std::string id;
  std::uint32_t stream_id = 0;
  std::string device;
  bool want_stdin = false;
  std::string username;
  std::string groupname;
  std::string daemon_config;  // kept until the bundle is written
  std::string bundle;         // <state>/containers/<id>
  std::string rootfs;
  ContainerSpec spec;
  Phase phase = Phase::kWaitingDevice;
  bool image_acquired = false;
  bool overlay_mounted = false;
  Clock::time_point device_deadline{};
  std::int64_t created_ns = 0;
  std::int64_t started_ns = 0;
  Tracked proc;
  bool oom_killed = false;  // read from its cgroup when the process exits
  bool exit_reported = false;
  ReplyTo pending;  // the create/start/delete in progress
  std::vector<ReplyTo> waiters;
};

struct Exec {
  std::string id;
  std::string container_id;
  std::uint32_t stream_id = 0;
  std::string dir;  // <state>/execs/<id>
  bool started = false;
  Tracked proc;
  ReplyTo pending;
};

// A connection to 127.0.0.1:port in the zone, relayed to the daemon (port_forward.cc).
struct PortForward {
  std::uint32_t stream_id = 0;
  std::uint32_t port = 0;
  UniqueFd sock;
  bool connecting = false;
  ReplyTo pending;                // the open, answered once connected
  std::string to_port;            // from the daemon, not written yet (<= its window)
  bool to_port_eof = false;       // the daemon half-closed
  bool shut_write = false;        // ... and we passed it on
  bool from_port_eof = false;     // the port half-closed (EOF sent)
  std::size_t send_credit = 0;    // bytes the daemon lets us send
  std::size_t daemon_credit = 0;  // bytes the daemon may still send us
  std::size_t written_since_grant = 0;
};

class AgentImpl {
 public:
  AgentImpl(AgentOptions options, std::unique_ptr<ChannelSource> source, std::unique_ptr<MountOps> mounts,
            AgentHooks hooks, ChildReaper reaper);
  Status init();
  Status run_once(std::chrono::milliseconds max_wait);
  bool stopped() const { return stopped_; }

  // --- agent_loop.cc: connection and sending ---
  void on_source_readable();
  void drop_connection(const char* why);
  void service_endpoint(bool woken);
  void handle_envelope(const idm::v1::Envelope& envelope);
  bool send(const idm::v1::Envelope& envelope);
  void reply(const ReplyTo& to, idm::v1::Response response);
  void reply_error(const ReplyTo& to, const Error& error);
  void reply_ack(const ReplyTo& to);
  void event(idm::v1::Event event);
  bool may_read_output() const;
  std::optional<Clock::time_point> next_deadline() const;
  void poll_streams(std::vector<pollfd>& fds, std::size_t first);
  void tick(Clock::time_point now);
  StdioStream* find_stream(std::uint32_t id);
  bool stream_in_use(std::uint32_t id) const;
  void on_stdin(const idm::v1::StreamData& data);
  void drain(Tracked& proc, Clock::time_point now);
  void touch_stream(std::uint32_t id, Clock::time_point now);

  // --- requests.cc ---
  void handle_request(std::uint64_t id, const idm::v1::Request& request);
  void handle_stats(const ReplyTo& to);
  void handle_resize(const ReplyTo& to, const idm::v1::ResizeTty& resize);

  // --- containers.cc ---
  void create_container(const ReplyTo& to, const idm::v1::CreateContainer& request);
  void continue_create(Container& c);
  Status prepare_bundle(Container& c);
  void on_created(const std::string& id, const CommandResult& result);
  void fail_create(const std::string& id, const Error& error);
  void undo_bundle(Container& c);
  void start_container(const ReplyTo& to, const std::string& id);
  void on_started(const std::string& id, const CommandResult& result);
  void signal_container(const ReplyTo& to, const idm::v1::SignalContainer& request);
  void update_container(const ReplyTo& to, const idm::v1::UpdateContainer& request);
  void wait_container(const ReplyTo& to, const std::string& id);
  void delete_container(const ReplyTo& to, const std::string& id);
  void on_deleted(const std::string& id, const CommandResult& result);
  void list_containers(const ReplyTo& to);
  void on_container_exit(const std::string& id, ExitStatus status);
  void finish_containers();
  idm::v1::ContainerExited exit_message(const Container& c) const;
  Container* find_container(const std::string& id);
  Status acquire_image(const std::string& device);
  void release_image(const std::string& device);

  // --- execs.cc ---
  void exec_start(const ReplyTo& to, const idm::v1::ExecStart& request);
  void on_exec_started(const std::string& id, const CommandResult& result);
  void fail_exec(const std::string& id, const Error& error);
  void signal_exec(const ReplyTo& to, const idm::v1::SignalExec& request);
  void on_exec_exit(const std::string& id, ExitStatus status);
  void finish_execs();

  // --- port_forward.cc ---
  void port_forward_open(const ReplyTo& to, const idm::v1::PortForwardOpen& request);
  void port_forward_close(const ReplyTo& to, std::uint32_t stream_id);
  void port_forward_window(const ReplyTo& to, const idm::v1::PortForwardWindow& request);
  void end_port_forward(std::uint32_t stream_id, const std::string& why);
  void on_port_data(PortForward& pf, const idm::v1::StreamData& data);
  void flush_port(PortForward& pf);
  void add_port_poll_fds(std::vector<pollfd>& fds, std::vector<std::uint32_t>& owners) const;
  void on_port_ready(std::uint32_t stream_id, short revents);

  // --- network_requests.cc ---
  void configure_network(const ReplyTo& to, const idm::v1::ConfigureNetwork& request);
  std::string pod_dir() const { return options_.state_dir + "/pod"; }

  // --- shutdown.cc ---
  void begin_shutdown(const ReplyTo& to);
  void advance_shutdown(Clock::time_point now);
  void power_off();

  // --- shared helpers (containers.cc) ---
  std::vector<std::string> crun_argv(std::vector<std::string> command) const;
  void crun_cleanup(const std::string& id);  // `crun delete -f`, result only logged
  // tty: a console socket for crun (its path), then the pty master it sent as the stream.
  Result<std::string> listen_console(Tracked& proc);
  Status attach_tty(Tracked& proc, std::uint32_t stream_id, bool want_stdin);
  void close_console(Tracked& proc);

  AgentOptions options_;
  std::unique_ptr<ChannelSource> source_;
  std::unique_ptr<MountOps> mounts_;
  AgentHooks hooks_;
  ChildReaper reaper_;
  CommandRunner runner_;

  // The connection (at most one).
  std::unique_ptr<idm::Endpoint> endpoint_;
  std::function<bool()> peer_connected_;
  std::uint64_t connection_ = 0;  // incremented per channel
  bool hello_sent_ = false;
  bool broken_ = false;  // a send failed: dropped at the end of this round
  bool announced_ = false;
  std::uint64_t next_request_id_ = 1;
  std::uint64_t console_counter_ = 0;

  std::map<std::string, std::unique_ptr<Container>> containers_;
  std::map<std::string, std::unique_ptr<Exec>> execs_;
  std::map<std::string, int> image_users_;                               // device -> containers using its mount
  std::map<std::uint32_t, std::unique_ptr<PortForward>> port_forwards_;  // by stream id; per connection

  // Pod network: the config applied (ConfigureNetwork), empty until then.
  std::string network_config_json_;

  // Shutdown.
  bool shutting_down_ = false;
  bool killed_ = false;
  ReplyTo shutdown_reply_;
  Clock::time_point shutdown_deadline_{};
  std::set<std::pair<pid_t, int>> signalled_;  // (pid, signal) already sent
  bool stopped_ = false;
};

std::int64_t unix_now_ns();

}  // namespace zoned::agent
