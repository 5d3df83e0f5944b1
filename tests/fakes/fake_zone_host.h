// FakeZoneHost: a Hypervisor without Xen, for ZoneManager tests. Domains live in memory, each
// with a FakeAgent that speaks IDM over a socketpair the way the real agent (PID 1 in a zone)
// does, running scripted containers; xenstore is a map; the console is a pty the test writes
// to; FakeDevices stands in for loop devices. The host and devices are in fake_zone_host.cc,
// the agent and its programs in fake_zone_agent.cc.
//
// The connection protocol is the real one: a write of <domain>/data/zoned/idm-request makes
// the domain's agent (re)listen: it prepares a fresh channel pair and sets idm-ready to the
// generation; connect_channel() then hands out the daemon's end, and the agent sends Hello
// (request id 1). An agent keeps its containers across connections, so a test can destroy a
// ZoneManager, let containers print or exit "while the daemon is down", and open a new one.
//
// What a started process does is decided by a table of FakePrograms keyed by argv[0] (see
// default_fake_programs()), which the test can extend; the test can also make a running
// container print or exit at any time (FakeAgent::write_output, exit_container).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "zoned/common/unique_fd.h"
#include "zoned/idm/endpoint.h"
#include "zoned/zone_runtime/hypervisor.h"
#include "zoned/zone_runtime/zone_manager.h"

namespace zoned::testing {

// What a fake process does once started: prints `out` / `err`, then exits with `exit_code`,
// or (exit_code unset) runs until a signal ends it or the test ends it.
struct FakeProgram {
  std::string out;
  std::string err;
  std::optional<int32_t> exit_code = 0;
  std::set<uint32_t> ignored_signals;  // e.g. {15}: SIGTERM does nothing (SIGKILL always works)
  bool echoes_stdin = false;           // like cat: stdin comes back on stdout, exit 0 at stdin EOF
};
using FakeProgramFn = std::function<FakeProgram(const std::vector<std::string>& argv)>;

// echo (args + "\n", exit 0), printf (args[1] without newline), true, false (exit 1),
// sleep (until signalled), stubborn (until signalled, ignores SIGTERM), cat (echoes stdin).
// Anything else prints "<argv0>: not found" on stderr and exits 127.
std::map<std::string, FakeProgramFn> default_fake_programs();

// Loop devices: attach() hands out "/dev/fake-loopN". A handle destroyed without release()
// detaches at once; a released one stays attached until the domain using it lets go
// (FakeZoneHost calls let_go for a destroyed domain's disks), like a loop device with autoclear.
class FakeDevices {
 public:
  struct Record {
    std::string file;
    std::string path;
    bool released = false;
    bool attached = true;
  };

  FakeDevices();
  zone_runtime::DeviceAttacher attacher();
  std::vector<Record> records() const;
  std::vector<std::string> attached() const;  // paths still attached
  void let_go(const std::string& path);
  void fail_next_attach(Error error);

 private:
  struct State;
  std::shared_ptr<State> state_;
};

class FakeZoneHost;

// The agent of one fake domain. Thread-safe.
class FakeAgent {
 public:
  struct Container {
    std::string id;
    uint32_t stream_id = 0;
    std::vector<std::string> argv;  // process.args of the OCI config
    std::string rootfs_device;
    bool stdin = false;
    enum class Status { kCreated, kRunning, kExited } status = Status::kCreated;
    uint32_t pid = 0;
    int32_t exit_code = 0;
    uint32_t signal = 0;
    int64_t created_ns = 0, started_ns = 0, finished_ns = 0;
    FakeProgram program;
  };

  FakeAgent(FakeZoneHost& host, uint32_t domid);
  ~FakeAgent();
  FakeAgent(const FakeAgent&) = delete;
  FakeAgent& operator=(const FakeAgent&) = delete;

  // --- for tests
  // Every request received, in order: "CreateContainer <id> <rootfs>", "StartContainer <id>",
  // "SignalContainer <id> <sig>", "DeleteContainer <id>", "ListContainers",
  // "ExecStart <exec id> <args joined by spaces>", "SignalExec <exec id> <sig>",
  // "ResizeTty <stream> <rows>x<cols>", "Stats", "Shutdown", "Ping", "WaitContainer <id>",
  // "ConfigureNetwork <json>" (refused unless the text is JSON), "PortForwardOpen <stream> <port>",
  // "PortForwardClose <stream>". Ports: 7 echoes (and grants back what it got; stdin EOF ends it
  // with PortForwardClosed), 666 floods (sends twice the window at once: a hostile zone), 13
  // sends "daytime\n" and closes; any other is refused (kFailedPrecondition).
  std::vector<std::string> requests() const;
  bool saw(const std::string& request) const;
  std::optional<Container> container(const std::string& id) const;
  std::vector<Container> containers() const;
  // A running container prints (fd 1 or 2) / exits with a code.
  Status write_output(const std::string& container_id, int fd, std::string data);
  Status exit_container(const std::string& container_id, int32_t exit_code);
  // A hung agent records requests but never answers them.
  void set_hung(bool hung);
  // Sends an event as is (a hostile or confused zone), after what is already queued.
  void send_event(idm::v1::Event event);
  bool connected() const;   // a daemon answered our Hello and the connection is up
  int connections() const;  // how many daemons answered our Hello so far
  // Waits until connected() or the timeout passes.
  bool wait_connected(std::chrono::milliseconds timeout) const;

  // --- for FakeZoneHost
  void listen(const std::string& generation);
  Result<std::unique_ptr<idm::ByteChannel>> take_channel();
  void stop();  // the domain is gone: drop the connection, stop serving

 private:
  struct Exec {
    std::string id;
    std::string container_id;
    uint32_t stream_id = 0;
    bool running = true;
    FakeProgram program;
  };
  struct Outgoing {
    idm::Envelope envelope;
    uint32_t stream_id = 0;
  };

  void serve(std::unique_ptr<idm::ByteChannel> channel, uint64_t connection);
  void stop_serving();
  // Handles one envelope from the daemon; returns the response to send (if any) and whether
  // the zone must power off afterwards.
  std::optional<idm::Envelope> handle(const idm::Envelope& envelope, bool& greeted, bool& power_off);
  idm::v1::Response dispatch(const idm::v1::Request& request, bool& power_off);  // mu_ held
  idm::v1::Response create_container(const idm::v1::CreateContainer& r);
  idm::v1::Response start_container(const std::string& id);
  idm::v1::Response signal_container(const std::string& id, uint32_t sig);
  idm::v1::Response delete_container(const std::string& id);
  idm::v1::Response list_containers();
  idm::v1::Response exec_start(const idm::v1::ExecStart& r);
  idm::v1::Response signal_exec(const std::string& exec_id, uint32_t sig);
  idm::v1::Response stats();
  idm::v1::Response shutdown();
  idm::v1::Response port_forward_open(const idm::v1::PortForwardOpen& r);  // mu_ held
  void on_port_data(const idm::v1::StreamData& data);                      // mu_ held
  void queue_port_eof(uint32_t stream_id, bool closed_event);              // mu_ held
  void on_stdin(const idm::v1::StreamData& data);                        // mu_ held
  void run_program(uint32_t stream_id, const FakeProgram& program);      // mu_ held: queues its output
  void finish_container(Container& c, int32_t exit_code, uint32_t sig);  // mu_ held
  void finish_exec(Exec& e, int32_t exit_code, uint32_t sig);            // mu_ held
  void queue_output(uint32_t stream_id, int fd, std::string data);       // mu_ held
  void queue_event(idm::v1::Event event, uint32_t stream_id);            // mu_ held
  void wake();

  FakeZoneHost& host_;
  const uint32_t domid_;
  UniqueFd wake_fd_;  // eventfd: outbox grew, or stop

  std::mutex serve_mu_;  // listen / stop
  std::thread thread_;

  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  bool stop_ = false;
  uint64_t connection_ = 0;
  bool connected_ = false;
  bool hung_ = false;
  int connections_ = 0;
  std::unique_ptr<idm::ByteChannel> pending_channel_;
  std::deque<Outgoing> outbox_;  // stream data kept across connections; events only while connected
  std::vector<std::string> requests_;
  std::map<std::string, Container> containers_;
  std::map<std::string, Exec> execs_;
  struct FakePort {
    uint32_t port = 0;
    size_t credit = 0;    // bytes the daemon lets us send
    std::string pending;  // echo output waiting for credit
    bool eof = false;     // the daemon half-closed: end after pending
  };
  std::map<uint32_t, FakePort> ports_;  // by port-forward stream id
  void flush_port(uint32_t stream_id);  // mu_ held: sends what the credit allows
  uint32_t next_pid_ = 100;
};

class FakeZoneHost final : public zone_runtime::Hypervisor {
 public:
  FakeZoneHost();
  ~FakeZoneHost() override;

  // --- knobs
  void set_program(const std::string& argv0, FakeProgramFn program);
  FakeProgram program_for(const std::vector<std::string>& argv) const;
  void fail_next_create(Error error);
  // false: agents ignore idm-request (a zone that never boots, an agent that went away);
  // true again: agents answer the requests still pending, like an agent that comes up late.
  void set_agents_answer(bool answer);

  // --- what happened
  std::vector<zone_runtime::DomainSpec> created_specs() const;
  std::vector<std::pair<uint32_t, zone_runtime::DiskAttachment>> added_disks() const;
  std::vector<uint32_t> destroyed() const;
  bool has_domain(uint32_t domid) const;
  size_t domain_count() const;
  std::optional<zone_runtime::DomainInfo> domain(uint32_t domid) const;
  std::shared_ptr<FakeAgent> agent(uint32_t domid) const;
  std::optional<std::string> xenstore(const std::string& path) const;
  bool has_domain_change_callback() const;

  // --- events; each calls the domain-change callback
  // The domain crashes / powers off: its agent dies with it, the domain stays until destroyed.
  void set_domain_state(uint32_t domid, zone_runtime::DomainRunState state);
  // The domain disappears without destroy_domain (someone ran `xl destroy`).
  void vanish(uint32_t domid);
  // A domain the test builds itself (e.g. left over from an interrupted create).
  uint32_t add_domain(const zone_runtime::DomainSpec& spec);
  // Bytes "the guest kernel printed": written to the console pty's master.
  Status write_console(uint32_t domid, std::string_view text);

  FakeDevices devices;

  // --- Hypervisor
  zone_runtime::HypervisorStatus probe() override;
  Result<uint32_t> create_domain(const zone_runtime::DomainSpec& spec) override;
  Status destroy_domain(uint32_t domid) override;
  Result<std::vector<zone_runtime::DomainInfo>> list_domains() override;
  Status add_disk(uint32_t domid, const zone_runtime::DiskAttachment& disk) override;
  Status remove_disk(uint32_t domid, const std::string& vdev) override;
  Result<std::string> console_path(uint32_t domid) override;
  Status xenstore_write(const std::string& path, const std::string& value) override;
  Result<std::optional<std::string>> xenstore_read(const std::string& path) override;
  void set_domain_change_callback(std::function<void()> callback) override;
  Result<std::unique_ptr<idm::ByteChannel>> connect_channel(uint32_t domid, const std::string& xs_path) override;

  // Used by FakeAgent (without the host's lock held by the caller).
  void agent_ready(uint32_t domid, const std::string& generation);
  void agent_powered_off(uint32_t domid);

 private:
  struct Domain {
    zone_runtime::DomainSpec spec;
    zone_runtime::DomainRunState state = zone_runtime::DomainRunState::kRunning;
    UniqueFd console_master, console_slave;
    std::string console_path;
    std::shared_ptr<FakeAgent> agent;
  };

  uint32_t add_domain_locked(const zone_runtime::DomainSpec& spec);
  // Takes the domain out of the map (its agent is stopped by the caller, unlocked).
  std::unique_ptr<Domain> take_domain_locked(uint32_t domid);
  void release_domain(std::unique_ptr<Domain> domain);
  void notify();

  mutable std::mutex mu_;
  std::map<uint32_t, std::unique_ptr<Domain>> domains_;
  uint32_t next_domid_ = 1;
  std::map<std::string, std::string> xenstore_;
  std::vector<zone_runtime::DomainSpec> created_;
  std::vector<std::pair<uint32_t, zone_runtime::DiskAttachment>> added_disks_;
  std::vector<uint32_t> destroyed_;
  std::optional<Error> fail_next_create_;
  bool agents_answer_ = true;
  std::map<std::string, FakeProgramFn> programs_;

  mutable std::mutex callback_mu_;  // held while the callback runs: after set(), no old callback runs
  std::function<void()> callback_;
};

}  // namespace zoned::testing
