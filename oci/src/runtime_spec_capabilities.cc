// Capabilities: containerd's defaults, CRI add/drop (with "ALL"), and the privileged set.
#include <algorithm>
#include <cctype>

#include "runtime_spec_internal.h"

namespace zoned::oci {

const std::vector<std::string>& default_capabilities() {
  static const std::vector<std::string> kDefault = {
      "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
      "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
      "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
      "CAP_KILL",    "CAP_AUDIT_WRITE"};
  return kDefault;
}

const std::vector<std::string>& all_capabilities() {
  // Numbers 0..40: everything Linux 6.1 (the zones' kernel) and libcap 2.66 (crun's) know.
  static const std::vector<std::string> kAll = {"CAP_CHOWN",
                                                "CAP_DAC_OVERRIDE",
                                                "CAP_DAC_READ_SEARCH",
                                                "CAP_FOWNER",
                                                "CAP_FSETID",
                                                "CAP_KILL",
                                                "CAP_SETGID",
                                                "CAP_SETUID",
                                                "CAP_SETPCAP",
                                                "CAP_LINUX_IMMUTABLE",
                                                "CAP_NET_BIND_SERVICE",
                                                "CAP_NET_BROADCAST",
                                                "CAP_NET_ADMIN",
                                                "CAP_NET_RAW",
                                                "CAP_IPC_LOCK",
                                                "CAP_IPC_OWNER",
                                                "CAP_SYS_MODULE",
                                                "CAP_SYS_RAWIO",
                                                "CAP_SYS_CHROOT",
                                                "CAP_SYS_PTRACE",
                                                "CAP_SYS_PACCT",
                                                "CAP_SYS_ADMIN",
                                                "CAP_SYS_BOOT",
                                                "CAP_SYS_NICE",
                                                "CAP_SYS_RESOURCE",
                                                "CAP_SYS_TIME",
                                                "CAP_SYS_TTY_CONFIG",
                                                "CAP_MKNOD",
                                                "CAP_LEASE",
                                                "CAP_AUDIT_WRITE",
                                                "CAP_AUDIT_CONTROL",
                                                "CAP_SETFCAP",
                                                "CAP_MAC_OVERRIDE",
                                                "CAP_MAC_ADMIN",
                                                "CAP_SYSLOG",
                                                "CAP_WAKE_ALARM",
                                                "CAP_BLOCK_SUSPEND",
                                                "CAP_AUDIT_READ",
                                                "CAP_PERFMON",
                                                "CAP_BPF",
                                                "CAP_CHECKPOINT_RESTORE"};
  return kAll;
}

namespace spec_internal {
namespace {

bool is_all(std::string_view name) {
  return name.size() == 3 && std::toupper(static_cast<unsigned char>(name[0])) == 'A' &&
         std::toupper(static_cast<unsigned char>(name[1])) == 'L' &&
         std::toupper(static_cast<unsigned char>(name[2])) == 'L';
}

// "net_admin" / "CAP_NET_ADMIN" -> "CAP_NET_ADMIN", checked against the known names.
Result<std::string> canonical(std::string_view name, std::string_view field) {
  std::string upper;
  for (char c : name) upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  if (upper.rfind("CAP_", 0) != 0) upper = "CAP_" + upper;
  const auto& all = all_capabilities();
  if (std::find(all.begin(), all.end(), upper) == all.end()) {
    return invalid("capabilities", "unknown capability " + quote_value(name) + " in " + std::string(field));
  }
  return upper;
}

bool contains_all(const std::vector<std::string>& names) {
  return std::any_of(names.begin(), names.end(), [](const std::string& n) { return is_all(n); });
}

}  // namespace

Result<std::vector<std::string>> resolve_capabilities(const ContainerSpecInput& input) {
  // Names are checked even for a privileged container, whose set is everything regardless.
  std::vector<std::string> add;
  std::vector<std::string> drop;
  for (const auto& n : input.add_capabilities) {
    if (is_all(n)) continue;
    auto c = canonical(n, "add_capabilities");
    if (!c.ok()) return std::move(c).take_error();
    add.push_back(std::move(*c));
  }
  for (const auto& n : input.drop_capabilities) {
    if (is_all(n)) continue;
    auto c = canonical(n, "drop_capabilities");
    if (!c.ok()) return std::move(c).take_error();
    drop.push_back(std::move(*c));
  }
  if (input.privileged) return all_capabilities();

  std::vector<std::string> caps = default_capabilities();
  if (contains_all(input.add_capabilities)) caps = all_capabilities();
  if (contains_all(input.drop_capabilities)) caps.clear();
  for (auto& c : add) {
    if (std::find(caps.begin(), caps.end(), c) == caps.end()) caps.push_back(std::move(c));
  }
  for (const auto& c : drop) caps.erase(std::remove(caps.begin(), caps.end(), c), caps.end());
  return caps;
}

}  // namespace spec_internal
}  // namespace zoned::oci
