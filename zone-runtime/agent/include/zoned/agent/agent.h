// The zone agent's core: one single-threaded poll loop that serves the daemon's IDM requests
// (containers through crun, exec, stats, shutdown), streams container stdio with
// back-pressure, and reaps every child. PID-1 duties (mounts, modules, switch_root) live in
// init.h; main.cc wires the real xenstore/vchan channel source and mounts. Tests drive the
// same loop in-process with a socket channel, fake mounts and a fake crun.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "zoned/agent/channel_source.h"
#include "zoned/agent/mount_ops.h"
#include "zoned/common/result.h"

namespace zoned::agent {

struct AgentOptions {
  std::string crun_binary = "/usr/bin/crun";
  std::string crun_root = "/run/crun";
  std::string state_dir = "/run/zoned";  // images/<device>, containers/<id>, execs/<id>
  std::string dev_dir = "/dev";          // where rootfs devices appear
  std::string cgroup_root = "/sys/fs/cgroup";
  std::string proc_dir = "/proc";
  std::string agent_version = "0";
  std::chrono::milliseconds crun_timeout{30000};
  // For a container's disk to appear with media after hot-plug: 10 s was too short for a zone
  // on a loaded host under emulation. The daemon's CreateContainer deadline covers this + crun.
  std::chrono::milliseconds device_wait{20000};
  std::chrono::milliseconds stop_grace{10000};   // Shutdown: SIGTERM to SIGKILL
  std::chrono::milliseconds drain_idle{2000};    // after an exit, output idle this long is closed
  std::size_t outbound_high_water = 256 * 1024;  // read stdio only while the IDM queue is below
  std::size_t stdin_buffer_limit = 1024 * 1024;  // per stream
};

class LinkConfigurator;  // pod_network.h

struct AgentHooks {
  std::function<void()> on_listening;  // the first channel exists (main prints "ready")
  std::function<void()> power_off;     // Shutdown finished: containers stopped, Ack flushed
  // ConfigureNetwork applies the pod network through this; null: rtnetlink in this namespace.
  std::shared_ptr<LinkConfigurator> links;
};

class AgentImpl;

class Agent {
 public:
  // Blocks SIGCHLD (read from a signalfd), ignores SIGPIPE, creates the state directories.
  static Result<std::unique_ptr<Agent>> create(AgentOptions options, std::unique_ptr<ChannelSource> source,
                                               std::unique_ptr<MountOps> mounts, AgentHooks hooks);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Waits up to `max_wait` for something to do, then does it. An error is fatal (PID 1 powers
  // off); requests that fail are answered with an IDM Error instead.
  Status run_once(std::chrono::milliseconds max_wait);
  // True after a Shutdown completed (power_off was called).
  bool stopped() const;

 private:
  explicit Agent(std::unique_ptr<AgentImpl> impl);
  std::unique_ptr<AgentImpl> impl_;
};

}  // namespace zoned::agent
