// The linux section of config.json: namespaces, cgroup resources, and the checks on sysctls,
// the OOM score, the cgroup path and annotations.
#include <algorithm>

#include "runtime_spec_internal.h"

namespace zoned::oci {
namespace {

constexpr size_t kMaxSysctlName = 256;
constexpr size_t kMaxValue = 4096;

bool is_lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// Kubernetes' sysctl name syntax: components of [a-z0-9_-] that begin and end with [a-z0-9],
// separated by '.' or '/'.
bool valid_sysctl_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxSysctlName) return false;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find_first_of("./", start);
    if (end == std::string_view::npos) end = name.size();
    std::string_view part = name.substr(start, end - start);
    if (part.empty() || !is_lower_alnum(part.front()) || !is_lower_alnum(part.back())) return false;
    for (char c : part) {
      if (!is_lower_alnum(c) && c != '-' && c != '_') return false;
    }
    start = end + 1;
  }
  return true;
}

// Slash-separated names use '.' inside components (interface names): swap to the dotted form.
std::string dotted(std::string_view name) {
  std::string out(name);
  if (name.find('/') == std::string_view::npos) return out;
  for (char& c : out) {
    if (c == '/') {
      c = '.';
    } else if (c == '.') {
      c = '/';
    }
  }
  return out;
}

bool is_namespaced_sysctl(const std::string& name) {
  auto starts = [&](std::string_view p) { return name.rfind(p, 0) == 0; };
  return starts("net.") || starts("kernel.shm") || starts("kernel.msg") || name == "kernel.sem" || starts("fs.mqueue.");
}

}  // namespace

Status validate_pod_sysctl(std::string_view name, std::string_view value) {
  using spec_internal::invalid;
  using spec_internal::quote_value;
  if (!valid_sysctl_name(name)) return invalid("sysctls", "invalid sysctl name " + quote_value(name));
  if (!is_namespaced_sysctl(dotted(name))) {
    return invalid("sysctls", "sysctl " + quote_value(name) +
                                  " is not namespaced (allowed: net.*, kernel.shm*, kernel.msg*, kernel.sem, "
                                  "fs.mqueue.*)");
  }
  if (value.empty() || value.size() > kMaxValue ||
      value.find_first_of(std::string_view("\n\0", 2)) != std::string_view::npos) {
    return invalid("sysctls", "the value of " + quote_value(name) + " must be one line of 1..4096 bytes");
  }
  return ok_status();
}

std::string default_cgroups_path(std::string_view container_id) {
  return "/zoned/" + std::string(container_id);
}

namespace spec_internal {
namespace {

Status check_range(int64_t v, int64_t lo, int64_t hi, std::string_view field) {
  if (v < lo || v > hi) {
    return invalid(field,
                   std::to_string(v) + " is out of range (" + std::to_string(lo) + ".." + std::to_string(hi) + ")");
  }
  return ok_status();
}

Status check_cpuset(std::string_view set, std::string_view field) {
  bool ok = set.size() <= 1024 &&
            std::all_of(set.begin(), set.end(), [](char c) { return (c >= '0' && c <= '9') || c == ',' || c == '-'; });
  return ok ? ok_status() : invalid(field, "invalid cpuset " + quote_value(set));
}

Status check_unified(const std::map<std::string, std::string>& unified) {
  for (const auto& [key, value] : unified) {
    bool key_ok = !key.empty() && key.size() <= 64 && key.find('.') != std::string::npos &&
                  key.find("..") == std::string::npos && key.front() != '.' &&
                  std::all_of(key.begin(), key.end(), [](char c) { return is_lower_alnum(c) || c == '_' || c == '.'; });
    if (!key_ok) return invalid("resources.unified", "invalid cgroup file name " + quote_value(key));
    if (value.size() > kMaxValue || value.find_first_of(std::string_view("\n\0", 2)) != std::string::npos) {
      return invalid("resources.unified", "the value of " + key + " must be one line of at most 4096 bytes");
    }
  }
  return ok_status();
}

Result<Json> build_cpu(const ContainerSpecInput::Resources& r) {
  Json cpu = Json::object();
  if (r.cpu_period != 0) {
    ZONED_TRY(check_range(r.cpu_period, 1000, 1000000, "resources.cpu_period"));
    cpu["period"] = static_cast<uint64_t>(r.cpu_period);
  }
  if (r.cpu_quota != 0) {
    if (r.cpu_quota != -1) ZONED_TRY(check_range(r.cpu_quota, 1000, INT64_MAX, "resources.cpu_quota"));
    cpu["quota"] = r.cpu_quota;
  }
  if (r.cpu_shares != 0) {
    ZONED_TRY(check_range(r.cpu_shares, 2, 262144, "resources.cpu_shares"));
    cpu["shares"] = static_cast<uint64_t>(r.cpu_shares);
  }
  if (!r.cpuset_cpus.empty()) {
    ZONED_TRY(check_cpuset(r.cpuset_cpus, "resources.cpuset_cpus"));
    cpu["cpus"] = r.cpuset_cpus;
  }
  if (!r.cpuset_mems.empty()) {
    ZONED_TRY(check_cpuset(r.cpuset_mems, "resources.cpuset_mems"));
    cpu["mems"] = r.cpuset_mems;
  }
  return cpu;
}

}  // namespace

Json build_namespaces(const ContainerSpecInput& input) {
  // No network, ipc or uts: those are the zone's, shared by the pod's containers.
  Json ns = Json::array();
  if (!input.share_pid_namespace) ns.push_back({{"type", "pid"}});
  ns.push_back({{"type", "mount"}});
  // containerd leaves privileged containers in the parent cgroup namespace.
  if (!input.privileged) ns.push_back({{"type", "cgroup"}});
  return ns;
}

// The cgroup limits alone (cpu, memory, pids, unified): also what `crun update` takes.
Result<Json> build_limits(const ContainerSpecInput::Resources& r) {
  Json res = Json::object();
  auto cpu = build_cpu(r);
  if (!cpu.ok()) return std::move(cpu).take_error();
  if (!cpu->empty()) res["cpu"] = std::move(*cpu);
  if (r.memory_limit_bytes != 0) {
    ZONED_TRY(check_range(r.memory_limit_bytes, 1, INT64_MAX, "resources.memory_limit_bytes"));
    res["memory"] = {{"limit", r.memory_limit_bytes}};
  }
  if (r.pids_limit != 0) {
    if (r.pids_limit != -1) ZONED_TRY(check_range(r.pids_limit, 1, INT64_MAX, "resources.pids_limit"));
    res["pids"] = {{"limit", r.pids_limit}};
  }
  if (!r.unified.empty()) {
    ZONED_TRY(check_unified(r.unified));
    res["unified"] = r.unified;
  }
  return res;
}

Result<Json> build_resources(const ContainerSpecInput& input) {
  auto res = build_limits(input.resources);
  if (!res.ok()) return std::move(res).take_error();
  // Deny every device but those crun always creates (null, zero, full, tty, random, urandom...).
  (*res)["devices"] = Json::array({{{"allow", input.privileged}, {"access", "rwm"}}});
  return res;
}

Status check_oom_score_adj(int64_t adj) {
  return check_range(adj, -1000, 1000, "resources.oom_score_adj");
}

Status check_cgroups_path(std::string_view path) {
  if (path.empty()) return ok_status();
  ZONED_TRY(check_absolute_path(path, "cgroups_path"));
  if (path.size() > 1024) return invalid("cgroups_path", "longer than 1024 bytes");
  if (path.find(':') != std::string_view::npos)
    return invalid("cgroups_path", "systemd-style paths are not used in zones");
  return ok_status();
}

Status check_annotations(const std::map<std::string, std::string>& annotations) {
  for (const auto& [key, value] : annotations) {
    if (key.empty() || key.size() > 1024 || has_nul(key))
      return invalid("annotations", "invalid key " + quote_value(key));
    if (has_nul(value)) return invalid("annotations", "the value of " + quote_value(key) + " contains a NUL byte");
  }
  return ok_status();
}

}  // namespace spec_internal

Result<std::string> update_resources_json(const ContainerSpecInput::Resources& resources) {
  auto limits = spec_internal::build_limits(resources);
  if (!limits.ok()) return std::move(limits).take_error();
  return limits->dump();
}

}  // namespace zoned::oci
