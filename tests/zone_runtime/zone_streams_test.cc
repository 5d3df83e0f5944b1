// ZoneManager::attach and ZoneManager::dial against FakeZoneHost's fake agents (IDM over
// socketpairs): output fanned out to attachments as well as the log, stdin and stdin_once,
// resize, detaching; port connections with windows, half-close, refusals and a hostile agent.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>

#include "fakes/fake_image_store.h"
#include "fakes/fake_zone_host.h"
#include "support/eventually.h"
#include "support/temp_dir.h"
#include "zoned/common/file_ops.h"
#include "zoned/common/log.h"
#include "zoned/zone_runtime/zone_manager.h"

namespace zoned::zone_runtime {
namespace {

using namespace std::chrono_literals;
using Catch::Matchers::ContainsSubstring;
using testing::eventually;
using testing::FakeZoneHost;
using testing::TempDir;

struct Collected {
  std::mutex mu;
  std::string text;
  ExecOutputSink sink() {
    return [this](int fd, std::string_view data) {
      std::lock_guard lock(mu);
      text += std::to_string(fd) + ":" + std::string(data) + ";";
    };
  }
  std::string get() {
    std::lock_guard lock(mu);
    return text;
  }
};

struct StreamsFixture {
  TempDir dir;
  FakeZoneHost host;
  testing::FakeImageStore images;
  ZoneManagerOptions options;
  std::unique_ptr<ZoneManager> manager;  // last: destroyed before the fakes it uses
  ZoneRecord zone;

  StreamsFixture() {
    log::configure(log::Level::kWarn, log::Format::kText);
    options.state_dir = dir.path() + "/state";
    options.kernel = dir.write("vmlinux", "not really a kernel");
    options.initramfs = dir.write("initramfs.cpio", "not really an initramfs");
    options.agent_timeout = 5s;
    options.request_timeout = 5s;
    image_store::ImageRecord r;
    r.id = "sha256:" + std::string(64, 'a');
    r.repo_tags = {"docker.io/library/busybox:latest"};
    r.root_image_path = dir.write("busybox.erofs", "erofs");
    r.config.os = "linux";
    r.config.architecture = "amd64";
    r.config.cmd = {"sleep"};
    images.images.push_back(r);
    auto opened = ZoneManager::open(options, host, images, host.devices.attacher());
    REQUIRE(opened.ok());
    manager = std::move(*opened);
    ZoneSpec spec;
    spec.name = "z1";
    spec.images = {"docker.io/library/busybox:latest"};
    auto created = manager->create_zone(spec);
    REQUIRE(created.ok());
    zone = *created;
  }
  ~StreamsFixture() { manager.reset(); }

  ContainerRecord running(const std::string& name, std::vector<std::string> command, bool stdin, bool stdin_once,
                          bool tty = false) {
    ContainerSpec spec;
    spec.name = name;
    spec.image = "docker.io/library/busybox:latest";
    spec.oci.command = std::move(command);
    spec.oci.stdin = stdin;
    spec.oci.tty = tty;
    spec.stdin_once = stdin_once;
    auto created = manager->create_container(zone.id, spec);
    REQUIRE(created.ok());
    REQUIRE(manager->start_container(created->id).ok());
    return *created;
  }
};

TEST_CASE_METHOD(StreamsFixture, "attach: output goes to every attachment and the log; stdin reaches the process",
                 "[zone-manager]") {
  auto c = running("cat", {"cat"}, true, false);
  Collected first, second;
  AttachOptions with_stdin;
  with_stdin.stdin = true;
  auto a = manager->attach(c.id, with_stdin, first.sink());
  REQUIRE(a.ok());
  auto b = manager->attach(c.id.substr(0, 12), AttachOptions{}, second.sink());
  REQUIRE(b.ok());

  REQUIRE((*a)->write_stdin("hello\n").ok());
  REQUIRE(eventually([&] { return first.get() == "1:hello\n;" && second.get() == "1:hello\n;"; }));
  CHECK((*b)->write_stdin("x").error().code() == ErrorCode::kFailedPrecondition);  // attached without stdin
  CHECK((*a)->resize(24, 80).error().code() == ErrorCode::kFailedPrecondition);    // no tty

  b->reset();  // detached: the other attachment and the log go on
  REQUIRE((*a)->write_stdin("again\n").ok());
  REQUIRE(eventually([&] { return first.get() == "1:hello\n;1:again\n;"; }));
  CHECK(second.get() == "1:hello\n;");
  REQUIRE(eventually([&] {
    auto log = fs::read_file(c.log_path, 1 << 20);
    return log.ok() && log->find("stdout F again") != std::string::npos;
  }));

  // Without stdin_once, closing an attachment's stdin leaves the container's open.
  REQUIRE((*a)->close_stdin().ok());
  auto still = (*a)->wait(100ms);
  REQUIRE(still.ok());
  CHECK_FALSE(*still);
  CHECK(manager->get_container(c.id)->state == ContainerState::kRunning);
}

TEST_CASE_METHOD(StreamsFixture, "attach: stdin_once closes the container's stdin; wait sees the exit",
                 "[zone-manager]") {
  auto c = running("cat", {"cat"}, true, true);
  Collected out;
  AttachOptions opts;
  opts.stdin = true;
  auto a = manager->attach(c.id, opts, out.sink());
  REQUIRE(a.ok());
  REQUIRE((*a)->write_stdin("once\n").ok());
  REQUIRE((*a)->close_stdin().ok());  // the fake cat exits at stdin EOF
  auto ended = (*a)->wait(5s);
  REQUIRE(ended.ok());
  CHECK(*ended);
  CHECK(out.get() == "1:once\n;");
  CHECK(manager->get_container(c.id)->state == ContainerState::kExited);
}

TEST_CASE_METHOD(StreamsFixture, "attach: refused for stdin without a stdin container, tty mismatch, not running",
                 "[zone-manager]") {
  auto c = running("sleeper", {"sleep"}, false, false);
  Collected out;
  AttachOptions opts;
  opts.stdin = true;
  CHECK(manager->attach(c.id, opts, out.sink()).error().code() == ErrorCode::kFailedPrecondition);
  opts.stdin = false;
  opts.tty = true;
  CHECK(manager->attach(c.id, opts, out.sink()).error().code() == ErrorCode::kInvalidArgument);
  CHECK(manager->attach("ffffffffffff", AttachOptions{}, out.sink()).error().code() == ErrorCode::kNotFound);
  auto t = running("tty", {"sleep"}, true, false, true);
  opts.tty = true;
  opts.stdin = true;
  auto a = manager->attach(t.id, opts, out.sink());
  REQUIRE(a.ok());
  REQUIRE((*a)->resize(30, 100).ok());
  CHECK(host.agent(zone.domid)->saw("ResizeTty " + std::to_string(t.stream_id) + " 30x100"));
  REQUIRE(manager->stop_container(c.id, 1s).ok());
  CHECK(manager->attach(c.id, AttachOptions{}, out.sink()).error().code() == ErrorCode::kFailedPrecondition);
}

TEST_CASE_METHOD(StreamsFixture, "dial: bytes both ways through the agent, half-close, then end of stream",
                 "[zone-manager]") {
  auto conn = manager->dial(zone.id, 7);
  REQUIRE(conn.ok());
  // More than the agent's first window (256 KiB): writes block until it grants more.
  const std::string payload(600 * 1024, 'p');
  std::thread writer([&] {
    CHECK((*conn)->write(payload).ok());
    CHECK((*conn)->close_write().ok());
  });
  std::string got;
  char buf[65536];
  for (;;) {
    auto n = (*conn)->read(buf, sizeof buf);
    REQUIRE(n.ok());
    if (*n == 0) break;
    got.append(buf, *n);
  }
  writer.join();
  CHECK(got.size() == payload.size());
  CHECK(got == payload);
  (*conn)->close();
}

TEST_CASE_METHOD(StreamsFixture, "dial: a server that answers and closes; refused ports; two at once",
                 "[zone-manager]") {
  auto daytime = manager->dial(zone.id, 13);
  REQUIRE(daytime.ok());
  auto echo = manager->dial(zone.id, 7);
  REQUIRE(echo.ok());
  char buf[64];
  auto n = (*daytime)->read(buf, sizeof buf);
  REQUIRE(n.ok());
  CHECK(std::string(buf, *n) == "daytime\n");
  auto end = (*daytime)->read(buf, sizeof buf);
  REQUIRE(end.ok());
  CHECK(*end == 0);
  CHECK_FALSE((*daytime)->write("late").ok());  // the agent forgot the connection

  REQUIRE((*echo)->write("ping").ok());
  std::string got;
  while (got.size() < 4) {
    auto r = (*echo)->read(buf, sizeof buf);
    REQUIRE(r.ok());
    REQUIRE(*r > 0);
    got.append(buf, *r);
  }
  CHECK(got == "ping");
  echo->reset();  // closes: the agent hears PortForwardClose
  REQUIRE(eventually([&] {
    for (const auto& r : host.agent(zone.domid)->requests()) {
      if (r.rfind("PortForwardClose ", 0) == 0) return true;
    }
    return false;
  }));

  auto refused = manager->dial(zone.id, 8080);
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.error().message(), ContainsSubstring("127.0.0.1:8080"));
  CHECK(manager->dial(zone.id, 0).error().code() == ErrorCode::kInvalidArgument);
  CHECK(manager->dial("no-such-zone", 7).error().code() == ErrorCode::kNotFound);
}

TEST_CASE_METHOD(StreamsFixture, "dial: an agent that sends past its window is cut off, the daemon keeps a bound",
                 "[zone-manager]") {
  auto flood = manager->dial(zone.id, 666);
  REQUIRE(flood.ok());
  std::string got;
  char buf[65536];
  Result<size_t> n = size_t{0};
  for (;;) {
    n = (*flood)->read(buf, sizeof buf);
    if (!n.ok() || *n == 0) break;
    got.append(buf, *n);
  }
  REQUIRE_FALSE(n.ok());
  CHECK_THAT(n.error().message(), ContainsSubstring("window"));
  CHECK(got.size() <= 256 * 1024);  // never more than granted
  // The zone and other connections are unaffected.
  auto echo = manager->dial(zone.id, 7);
  REQUIRE(echo.ok());
  REQUIRE((*echo)->write("ok").ok());
  auto r = (*echo)->read(buf, sizeof buf);
  REQUIRE(r.ok());
  CHECK(std::string(buf, *r) == "ok");
}

}  // namespace
}  // namespace zoned::zone_runtime
