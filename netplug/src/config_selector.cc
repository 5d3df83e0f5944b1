#include "zoned/netplug/config_selector.h"

#include <sys/stat.h>

#include <algorithm>

#include "zoned/common/log.h"
#include "zoned/netplug/cni_result.h"

namespace zoned::netplug {
namespace {

int64_t mtime_ns(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

}  // namespace

ConfigSelector::ConfigSelector(std::string conf_dir, const PluginExec& exec)
    : conf_dir_(std::move(conf_dir)), exec_(exec) {}

Result<std::vector<std::string>> ConfigSelector::versions_of(const std::string& plugin_path) {
  struct stat st {};
  if (::stat(plugin_path.c_str(), &st) != 0) return sys_error("stat " + plugin_path);
  {
    std::lock_guard lock(mutex_);
    auto it = versions_.find(plugin_path);
    if (it != versions_.end() && it->second.mtime_ns == mtime_ns(st)) return it->second.supported;
  }
  auto supported = exec_.supported_versions(plugin_path);
  if (!supported.ok()) return std::move(supported).take_error();
  std::lock_guard lock(mutex_);
  versions_[plugin_path] = Version{mtime_ns(st), *supported};
  return supported;
}

Result<ResolvedNetwork> ConfigSelector::resolve(const NetworkConfigList& list) {
  if (!is_supported_cni_version(list.cni_version)) {
    return Error(ErrorCode::kFailedPrecondition,
                 list.source + ": cniVersion \"" + list.cni_version + "\" is not one this runtime reads");
  }
  ResolvedNetwork resolved{list, {}};
  for (const PluginConfig& plugin : list.plugins) {
    auto path = exec_.find(plugin.type);
    if (!path.ok()) return std::move(path).take_error().wrap(list.source);
    auto supported = versions_of(*path);
    if (!supported.ok()) return std::move(supported).take_error().wrap(list.source + ": VERSION");
    if (std::find(supported->begin(), supported->end(), list.cni_version) == supported->end()) {
      return Error(ErrorCode::kFailedPrecondition,
                   list.source + ": plugin " + plugin.type + " does not support cniVersion " + list.cni_version);
    }
    resolved.plugin_paths.push_back(std::move(*path));
  }
  return resolved;
}

std::string ConfigSelector::fingerprint(const std::vector<std::string>& files) const {
  std::string out;
  for (const std::string& file : files) {
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) continue;
    out += file + ":" + std::to_string(mtime_ns(st)) + ":" + std::to_string(st.st_size) + ";";
  }
  return out;
}

ConfigChoice ConfigSelector::scan(const std::vector<std::string>& files) {
  ConfigChoice choice;
  choice.reason = "NoCNIConfig";
  if (files.empty()) {
    choice.message = "no network config found in " + conf_dir_;
    return choice;
  }
  std::string refusals;
  for (const std::string& file : files) {
    auto list = load_config_file(file);
    auto resolved = list.ok() ? resolve(*list) : Result<ResolvedNetwork>(std::move(list).take_error());
    if (resolved.ok()) {
      choice.ready = true;
      choice.reason.clear();
      choice.network = std::move(*resolved);
      return choice;
    }
    log::warn("CNI config refused", {{"file", file}, {"error", resolved.error().describe()}});
    refusals += (refusals.empty() ? "" : "; ") + resolved.error().describe();
  }
  choice.message = "no valid network config in " + conf_dir_ + ": " + refusals;
  return choice;
}

ConfigChoice ConfigSelector::current() {
  auto files = list_config_files(conf_dir_);
  if (!files.ok()) return ConfigChoice{false, "NoCNIConfig", files.error().describe(), {}};
  std::string print = fingerprint(*files);
  {
    std::lock_guard lock(mutex_);
    if (last_.ready && print == last_fingerprint_) return last_;
  }
  ConfigChoice choice = scan(*files);
  std::lock_guard lock(mutex_);
  last_fingerprint_ = std::move(print);
  last_ = choice;
  return choice;
}

}  // namespace zoned::netplug
