#include <cstdio>

#include "command.h"
#include "terminal.h"

namespace zoned::zonectl {

int Context::fail(const std::string& message) const {
  std::fprintf(stderr, "zonectl: %s\n", message.c_str());
  return kExitError;
}

int Context::usage(const std::string& command, const std::string& message) const {
  std::fprintf(stderr, "zonectl %s: %s\nRun 'zonectl %s --help' for usage.\n", command.c_str(), message.c_str(),
               command.c_str());
  return kExitUsage;
}

void Context::print(const std::string& text) const {
  std::fflush(stdout);
  write_all(1, text);
}

const std::vector<Command>& all_commands() {
  static const std::vector<Command> commands = [] {
    std::vector<Command> out = zone_commands();
    out.push_back(run_command());
    auto containers = container_commands();
    out.insert(out.end(), containers.begin(), containers.end());
    out.push_back(exec_command());
    auto lifecycle = lifecycle_commands();
    out.insert(out.end(), lifecycle.begin(), lifecycle.end());
    return out;
  }();
  return commands;
}

int exit_status(int32_t code) {
  if (code < 0 || code > 255) return kExitError;
  return code;
}

}  // namespace zoned::zonectl
