// CommandRunner: runs short helper commands (crun create/start/kill/delete/exec) as children
// without blocking the agent's loop. Each has a deadline; a command still running at its
// deadline is killed (SIGKILL) and reported as timed out. Completion is reported through the
// ChildReaper when the child has been reaped.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "zoned/agent/child_reaper.h"
#include "zoned/agent/process_spawn.h"
#include "zoned/common/result.h"
#include "zoned/common/unique_fd.h"

namespace zoned::agent {

struct CommandResult {
  ExitStatus status;
  bool timed_out = false;
  std::string output;  // captured stdout+stderr (when captured) and the log file's tail

  bool ok() const { return !timed_out && status.success(); }
  // "crun create: exited with status 1: <output>"
  std::string describe(const std::string& what) const;
};

class CommandRunner {
 public:
  using Clock = std::chrono::steady_clock;
  using Done = std::function<void(CommandResult)>;

  explicit CommandRunner(ChildReaper& reaper) : reaper_(reaper) {}
  CommandRunner(const CommandRunner&) = delete;
  CommandRunner& operator=(const CommandRunner&) = delete;

  // Starts the command. When request.stdout_fd and stderr_fd are both -1 they are captured
  // (bounded). `log_file`, if not empty, is a file the command writes its errors to (crun
  // --log); its tail is added to the output.
  Result<pid_t> start(SpawnRequest request, std::chrono::milliseconds timeout, std::string log_file, Done done);

  // Kills commands past their deadline.
  void check_deadlines(Clock::time_point now);
  std::optional<Clock::time_point> next_deadline() const;
  std::size_t running() const { return running_.size(); }

 private:
  struct Running {
    Clock::time_point deadline;
    UniqueFd capture;
    std::string log_file;
    bool timed_out = false;
    Done done;
  };
  void finish(pid_t pid, ExitStatus status);

  ChildReaper& reaper_;
  std::map<pid_t, Running> running_;
};

}  // namespace zoned::agent
