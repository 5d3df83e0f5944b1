// The hypervisor as the rest of the daemon sees it. Only Xen is real; tests use a fake.
#pragma once

#include <map>
#include <string>

namespace zoned::zone_runtime {

// Whether zones can be run right now, and if not, why.
struct HypervisorStatus {
  bool ready = false;
  std::string reason;                          // CamelCase, machine-readable (CRI condition reason), empty when ready
  std::string message;                         // human-readable: what is missing and how to fix it
  std::map<std::string, std::string> details;  // facts found while probing (versions, memory, ...)
};

class Hypervisor {
 public:
  virtual ~Hypervisor() = default;
  // Checks that the hypervisor is reachable and usable. Must not block for long.
  virtual HypervisorStatus probe() = 0;
};

}  // namespace zoned::zone_runtime
