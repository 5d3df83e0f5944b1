// Mounts, masked paths and read-only paths of config.json.
#include <algorithm>
#include <set>

#include "runtime_spec_internal.h"

namespace zoned::oci::spec_internal {
namespace {

// containerd's default Unix mounts without /run (the CRI plugin removes it), plus the
// read-only cgroup mount its CRI plugin adds. crun mounts cgroup2 there on a unified host.
std::vector<Mount> default_mounts() {
  return {
      {"/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}},
      {"/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}},
      {"/dev/pts", "devpts", "devpts", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
      {"/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
      {"/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}},
      {"/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}},
      {"/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}},
  };
}

// containerd's oci.populateDefaultUnixSpec lists (also crun's `crun spec`).
const std::vector<std::string>& default_masked_paths() {
  static const std::vector<std::string> kPaths = {
      "/proc/acpi",       "/proc/asound",      "/proc/kcore",       "/proc/keys",    "/proc/latency_stats",
      "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"};
  return kPaths;
}

const std::vector<std::string>& default_readonly_paths() {
  static const std::vector<std::string> kPaths = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                                  "/proc/sysrq-trigger"};
  return kPaths;
}

bool valid_fs_type(std::string_view type) {
  return !type.empty() && type.size() <= 64 && std::all_of(type.begin(), type.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
}

Result<Mount> checked_mount(const Mount& m, size_t index) {
  std::string field = "extra_mounts[" + std::to_string(index) + "]";
  ZONED_TRY(check_absolute_path(m.destination, field + ".destination"));
  Mount out{clean_path(m.destination), m.type.empty() ? "bind" : m.type, m.source, m.options};
  if (!valid_fs_type(out.type)) return invalid(field + ".type", "invalid filesystem type " + quote_value(out.type));
  if (out.source.empty()) return invalid(field + ".source", "empty");
  if (has_nul(out.source)) return invalid(field + ".source", "contains a NUL byte");
  for (const auto& o : out.options) {
    if (o.empty() || has_nul(o) || o.find(',') != std::string::npos) {
      return invalid(field + ".options", "invalid option " + quote_value(o) + " (one option per entry)");
    }
  }
  if (out.type == "bind") {
    ZONED_TRY(check_absolute_path(out.source, field + ".source"));
    bool has_bind = std::any_of(out.options.begin(), out.options.end(),
                                [](const std::string& o) { return o == "bind" || o == "rbind"; });
    if (!has_bind) out.options.insert(out.options.begin(), "rbind");
  }
  return out;
}

size_t depth(const std::string& clean) {
  return static_cast<size_t>(std::count(clean.begin(), clean.end(), '/'));
}

Json to_json(const Mount& m) {
  return Json{{"destination", m.destination}, {"type", m.type}, {"source", m.source}, {"options", m.options}};
}

Result<std::vector<std::string>> checked_paths(const std::vector<std::string>& paths, std::string_view field) {
  for (size_t i = 0; i < paths.size(); ++i) {
    ZONED_TRY(check_absolute_path(paths[i], std::string(field) + "[" + std::to_string(i) + "]"));
  }
  return paths;
}

}  // namespace

Result<Json> build_mounts(const ContainerSpecInput& input) {
  std::vector<Mount> extra;
  std::set<std::string> destinations;
  for (size_t i = 0; i < input.extra_mounts.size(); ++i) {
    auto m = checked_mount(input.extra_mounts[i], i);
    if (!m.ok()) return std::move(m).take_error();
    if (!destinations.insert(m->destination).second) {
      return invalid("extra_mounts[" + std::to_string(i) + "].destination", m->destination + " is mounted twice");
    }
    extra.push_back(std::move(*m));
  }
  // Parents before children, so that a mount never hides a deeper one (containerd's order).
  std::stable_sort(extra.begin(), extra.end(),
                   [](const Mount& a, const Mount& b) { return depth(a.destination) < depth(b.destination); });

  Json out = Json::array();
  bool own_dev = destinations.count("/dev") > 0;
  for (Mount& m : default_mounts()) {
    if (destinations.count(m.destination) > 0) continue;
    if (own_dev && m.destination.rfind("/dev/", 0) == 0) continue;
    if (input.privileged && (m.type == "sysfs" || m.type == "cgroup")) {
      std::replace(m.options.begin(), m.options.end(), std::string("ro"), std::string("rw"));
    }
    out.push_back(to_json(m));
  }
  for (const Mount& m : extra) out.push_back(to_json(m));
  return out;
}

Result<std::vector<std::string>> resolve_masked_paths(const ContainerSpecInput& input) {
  if (input.privileged) return std::vector<std::string>();
  if (!input.masked_paths.has_value()) return default_masked_paths();
  return checked_paths(*input.masked_paths, "masked_paths");
}

Result<std::vector<std::string>> resolve_readonly_paths(const ContainerSpecInput& input) {
  if (input.privileged) return std::vector<std::string>();
  if (!input.readonly_paths.has_value()) return default_readonly_paths();
  return checked_paths(*input.readonly_paths, "readonly_paths");
}

}  // namespace zoned::oci::spec_internal
