// What every zonectl command shares: its spec (options, help), the context it runs in, and the
// exit codes. One file per group of commands registers them (commands.cc lists them all).
#pragma once

#include <string>
#include <vector>

#include "args.h"
#include "client.h"
#include "output.h"

namespace zoned::zonectl {

inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;
inline constexpr int kExitUsage = 2;

struct Context {
  Client& client;
  bool json = false;

  // Prints "zonectl: <message>" on stderr and returns kExitError.
  int fail(const std::string& message) const;
  int fail(const grpc::Status& status) const { return fail(client.describe(status)); }
  // Prints "zonectl <command>: <message>" and a pointer to --help; returns kExitUsage.
  int usage(const std::string& command, const std::string& message) const;
  // Writes to stdout (the JSON form when --json).
  void print(const std::string& text) const;
  void print_json(const nlohmann::json& value) const { print(json_text(value)); }
};

struct Command {
  CommandSpec spec;
  int (*run)(Context& ctx, const ParsedArgs& args);
};

// All commands, in the order `zonectl help` lists them.
const std::vector<Command>& all_commands();

// The commands, by group (cmd_*.cc).
std::vector<Command> zone_commands();       // list, show, console, stats
std::vector<Command> lifecycle_commands();  // stop, rm, destroy
std::vector<Command> container_commands();  // ps, logs, wait
Command run_command();
Command exec_command();

// An exit status as a process exit code (0..255).
int exit_status(int32_t code);

}  // namespace zoned::zonectl
