// ChildReaper: the agent owns its whole process tree (it is PID 1 in a zone, or a child
// subreaper in tests), so it reaps with waitpid(-1) and hands each exit to whoever watches
// that pid. Exits of pids nobody watches yet are kept (bounded): `crun exec --detach` may
// leave a process that exits and is reaped before the agent has read its pid file.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "zoned/common/result.h"
#include "zoned/common/unique_fd.h"

namespace zoned::agent {

// How a process ended: exit_code (0..255) with signal 0, or the signal that killed it.
struct ExitStatus {
  int exit_code = 0;
  int signal = 0;

  static ExitStatus from_wait_status(int status);
  bool success() const { return signal == 0 && exit_code == 0; }
  std::string describe() const;
};

class ChildReaper {
 public:
  using Handler = std::function<void(ExitStatus)>;

  // Blocks SIGCHLD for the calling thread (the agent is single-threaded) and opens a signalfd.
  static Result<ChildReaper> create(std::size_t max_unclaimed = 256);

  int poll_fd() const { return signal_fd_.get(); }

  // Calls `handler` (from dispatch()) when `pid` exits, or at the next dispatch() if it
  // already exited unclaimed.
  void watch(pid_t pid, Handler handler);
  // Stops watching; the exit will be reaped and dropped.
  void forget(pid_t pid);
  bool watching(pid_t pid) const { return handlers_.count(pid) != 0; }

  // Drains the signalfd and reaps every exited child (WNOHANG). Call when poll_fd() is readable.
  void collect();
  // Runs the handlers of collected exits. Handlers may call watch()/forget().
  void dispatch();

 private:
  explicit ChildReaper(UniqueFd signal_fd, std::size_t max_unclaimed)
      : signal_fd_(std::move(signal_fd)), max_unclaimed_(max_unclaimed) {}

  UniqueFd signal_fd_;
  std::size_t max_unclaimed_;
  std::map<pid_t, Handler> handlers_;
  std::deque<std::pair<pid_t, ExitStatus>> unclaimed_;  // oldest first
  std::vector<std::pair<Handler, ExitStatus>> ready_;
};

}  // namespace zoned::agent
