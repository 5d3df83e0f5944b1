// ZoneStore: zone and container records on disk, one JSON file per zone
// (<state_dir>/zones/<zone id>/zone.json, replaced atomically), so a restarted daemon knows
// which zones and containers it had. The per-zone directory also holds the console log and
// the default container log files.
#pragma once

#include <string>
#include <vector>

#include "zoned/common/result.h"
#include "zoned/zone_runtime/zone_manager.h"

namespace zoned::zone_runtime {

struct StoredZone {
  ZoneRecord zone;
  std::vector<ContainerRecord> containers;
  uint32_t next_stream_id = 1;
};

class ZoneStore {
 public:
  explicit ZoneStore(std::string state_dir);

  Status init();  // creates <state_dir>/zones
  std::string zone_dir(const std::string& zone_id) const;
  Status create_zone_dir(const std::string& zone_id);
  Status save(const StoredZone& zone);
  // Every readable zone file; unreadable ones are logged and skipped (not deleted).
  std::vector<StoredZone> load_all();
  Status remove(const std::string& zone_id);

  // JSON form (exposed for tests).
  static std::string to_json(const StoredZone& zone);
  static Result<StoredZone> from_json(const std::string& text);

 private:
  std::string root_;
};

}  // namespace zoned::zone_runtime
