// Runs a program (zonectl) to completion with the given stdin, capturing stdout and stderr
// apart; kills it after a timeout.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace zoned::testing {

struct ProgramResult {
  int exit_code = -1;  // 128 + signal when killed; -1 when it timed out (it was killed)
  std::string out, err;
};

ProgramResult run_program(const std::vector<std::string>& argv, const std::string& stdin_data = "",
                          std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace zoned::testing
