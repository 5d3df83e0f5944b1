// The fake hypervisor other tests build on: it must behave like the contract says.
#include "fakes/fake_hypervisor.h"

#include <poll.h>

#include <atomic>
#include <catch2/catch_test_macros.hpp>

using zoned::ErrorCode;
using zoned::testing::FakeHypervisor;
using zoned::zone_runtime::DomainRunState;
using zoned::zone_runtime::DomainSpec;

namespace {

DomainSpec spec(const std::string& name) {
  DomainSpec s;
  s.name = name;
  s.uuid = "00000000-0000-4000-8000-000000000001";
  s.memory_mib = 128;
  s.vcpus = 1;
  s.kernel = "/k";
  s.disks = {{"/dev/loop1", "xvdb", true}};
  return s;
}

}  // namespace

TEST_CASE("fake: create, list, destroy (idempotent), with callbacks on destroy") {
  FakeHypervisor hv;
  std::atomic<int> changes{0};
  hv.set_domain_change_callback([&] { ++changes; });
  auto a = hv.create_domain(spec("zoned-a"));
  REQUIRE(a.ok());
  auto b = hv.create_domain(spec("zoned-b"));
  REQUIRE(b.ok());
  CHECK(*a != *b);
  auto dup = hv.create_domain(spec("zoned-a"));
  REQUIRE_FALSE(dup.ok());
  CHECK(dup.error().code() == ErrorCode::kAlreadyExists);
  auto list = hv.list_domains();
  REQUIRE(list.ok());
  REQUIRE(list->size() == 2);
  CHECK((*list)[0].name == "zoned-a");
  CHECK((*list)[0].memory_kib == 128 * 1024);
  CHECK((*list)[0].state == DomainRunState::kRunning);
  CHECK(hv.destroy_domain(*a).ok());
  CHECK(hv.destroy_domain(*a).ok());
  CHECK(hv.domain_count() == 1);
  CHECK(changes == 1);
  CHECK(hv.destroyed() == std::vector<uint32_t>{*a});
}

TEST_CASE("fake: state changes and vanishing fire the callback") {
  FakeHypervisor hv;
  std::atomic<int> changes{0};
  hv.set_domain_change_callback([&] { ++changes; });
  auto id = hv.create_domain(spec("zoned-a"));
  REQUIRE(id.ok());
  hv.set_state(*id, DomainRunState::kCrashed);
  CHECK(hv.list_domains()->at(0).state == DomainRunState::kCrashed);
  hv.vanish(*id);
  CHECK(hv.domain_count() == 0);
  CHECK(changes == 2);
}

TEST_CASE("fake: injected failures happen once") {
  FakeHypervisor hv;
  hv.fail_next_create(zoned::Error(ErrorCode::kResourceExhausted, "no memory"));
  auto first = hv.create_domain(spec("zoned-a"));
  REQUIRE_FALSE(first.ok());
  CHECK(first.error().code() == ErrorCode::kResourceExhausted);
  auto second = hv.create_domain(spec("zoned-a"));
  REQUIRE(second.ok());
  hv.fail_next_destroy(zoned::Error(ErrorCode::kInternal, "stuck"));
  CHECK_FALSE(hv.destroy_domain(*second).ok());
  CHECK(hv.destroy_domain(*second).ok());
  CHECK(hv.creates() == 2);
  CHECK(hv.destroys() == 2);
}

TEST_CASE("fake: disks") {
  FakeHypervisor hv;
  auto id = hv.create_domain(spec("zoned-a"));
  REQUIRE(id.ok());
  CHECK(hv.add_disk(*id, {"/dev/loop2", "xvdc", true}).ok());
  CHECK(hv.add_disk(*id, {"/dev/loop3", "xvdc", true}).error().code() == ErrorCode::kAlreadyExists);
  CHECK(hv.domain(*id)->spec.disks.size() == 2);
  CHECK(hv.remove_disk(*id, "xvdb").ok());
  CHECK(hv.remove_disk(*id, "xvdb").error().code() == ErrorCode::kNotFound);
  CHECK(hv.add_disk(99, {"/dev/loop2", "xvdc", true}).error().code() == ErrorCode::kNotFound);
}

TEST_CASE("fake: xenstore map; a destroyed domain's nodes go with it") {
  FakeHypervisor hv;
  auto id = hv.create_domain(spec("zoned-a"));
  REQUIRE(id.ok());
  const std::string node = "/local/domain/" + std::to_string(*id) + "/data/x";
  CHECK_FALSE(hv.xenstore_read(node)->has_value());
  CHECK(hv.xenstore_write(node, "1").ok());
  CHECK(hv.xenstore_read(node)->value() == "1");
  CHECK(hv.xenstore_write("/local/domain/0/keep", "y").ok());
  CHECK(hv.destroy_domain(*id).ok());
  CHECK_FALSE(hv.xenstore_read(node)->has_value());
  CHECK(hv.xenstore_read("/local/domain/0/keep")->value() == "y");
}

TEST_CASE("fake: console path is whatever the test set") {
  FakeHypervisor hv;
  auto id = hv.create_domain(spec("zoned-a"));
  REQUIRE(id.ok());
  CHECK(hv.console_path(*id).error().code() == ErrorCode::kUnavailable);
  hv.set_console_path(*id, "/tmp/console");
  CHECK(*hv.console_path(*id) == "/tmp/console");
  CHECK(hv.console_path(99).error().code() == ErrorCode::kNotFound);
}

TEST_CASE("fake: a channel connects only once served, and its two ends talk") {
  FakeHypervisor hv;
  auto id = hv.create_domain(spec("zoned-a"));
  REQUIRE(id.ok());
  const std::string path = "/local/domain/" + std::to_string(*id) + "/data/zoned/idm";
  auto early = hv.connect_channel(*id, path);
  REQUIRE_FALSE(early.ok());
  CHECK(early.error().code() == ErrorCode::kUnavailable);
  hv.serve_channel(*id, path);
  auto daemon_end = hv.connect_channel(*id, path);
  REQUIRE(daemon_end.ok());
  auto agent_end = hv.take_agent_end(*id);
  REQUIRE(agent_end != nullptr);
  CHECK(hv.take_agent_end(*id) == nullptr);

  const std::string hello = "hello";
  auto wrote = (*daemon_end)->write_some(std::span<const char>(hello.data(), hello.size()));
  REQUIRE(wrote.ok());
  CHECK(*wrote == hello.size());
  pollfd pfd{agent_end->poll_fd(), POLLIN, 0};
  REQUIRE(::poll(&pfd, 1, 5000) == 1);
  REQUIRE(agent_end->ack_wakeup().ok());
  char buf[16];
  auto got = agent_end->read_some(std::span<char>(buf, sizeof buf));
  REQUIRE(got.ok());
  CHECK(std::string(buf, *got) == hello);
}

TEST_CASE("fake: on_connect hands the agent end to a handler instead") {
  FakeHypervisor hv;
  auto id = hv.create_domain(spec("zoned-a"));
  REQUIRE(id.ok());
  hv.serve_channel(*id, "/p");
  std::unique_ptr<zoned::idm::ByteChannel> handed;
  hv.on_connect([&](uint32_t domid, std::unique_ptr<zoned::idm::ByteChannel> end) {
    CHECK(domid == *id);
    handed = std::move(end);
  });
  REQUIRE(hv.connect_channel(*id, "/p").ok());
  CHECK(handed != nullptr);
  CHECK(hv.take_agent_end(*id) == nullptr);
}
