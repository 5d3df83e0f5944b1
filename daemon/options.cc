#include "options.h"

namespace zoned::daemon {

std::string usage_text() {
  return R"(Usage: zoned [OPTIONS]

A Kubernetes CRI runtime that runs every pod in its own Xen virtual machine (a zone).

Options:
  -c, --config PATH     configuration file (TOML; default /etc/zoned/config.toml if it exists,
                        built-in defaults otherwise; keys are documented in config.example.toml)
      --log-level LVL   override log_level from the config: debug, info, warn, error
      --check-config    validate the configuration and its directories, then exit
  -h, --help            show this help and exit
  -V, --version         show the version and exit

Signals: SIGTERM and SIGINT shut the daemon down cleanly.
)";
}

Result<Options> parse_options(const std::vector<std::string>& args) {
  Options options;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    auto value = [&](const std::string& name) -> Result<std::string> {
      std::string prefix = name + "=";
      if (arg.rfind(prefix, 0) == 0) return arg.substr(prefix.size());
      if (i + 1 >= args.size()) return Error(ErrorCode::kInvalidArgument, "option " + name + " needs a value");
      return args[++i];
    };
    if (arg == "-h" || arg == "--help") {
      options.show_help = true;
    } else if (arg == "-V" || arg == "--version") {
      options.show_version = true;
    } else if (arg == "--check-config") {
      options.check_config = true;
    } else if (arg == "-c" || arg == "--config" || arg.rfind("--config=", 0) == 0) {
      auto v = value(arg == "-c" ? std::string("-c") : std::string("--config"));
      if (!v.ok()) return std::move(v).take_error();
      if (v->empty()) return Error(ErrorCode::kInvalidArgument, "--config needs a non-empty path");
      options.config_path = *v;
    } else if (arg == "--log-level" || arg.rfind("--log-level=", 0) == 0) {
      auto v = value("--log-level");
      if (!v.ok()) return std::move(v).take_error();
      options.log_level = *v;
    } else {
      return Error(ErrorCode::kInvalidArgument, "unknown argument '" + arg + "' (see --help)");
    }
  }
  return options;
}

}  // namespace zoned::daemon
