// FakeHypervisor: a test double whose probe result the test sets.
#pragma once

#include "zoned/zone_runtime/hypervisor.h"

namespace zoned::testing {

class FakeHypervisor final : public zone_runtime::Hypervisor {
 public:
  zone_runtime::HypervisorStatus next;
  int probes = 0;
  zone_runtime::HypervisorStatus probe() override {
    ++probes;
    return next;
  }
};

}  // namespace zoned::testing
