// The on-disk cache of CNI attachments (like libcni's /var/lib/cni/results): for every
// successful ADD, the exact config list, arguments and result, so that DEL (and CHECK) can
// run after a daemon restart even when the config directory has changed since.
// One JSON file per attachment: <dir>/<network>-<container id>-<ifname>, written atomically.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "zoned/common/result.h"
#include "zoned/netplug/cni_types.h"

namespace zoned::netplug {

struct CachedAttachment {
  std::string network_name;
  std::string container_id;
  std::string ifname;
  std::string netns;
  std::string config_json;           // the conflist document ADD ran with
  std::string cni_args;              // CNI_ARGS as passed
  std::string capability_args_json;  // the runtimeConfig values ADD had, as a JSON object
  std::string result_json;           // the final result
  PodRef pod;
};

// Container ids and interface names are checked before they become part of a file name.
bool is_valid_container_id(std::string_view id);
bool is_valid_ifname(std::string_view name);

class ResultCache {
 public:
  explicit ResultCache(std::string dir);

  Status store(const CachedAttachment& entry);
  // nullopt when there is no entry.
  Result<std::optional<CachedAttachment>> load(const std::string& network, const std::string& container_id,
                                               const std::string& ifname) const;
  // A missing entry is fine.
  Status remove(const std::string& network, const std::string& container_id, const std::string& ifname);
  // Every readable entry; unreadable or malformed files are logged and skipped.
  Result<std::vector<CachedAttachment>> list() const;

  const std::string& dir() const { return dir_; }

 private:
  Result<std::string> path_for(const std::string& network, const std::string& container_id,
                               const std::string& ifname) const;

  std::string dir_;
};

}  // namespace zoned::netplug
