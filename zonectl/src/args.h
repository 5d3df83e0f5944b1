// A small command-line parser for zonectl: each command declares its options; parsing gives the
// values, flags and positional arguments, or a usage error (exit code 2).
//
// Accepted forms: --name VALUE, --name=VALUE, -n VALUE, -nVALUE, grouped short flags (-ti),
// and "--" to end options. Commands that run a program (run, exec) stop reading options at the
// first positional argument, so `zonectl exec c ls -l` passes -l to ls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace zoned::zonectl {

struct OptionSpec {
  std::string name;        // long name without dashes: "memory"
  char short_name = 0;     // 'm', or 0
  std::string value_name;  // "MiB"; empty: a flag without a value
  std::string help;
  bool repeatable = false;  // --env K=V --env K2=V2
};

struct CommandSpec {
  std::string name;
  std::string usage;    // after "zonectl NAME ": "[OPTIONS] ZONE"
  std::string summary;  // one line for `zonectl help`
  std::string details;  // more text for `zonectl NAME --help` (may be empty)
  std::vector<OptionSpec> options;
  size_t min_positional = 0;
  size_t max_positional = std::numeric_limits<size_t>::max();
  bool options_anywhere = true;  // false: options end at the first positional argument
};

struct ParsedArgs {
  std::map<std::string, std::vector<std::string>> values;  // by long name; flags get "" entries
  std::vector<std::string> positional;
  bool help = false;

  bool flag(const std::string& name) const { return values.count(name) > 0; }
  std::optional<std::string> value(const std::string& name) const;  // the last one given
  const std::vector<std::string>& all(const std::string& name) const;
};

struct UsageError {
  std::string message;
};

// Parses `args` (the words after the command name). Every command also accepts -h/--help and
// the global options --json and --socket PATH.
std::variant<ParsedArgs, UsageError> parse_args(const CommandSpec& spec, const std::vector<std::string>& args);

// The text `zonectl NAME --help` prints.
std::string command_help(const CommandSpec& spec);

// Parses a non-negative integer option value within [min, max]; error text names the option.
std::variant<uint64_t, UsageError> parse_number(const std::string& option, const std::string& text, uint64_t min,
                                                uint64_t max);

}  // namespace zoned::zonectl
