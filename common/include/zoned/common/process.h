// Running a helper program (mkfs.erofs, CNI plugins) as a child process: argv only (no shell),
// stdin from /dev/null, stdout and stderr captured together with a bound, and a timeout after
// which the child is killed.
//
// Signals: no SIGCHLD handler is installed. The child is reaped with waitpid on its exact pid,
// so this coexists with code that owns SIGCHLD selectively (libxl) as long as nothing in the
// process reaps with waitpid(-1). The child starts with an empty signal mask and default
// dispositions, whatever the calling thread has blocked.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "zoned/common/result.h"

namespace zoned::process {

struct Options {
  // argv[0] is looked up in PATH unless it contains a '/'.
  std::vector<std::string> argv;
  std::chrono::milliseconds timeout{std::chrono::minutes(10)};
  // Output beyond this is dropped from the front: the tail, where errors are, is kept.
  size_t max_output_bytes = 64 * 1024;
  // When set, the child's whole environment ("NAME=value" entries); otherwise it inherits ours.
  std::optional<std::vector<std::string>> env{};
  // When set, the child reads these bytes on stdin (from a memfd); otherwise /dev/null.
  std::optional<std::string> stdin_data{};
  // When true, stderr is captured apart from stdout, into Outcome::error_output (same bound).
  // CNI plugins need this: their result is the JSON on stdout, their logs go to stderr.
  bool separate_stderr = false;
};

struct Outcome {
  int exit_code = -1;   // set when the child exited
  int term_signal = 0;  // set when a signal ended it
  std::string output;   // stdout and stderr (unless separated), interleaved as written, possibly truncated
  bool output_truncated = false;
  std::string error_output{};  // stderr, only with Options::separate_stderr
  bool error_output_truncated = false;

  bool success() const { return term_signal == 0 && exit_code == 0; }
  std::string describe() const;  // "exited with status 1", "killed by signal 9"
};

// Runs the program to completion. Errors: the program could not be started (NotFound,
// PermissionDenied...), or it ran out of time (DeadlineExceeded; it was killed and reaped).
// A non-zero exit is not an error here: see Outcome.
Result<Outcome> run(const Options& options);

// Like run(), but a non-zero exit or a signal is an error whose message names the program,
// the status and the tail of its output.
Result<Outcome> run_checked(const Options& options);

}  // namespace zoned::process
