#include "zoned/netplug/result_cache.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "json_util.h"
#include "zoned/common/file_ops.h"
#include "zoned/common/fs.h"
#include "zoned/common/log.h"
#include "zoned/common/unique_fd.h"
#include "zoned/netplug/cni_config.h"

namespace zoned::netplug {
namespace {

using nlohmann::json;

constexpr const char* kKind = "zoned-cni-cache-v1";
constexpr size_t kMaxEntryBytes = 2 * 1024 * 1024;

bool plain_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

Result<CachedAttachment> decode(std::string_view text, const std::string& path) {
  auto doc = detail::parse_json_object(text, kMaxEntryBytes, path);
  if (!doc.ok()) return std::move(doc).take_error();
  auto kind = detail::string_field(*doc, "kind", true);
  if (!kind.ok() || *kind != kKind) return Error(ErrorCode::kInvalidArgument, path + ": not a zoned CNI cache entry");
  CachedAttachment entry;
  std::pair<const char*, std::string*> fields[] = {{"networkName", &entry.network_name},
                                                   {"containerId", &entry.container_id},
                                                   {"ifName", &entry.ifname},
                                                   {"netns", &entry.netns},
                                                   {"config", &entry.config_json},
                                                   {"cniArgs", &entry.cni_args},
                                                   {"capabilityArgs", &entry.capability_args_json},
                                                   {"result", &entry.result_json},
                                                   {"podName", &entry.pod.name},
                                                   {"podNamespace", &entry.pod.pod_namespace},
                                                   {"podUid", &entry.pod.uid}};
  for (auto& [key, target] : fields) {
    auto value = detail::string_field(*doc, key, false);
    if (!value.ok()) return std::move(value).take_error().wrap(path);
    *target = std::move(*value);
  }
  entry.pod.sandbox_id = entry.container_id;
  if (!is_valid_network_name(entry.network_name) || !is_valid_container_id(entry.container_id) ||
      !is_valid_ifname(entry.ifname)) {
    return Error(ErrorCode::kInvalidArgument, path + ": bad network, container id or interface name");
  }
  return entry;
}

}  // namespace

bool is_valid_container_id(std::string_view id) {
  return !id.empty() && id.size() <= 128 && id[0] != '.' && std::all_of(id.begin(), id.end(), plain_name_char);
}

bool is_valid_ifname(std::string_view name) {
  return !name.empty() && name.size() <= 15 && name != "." && name != ".." &&
         std::all_of(name.begin(), name.end(), plain_name_char);
}

ResultCache::ResultCache(std::string dir) : dir_(std::move(dir)) {}

Result<std::string> ResultCache::path_for(const std::string& network, const std::string& container_id,
                                          const std::string& ifname) const {
  if (!is_valid_network_name(network) || !is_valid_container_id(container_id) || !is_valid_ifname(ifname)) {
    return Error(ErrorCode::kInvalidArgument, "CNI cache: bad name (network \"" + network + "\", container \"" +
                                                  container_id + "\", interface \"" + ifname + "\")");
  }
  return dir_ + "/" + network + "-" + container_id + "-" + ifname;
}

Status ResultCache::store(const CachedAttachment& entry) {
  auto path = path_for(entry.network_name, entry.container_id, entry.ifname);
  if (!path.ok()) return std::move(path).take_error();
  ZONED_TRY(fs::make_dirs(dir_, 0700));
  json doc = {{"kind", kKind},
              {"networkName", entry.network_name},
              {"containerId", entry.container_id},
              {"ifName", entry.ifname},
              {"netns", entry.netns},
              {"config", entry.config_json},
              {"cniArgs", entry.cni_args},
              {"capabilityArgs", entry.capability_args_json},
              {"result", entry.result_json},
              {"podName", entry.pod.name},
              {"podNamespace", entry.pod.pod_namespace},
              {"podUid", entry.pod.uid}};
  const std::string text = doc.dump();
  const std::string tmp = *path + ".tmp";
  {
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd.valid()) return sys_error("CNI cache: creating " + tmp);
    ZONED_TRY(fs::write_all(fd.get(), text.data(), text.size()));
    if (::fsync(fd.get()) != 0) return sys_error("CNI cache: syncing " + tmp);
  }
  if (::rename(tmp.c_str(), path->c_str()) != 0) {
    Error error = sys_error("CNI cache: renaming " + tmp);
    ::unlink(tmp.c_str());
    return error;
  }
  return fs::fsync_dir(dir_);
}

Result<std::optional<CachedAttachment>> ResultCache::load(const std::string& network, const std::string& container_id,
                                                          const std::string& ifname) const {
  auto path = path_for(network, container_id, ifname);
  if (!path.ok()) return std::move(path).take_error();
  if (::access(path->c_str(), F_OK) != 0 && errno == ENOENT) return std::optional<CachedAttachment>();
  auto text = fs::read_file(*path, kMaxEntryBytes);
  if (!text.ok()) return std::move(text).take_error().wrap("CNI cache");
  auto entry = decode(*text, *path);
  if (!entry.ok()) return std::move(entry).take_error();
  return std::optional<CachedAttachment>(std::move(*entry));
}

Status ResultCache::remove(const std::string& network, const std::string& container_id, const std::string& ifname) {
  auto path = path_for(network, container_id, ifname);
  if (!path.ok()) return std::move(path).take_error();
  if (::unlink(path->c_str()) != 0 && errno != ENOENT) return sys_error("CNI cache: removing " + *path);
  return ok_status();
}

Result<std::vector<CachedAttachment>> ResultCache::list() const {
  std::vector<CachedAttachment> out;
  UniqueFd dirfd(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dirfd.valid()) {
    if (errno == ENOENT) return out;
    return sys_error("CNI cache: opening " + dir_);
  }
  auto names = fs::list_dir(dirfd.get());
  if (!names.ok()) return std::move(names).take_error().wrap("CNI cache " + dir_);
  std::sort(names->begin(), names->end());
  for (const std::string& name : *names) {
    if (name.size() > 4 && name.substr(name.size() - 4) == ".tmp") continue;
    const std::string path = dir_ + "/" + name;
    auto text = fs::read_file(path, kMaxEntryBytes);
    auto entry = text.ok() ? decode(*text, path) : Result<CachedAttachment>(std::move(text).take_error());
    if (!entry.ok()) {
      log::warn("skipping unreadable CNI cache entry", {{"path", path}, {"error", entry.error().describe()}});
      continue;
    }
    out.push_back(std::move(*entry));
  }
  return out;
}

}  // namespace zoned::netplug
