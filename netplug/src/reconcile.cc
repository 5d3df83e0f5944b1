#include "zoned/netplug/reconcile.h"

#include <algorithm>

#include "zoned/common/log.h"

namespace zoned::netplug {

ReconcileReport reconcile(CniNetwork& cni, NetnsManager& netns, const std::set<std::string>& live_sandbox_ids) {
  ReconcileReport report;
  auto entries = cni.cached();
  if (!entries.ok()) {
    report.errors.push_back(entries.error().describe());
  } else {
    // Loopback attachments last, as in teardown.
    std::stable_partition(entries->begin(), entries->end(), [](const CachedAttachment& e) { return e.ifname != "lo"; });
    for (const CachedAttachment& entry : *entries) {
      if (live_sandbox_ids.count(entry.container_id) != 0) continue;
      const std::string what = entry.network_name + "/" + entry.container_id + "/" + entry.ifname;
      auto deleted = cni.delete_cached(entry);
      if (deleted.ok()) {
        report.deleted_attachments.push_back(what);
      } else {
        report.errors.push_back(what + ": " + deleted.error().describe());
      }
    }
  }
  std::set<std::string> live_paths;
  for (const std::string& id : live_sandbox_ids) {
    auto path = netns.path_for(id);
    if (path.ok()) live_paths.insert(*path);
  }
  auto existing = netns.list();
  if (!existing.ok()) {
    report.errors.push_back(existing.error().describe());
  } else {
    for (const std::string& path : *existing) {
      if (live_paths.count(path) != 0) continue;
      auto removed = netns.remove_path(path);
      if (removed.ok()) {
        report.removed_netns.push_back(path);
      } else {
        report.errors.push_back(removed.error().describe());
      }
    }
  }
  for (const std::string& error : report.errors) log::warn("network reconciliation", {{"error", error}});
  return report;
}

}  // namespace zoned::netplug
