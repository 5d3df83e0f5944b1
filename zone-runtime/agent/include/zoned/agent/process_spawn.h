// Starting helper programs (crun) with chosen stdio, from PID 1 or a test process.
//
// The agent blocks SIGCHLD (it reads it from a signalfd) and ignores SIGPIPE; children start
// with an empty signal mask and default dispositions. Nothing here waits: the ChildReaper
// collects every exit.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "zoned/common/result.h"

namespace zoned::agent {

struct SpawnRequest {
  std::vector<std::string> argv;  // argv[0] is an absolute path
  // Descriptors that become the child's 0, 1 and 2; -1 means /dev/null.
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
};

Result<pid_t> spawn_process(const SpawnRequest& request);

}  // namespace zoned::agent
