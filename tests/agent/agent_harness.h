// AgentHarness: the real agent loop, in this process, with a socket pair as its IDM channel,
// fake mounts and tests/agent/fake-crun as crun; the test plays the daemon on the other end.
// The process becomes a child subreaper so container processes left by fake-crun are
// reparented to it, as they are to the agent (PID 1) in a zone.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "fake_mount_ops.h"
#include "idm.pb.h"
#include "support/temp_dir.h"
#include "zoned/agent/agent.h"
#include "zoned/idm/endpoint.h"

namespace zoned::testing {

using idm::v1::Envelope;
using idm::v1::Request;
using idm::v1::Response;

class TestChannelSource;

class AgentHarness {
 public:
  // `tweak` may change the options before the agent is created.
  // `links`: the agent's LinkConfigurator (ConfigureNetwork); null: a real rtnetlink one.
  explicit AgentHarness(const std::function<void(agent::AgentOptions&)>& tweak = {},
                        std::shared_ptr<agent::LinkConfigurator> links = nullptr);
  ~AgentHarness();

  // Hands the agent a new channel and waits for its Hello (answered). False on timeout.
  bool connect();
  // Closes the daemon's end (the agent sees the peer go).
  void disconnect();

  // One round of the agent, then the daemon side: pumps and sorts what arrived.
  void step(std::chrono::milliseconds agent_wait = std::chrono::milliseconds(5));
  // Steps until `done` or the timeout; returns done().
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = std::chrono::seconds(15));
  // Steps without reading the channel on the daemon side (a stalled daemon).
  void run_without_reading(std::chrono::milliseconds duration);

  std::uint64_t send(const Request& request);
  // Sends and waits for the Response; fails the test (returns an empty one) on timeout.
  Response call(const Request& request, std::chrono::milliseconds timeout = std::chrono::seconds(15));
  std::optional<Response> take_response(std::uint64_t id);

  // What arrived, in order: "out:<stream>:<fd>" for each eof, events as "started:<id>",
  // "exited:<id>", "exec-exited:<id>".
  const std::vector<std::string>& trace() const { return trace_; }
  std::string output(std::uint32_t stream, idm::v1::StreamFd fd) const;
  bool eof(std::uint32_t stream, idm::v1::StreamFd fd) const;
  std::vector<idm::v1::Event> events() const { return events_; }
  std::optional<idm::v1::ContainerExited> container_exit(const std::string& id) const;
  std::optional<idm::v1::ExecExited> exec_exit(const std::string& id) const;
  void send_stdin(std::uint32_t stream, const std::string& data, bool eof);

  const TempDir& dir() const { return dir_; }
  const agent::AgentOptions& options() const { return options_; }
  const FakeMountOps& mounts() const { return *mounts_; }
  agent::Agent& agent() { return *agent_; }
  bool powered_off() const { return powered_off_; }
  bool connected() const { return daemon_ != nullptr; }
  int hellos() const { return hellos_; }

  // A device directory (an "image") with an /etc/passwd and /etc/group.
  void make_device(const std::string& name);

 private:
  void sort(Envelope envelope);

  TempDir dir_;
  agent::AgentOptions options_;
  FakeMountOps* mounts_ = nullptr;
  TestChannelSource* source_ = nullptr;
  std::unique_ptr<agent::Agent> agent_;
  std::unique_ptr<idm::Endpoint> daemon_;
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, Response> responses_;
  std::map<std::pair<std::uint32_t, int>, std::string> output_;
  std::map<std::pair<std::uint32_t, int>, bool> eof_;
  std::vector<idm::v1::Event> events_;
  std::vector<std::string> trace_;
  bool powered_off_ = false;
  int hellos_ = 0;
};

// Requests.
Request create_request(const std::string& id, std::uint32_t stream, const std::vector<std::string>& args,
                       const std::string& device = "xvdb", bool terminal = false,
                       const std::string& annotations_json = "{}");
Request start_request(const std::string& id);
Request signal_request(const std::string& id, std::uint32_t sig);
Request wait_request(const std::string& id);
Request delete_request(const std::string& id);
Request update_request(const std::string& id, const std::string& resources_json);
Request list_request();
Request exec_request(const std::string& container, const std::string& exec, std::uint32_t stream,
                     const std::vector<std::string>& args, bool stdin = false, bool tty = false);

}  // namespace zoned::testing
