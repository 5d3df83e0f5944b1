// An exclusive lock on the state directory, so that two daemons never share one.
#pragma once

#include <string>

#include "zoned/common/result.h"
#include "zoned/common/unique_fd.h"

namespace zoned::daemon {

class StateLock {
 public:
  // Locks <state_dir>/zoned.lock (flock) and writes our pid into it.
  static Result<StateLock> acquire(const std::string& state_dir);

 private:
  explicit StateLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;  // the lock lives as long as the descriptor
};

}  // namespace zoned::daemon
