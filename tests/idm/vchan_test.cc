// vchan: only what this host can check without Xen (the devbox exercises the real thing):
// connecting where no server is fails cleanly with kUnavailable. Safe in a dom0 too, where the
// xenstore path simply does not exist.
#include "zoned/idm/vchan.h"

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

namespace zoned::idm {
namespace {

TEST_CASE("vchan_connect without a server there is kUnavailable", "[idm][vchan]") {
  auto channel = vchan_connect(32000, "/local/domain/32000/data/zoned/idm-test-nonexistent");
  REQUIRE_FALSE(channel.ok());
  CHECK(channel.error().code() == ErrorCode::kUnavailable);
  CHECK_THAT(channel.error().message(), Catch::Matchers::ContainsSubstring("domain 32000"));
}

}  // namespace
}  // namespace zoned::idm
