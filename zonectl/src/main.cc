// zonectl: the command-line client of zoned's admin API (zoned.admin.v1 on the admin socket).
//   zonectl [--socket PATH] [--json] COMMAND [OPTIONS] [ARGS]
// Exit codes: 0 ok, 1 error, 2 bad usage; run, exec and wait exit with the process's code.
#include <cstdio>
#include <string>
#include <vector>

#include "command.h"
#include "terminal.h"

namespace {

using namespace zoned::zonectl;

std::string main_help() {
  std::string out =
      "Usage: zonectl [--socket PATH] [--json] COMMAND [OPTIONS] [ARGS]\n\n"
      "Manage zoned's zones (Xen VMs that run containers) and their containers.\n\n"
      "Commands:\n";
  size_t width = 0;
  for (const auto& c : all_commands()) width = std::max(width, c.spec.name.size());
  for (const auto& c : all_commands()) {
    out += "  " + c.spec.name + std::string(width - c.spec.name.size() + 2, ' ') + c.spec.summary + "\n";
  }
  out += "  help" + std::string(width > 4 ? width - 4 + 2 : 2, ' ') +
         "Show this help, or a command's: zonectl help COMMAND\n\n"
         "Global options:\n"
         "  --socket PATH  The admin socket (default " +
         std::string(kDefaultSocket) +
         ")\n"
         "  --json         Print machine-readable JSON\n"
         "  -h, --help     Show this help\n\n"
         "Exit codes: 0 success, 1 error, 2 bad usage; run, exec and wait exit with the process's exit code.\n";
  return out;
}

const Command* find_command(const std::string& name) {
  for (const auto& c : all_commands()) {
    if (c.spec.name == name) return &c;
  }
  return nullptr;
}

int usage_error(const std::string& message) {
  std::fprintf(stderr, "zonectl: %s\nRun 'zonectl --help' for usage.\n", message.c_str());
  return kExitUsage;
}

int help_command(const std::vector<std::string>& rest) {
  if (rest.empty()) {
    std::fputs(main_help().c_str(), stdout);
    return kExitOk;
  }
  const Command* command = find_command(rest[0]);
  if (command == nullptr) return usage_error("unknown command '" + rest[0] + "'");
  std::fputs(command_help(command->spec).c_str(), stdout);
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  install_signal_thread();
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string socket = kDefaultSocket;
  bool json = false;

  // Global options, before the command.
  size_t i = 0;
  for (; i < args.size() && args[i].size() > 1 && args[i][0] == '-'; ++i) {
    const std::string& arg = args[i];
    if (arg == "--json") {
      json = true;
    } else if (arg == "--socket" && i + 1 < args.size()) {
      socket = args[++i];
    } else if (arg.rfind("--socket=", 0) == 0) {
      socket = arg.substr(9);
    } else if (arg == "-h" || arg == "--help") {
      return help_command({});
    } else if (arg == "--socket") {
      return usage_error("option --socket needs a value (PATH)");
    } else {
      return usage_error("unknown option " + arg);
    }
  }
  if (i == args.size()) return usage_error("no command given");
  std::string name = args[i];
  std::vector<std::string> rest(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
  if (name == "help") return help_command(rest);
  const Command* command = find_command(name);
  if (command == nullptr) return usage_error("unknown command '" + name + "'");

  auto parsed = parse_args(command->spec, rest);
  if (auto* error = std::get_if<UsageError>(&parsed)) {
    std::fprintf(stderr, "zonectl %s: %s\nRun 'zonectl %s --help' for usage.\n", name.c_str(), error->message.c_str(),
                 name.c_str());
    return kExitUsage;
  }
  const ParsedArgs& parsed_args = std::get<ParsedArgs>(parsed);
  if (parsed_args.help) {
    std::fputs(command_help(command->spec).c_str(), stdout);
    return kExitOk;
  }
  if (parsed_args.flag("json")) json = true;
  if (auto path = parsed_args.value("socket")) socket = *path;

  // Usage is checked by the command before its first call; a daemon that is not there shows
  // up as that call failing (Client::describe says so).
  Client client(socket);
  Context ctx{client, json};
  return command->run(ctx, parsed_args);
}
