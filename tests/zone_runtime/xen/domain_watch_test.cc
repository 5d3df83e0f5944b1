// The @releaseDomain watch thread, without xenstored: it must wait quietly, never call back,
// and stop promptly.
#include "zoned/xen/domain_watch.h"

#include <atomic>
#include <catch2/catch_test_macros.hpp>
#include <chrono>
#include <thread>

#include "support/temp_dir.h"

TEST_CASE("no xenstored: no callbacks, and the watch stops at once") {
  zoned::testing::TempDir tmp;
  std::atomic<int> calls{0};
  auto started = std::chrono::steady_clock::now();
  {
    zoned::xen::DomainWatch watch(
        tmp.file("no-socket"), [&] { ++calls; }, std::chrono::seconds(30));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  auto took = std::chrono::steady_clock::now() - started;
  CHECK(calls == 0);
  CHECK(took < std::chrono::seconds(5));  // not the 30 s retry interval
}

TEST_CASE("a path that is not a socket counts as no xenstored") {
  zoned::testing::TempDir tmp;
  std::atomic<int> calls{0};
  {
    zoned::xen::DomainWatch watch(
        tmp.write("socket", "a plain file"), [&] { ++calls; }, std::chrono::milliseconds(10));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(calls == 0);
}
