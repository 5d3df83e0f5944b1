#include "zoned/xen/domain_info.h"

#include "zoned/xen/domain_config.h"

namespace zoned::xen {

using zone_runtime::DomainRunState;

DomainRunState run_state(const libxl_dominfo& info) {
  if (info.dying) return DomainRunState::kDying;
  if (!info.shutdown) return DomainRunState::kRunning;
  switch (info.shutdown_reason) {
    case LIBXL_SHUTDOWN_REASON_POWEROFF: return DomainRunState::kPoweroff;
    case LIBXL_SHUTDOWN_REASON_REBOOT:
    case LIBXL_SHUTDOWN_REASON_SOFT_RESET: return DomainRunState::kReboot;
    case LIBXL_SHUTDOWN_REASON_CRASH:
    case LIBXL_SHUTDOWN_REASON_WATCHDOG: return DomainRunState::kCrashed;
    default: return DomainRunState::kPoweroff;
  }
}

zone_runtime::DomainInfo to_domain_info(const libxl_dominfo& info, std::string name) {
  zone_runtime::DomainInfo out;
  out.domid = info.domid;
  out.name = std::move(name);
  out.uuid = format_uuid(info.uuid);
  out.state = run_state(info);
  out.memory_kib = info.current_memkb;
  out.vcpus_online = info.vcpu_online;
  out.cpu_time_ns = info.cpu_time;
  return out;
}

}  // namespace zoned::xen
