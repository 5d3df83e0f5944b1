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

  // Domain operations: not yet implemented on Xen (the zone work replaces these).
  Result<uint32_t> create_domain(const DomainSpec&) override { return unimplemented(); }
  Status destroy_domain(uint32_t) override { return unimplemented(); }
  Result<std::vector<DomainInfo>> list_domains() override { return unimplemented(); }
  Status add_disk(uint32_t, const DiskAttachment&) override { return unimplemented(); }
  Status remove_disk(uint32_t, const std::string&) override { return unimplemented(); }
  Result<std::string> console_path(uint32_t) override { return unimplemented(); }
  Status xenstore_write(const std::string&, const std::string&) override { return unimplemented(); }
  Result<std::optional<std::string>> xenstore_read(const std::string&) override { return unimplemented(); }
  void set_domain_change_callback(std::function<void()>) override {}
  Result<std::unique_ptr<idm::ByteChannel>> connect_channel(uint32_t, const std::string&) override {
    return unimplemented();
  }

 private:
  static Error unimplemented() { return Error(ErrorCode::kUnimplemented, "domain operations are not implemented yet"); }
  XenPaths paths_;
};

}  // namespace zoned::zone_runtime
