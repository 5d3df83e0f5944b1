// FakeHypervisor: a test double whose probe result the test sets.
#pragma once

#include "zoned/zone_runtime/hypervisor.h"

namespace zoned::testing {
using namespace zoned::zone_runtime;  // NOLINT: the fake spells the interface's types briefly

class FakeHypervisor final : public zone_runtime::Hypervisor {
 public:
  zone_runtime::HypervisorStatus next;
  int probes = 0;
  zone_runtime::HypervisorStatus probe() override {
    ++probes;
    return next;
  }

  // Domain operations: not yet implemented in this fake.
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
};

}  // namespace zoned::testing
