#include "zoned/netplug/plugin_exec.h"

#include <sys/stat.h>
#include <unistd.h>

#include "zoned/common/log.h"
#include "zoned/common/process.h"
#include "zoned/netplug/cni_result.h"

extern char** environ;

namespace zoned::netplug {

const char* cni_command_name(CniCommand command) {
  switch (command) {
    case CniCommand::kAdd: return "ADD";
    case CniCommand::kDel: return "DEL";
    case CniCommand::kCheck: return "CHECK";
    case CniCommand::kVersion: return "VERSION";
  }
  return "VERSION";
}

PluginExec::PluginExec(PluginExecOptions options) : options_(std::move(options)) {}

Result<std::string> PluginExec::find(const std::string& type) const {
  if (type.empty() || type.find('/') != std::string::npos || type[0] == '.') {
    return Error(ErrorCode::kInvalidArgument, "CNI plugin type \"" + type + "\" is not a plain binary name");
  }
  for (const std::string& dir : options_.plugin_dirs) {
    std::string path = dir + "/" + type;
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0) return path;
  }
  std::string dirs;
  for (const std::string& dir : options_.plugin_dirs) dirs += (dirs.empty() ? "" : ":") + dir;
  return Error(ErrorCode::kNotFound, "CNI plugin \"" + type + "\" not found in " + dirs);
}

std::vector<std::string> PluginExec::environment(const PluginRequest& request) const {
  std::vector<std::string> env;
  // The daemon's environment (PATH: plugins run iptables, ip...), without any CNI_ variable.
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string_view var(*entry);
    if (var.substr(0, 4) != "CNI_") env.emplace_back(var);
  }
  std::string path;
  for (const std::string& dir : options_.plugin_dirs) path += (path.empty() ? "" : ":") + dir;
  env.push_back(std::string("CNI_COMMAND=") + cni_command_name(request.command));
  env.push_back("CNI_PATH=" + path);
  if (request.command != CniCommand::kVersion) {
    env.push_back("CNI_CONTAINERID=" + request.container_id);
    env.push_back("CNI_NETNS=" + request.netns);
    env.push_back("CNI_IFNAME=" + request.ifname);
    env.push_back("CNI_ARGS=" + request.cni_args);
  }
  return env;
}

Result<std::string> PluginExec::run(const std::string& plugin_path, const PluginRequest& request) const {
  process::Options options;
  options.argv = options_.exec_prefix;
  options.argv.push_back(plugin_path);
  options.timeout = options_.timeout;
  options.max_output_bytes = kMaxPluginOutputBytes + 1;  // one more: overflow is detected, not cut
  options.env = environment(request);
  options.stdin_data = request.config;
  options.separate_stderr = true;
  const char* command = cni_command_name(request.command);
  auto outcome = process::run(options);
  if (!outcome.ok()) {
    return std::move(outcome).take_error().wrap(std::string("CNI ") + command + " " + plugin_path);
  }
  if (!outcome->error_output.empty()) {
    log::debug("CNI plugin stderr", {{"plugin", plugin_path}, {"command", command}, {"stderr", outcome->error_output}});
  }
  if (!outcome->success()) {
    return parse_cni_error(plugin_path, outcome->output, outcome->error_output,
                           std::string(command) + " " + outcome->describe());
  }
  if (outcome->output_truncated) {
    return Error(ErrorCode::kInvalidArgument, std::string("CNI ") + command + " " + plugin_path +
                                                  ": output larger than " + std::to_string(kMaxPluginOutputBytes) +
                                                  " bytes");
  }
  return std::move(outcome->output);
}

Result<std::vector<std::string>> PluginExec::supported_versions(const std::string& plugin_path) const {
  PluginRequest request;
  request.command = CniCommand::kVersion;
  request.config = R"({"cniVersion":"1.0.0"})";
  auto out = run(plugin_path, request);
  if (!out.ok()) return std::move(out).take_error();
  auto versions = parse_version_answer(*out);
  if (!versions.ok()) return std::move(versions).take_error().wrap(plugin_path);
  return versions;
}

}  // namespace zoned::netplug
