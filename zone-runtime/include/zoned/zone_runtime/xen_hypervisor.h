// Xen through its control interfaces in dom0: privcmd, xenstore and libxl.
#pragma once

#include <string>

#include "zoned/zone_runtime/hypervisor.h"

namespace zoned::zone_runtime {

struct XenPaths {
  std::string privcmd = "/dev/xen/privcmd";
  std::string capabilities = "/proc/xen/capabilities";
  std::string xenstored_socket = "/run/xenstored/socket";
};

class XenHypervisor final : public Hypervisor {
 public:
  explicit XenHypervisor(XenPaths paths = {});
  HypervisorStatus probe() override;

 private:
  XenPaths paths_;
};

}  // namespace zoned::zone_runtime
