// Startup reconciliation after a crash: whatever the network layer holds for a sandbox that is
// not live any more is released. CNI DEL runs from the cache for every leaked attachment (which
// frees IPAM allocations such as host-local's files), then leaked namespaces are removed.
// Vifs need nothing here: they belong to Xen domains and vanish with them.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "zoned/netplug/cni_network.h"
#include "zoned/netplug/netns.h"

namespace zoned::netplug {

struct ReconcileReport {
  std::vector<std::string> deleted_attachments;  // "<network>/<container id>/<ifname>"
  std::vector<std::string> removed_netns;        // paths
  std::vector<std::string> errors;               // what could not be released (tried again next start)
};

ReconcileReport reconcile(CniNetwork& cni, NetnsManager& netns, const std::set<std::string>& live_sandbox_ids);

}  // namespace zoned::netplug
