// libxl_dominfo -> DomainInfo: the run state from Xen's shutdown / dying flags and the
// shutdown reason, and the counters the daemon reports.
#pragma once

#include <string>

#include "zoned/xen/libxl_headers.h"
#include "zoned/zone_runtime/hypervisor.h"

namespace zoned::xen {

// dying -> kDying; shut down -> by reason: poweroff -> kPoweroff, reboot and soft reset ->
// kReboot, crash and watchdog -> kCrashed, suspend (zones never suspend) and unknown reasons ->
// kPoweroff; otherwise (running, blocked, paused) -> kRunning.
zone_runtime::DomainRunState run_state(const libxl_dominfo& info);

zone_runtime::DomainInfo to_domain_info(const libxl_dominfo& info, std::string name);

}  // namespace zoned::xen
