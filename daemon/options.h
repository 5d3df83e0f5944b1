// Command-line options of the daemon.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "zoned/common/result.h"

namespace zoned::daemon {

struct Options {
  std::string config_path;               // --config; empty: the default path, if it exists
  bool show_help = false;                // --help
  bool show_version = false;             // --version
  bool check_config = false;             // --check-config: validate and exit
  std::optional<std::string> log_level;  // --log-level overrides the file
};

Result<Options> parse_options(const std::vector<std::string>& args);
std::string usage_text();

}  // namespace zoned::daemon
