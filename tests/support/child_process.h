// Runs a program as a child with stdout and stderr captured in a file; kills it if the test
// ends first. Used to test the real daemon binary.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace zoned::testing {

class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const std::string& output_file);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Waits for exit; returns the exit code (128+signal when killed), or nothing on timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  bool running();
  void send_signal(int sig);
  std::string output() const;

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::string output_file_;
};

// Runs to completion (up to `timeout`) and returns {exit code, output}.
struct RunResult {
  int exit_code;
  std::string output;
};
RunResult run_to_exit(const std::vector<std::string>& argv, const std::string& output_file,
                      std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace zoned::testing
