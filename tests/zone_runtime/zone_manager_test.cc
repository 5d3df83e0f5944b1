// ZoneManager against FakeZoneHost (in-memory domains, xenstore, a pty console, and fake agents
// speaking IDM over socketpairs) and FakeImageStore: zones, containers and their CRI logs,
// exec, stopping, crashes, vanishing domains, and daemon restarts. No Xen.
#include "zoned/zone_runtime/zone_manager.h"

#include <dirent.h>
#include <sys/stat.h>

#include <atomic>
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <chrono>
#include <limits>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "fakes/fake_image_store.h"
#include "fakes/fake_zone_host.h"
#include "support/eventually.h"
#include "support/temp_dir.h"
#include "zone_store.h"
#include "zoned/common/file_ops.h"
#include "zoned/common/log.h"

namespace zoned::zone_runtime {
namespace {

using namespace std::chrono_literals;
using Catch::Matchers::ContainsSubstring;
using testing::eventually;
using testing::FakeAgent;
using testing::FakeProgram;
using testing::FakeZoneHost;
using testing::TempDir;

const std::string kBusybox = "docker.io/library/busybox:latest";
const std::string kAlpine = "docker.io/library/alpine:latest";
const std::string kNginx = "docker.io/library/nginx:latest";

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// The records of a CRI log as "<stream> <P|F> <text>"; "BAD: <line>" for anything else.
std::vector<std::string> log_records(const std::string& path) {
  std::vector<std::string> out;
  auto text = fs::read_file(path, 16 << 20);
  if (!text.ok()) return out;
  static const std::regex record(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (stdout|stderr) ([PF]) (.*)$)");
  size_t start = 0;
  while (start < text->size()) {
    size_t nl = text->find('\n', start);
    if (nl == std::string::npos) nl = text->size();
    const std::string line = text->substr(start, nl - start);
    std::smatch m;
    out.push_back(std::regex_match(line, m, record) ? m[1].str() + " " + m[2].str() + " " + m[3].str()
                                                    : "BAD: " + line);
    start = nl + 1;
  }
  return out;
}

struct Fixture {
  TempDir dir;
  FakeZoneHost host;
  testing::FakeImageStore images;
  ZoneManagerOptions options;
  std::unique_ptr<ZoneManager> manager;  // last: destroyed before the fakes it uses

  Fixture() {
    log::configure(log::Level::kWarn, log::Format::kText);
    options.state_dir = dir.path() + "/state";
    options.kernel = dir.write("vmlinux", "not really a kernel");
    options.initramfs = dir.write("initramfs.cpio", "not really an initramfs");
    options.extra_cmdline = "zoned.test=1";
    options.agent_timeout = 5s;
    options.request_timeout = 5s;
    add_image("busybox", 'a', "");
    add_image("alpine", 'b', "");
    add_image("nginx", 'c', "SIGQUIT");
  }
  ~Fixture() { manager.reset(); }

  void add_image(const std::string& name, char digit, const std::string& stop_signal) {
    image_store::ImageRecord r;
    r.id = "sha256:" + std::string(64, digit);
    r.repo_tags = {"docker.io/library/" + name + ":latest"};
    r.root_image_path = dir.write(name + ".erofs", "erofs of " + name);
    r.config.os = "linux";
    r.config.architecture = "amd64";
    r.config.cmd = {"sleep"};
    r.config.stop_signal = stop_signal;
    images.images.push_back(r);
  }
  std::string image_id(char digit) const { return "sha256:" + std::string(64, digit); }

  void open() {
    auto opened = ZoneManager::open(options, host, images, host.devices.attacher());
    REQUIRE(opened.ok());
    manager = std::move(*opened);
  }
  void restart() {
    manager.reset();
    open();
  }
  std::string zones_dir() const { return options.state_dir + "/zones"; }
  size_t zone_dirs() const {
    size_t n = 0;
    if (DIR* d = ::opendir(zones_dir().c_str())) {
      while (dirent* e = ::readdir(d)) {
        if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") ++n;
      }
      ::closedir(d);
    }
    return n;
  }

  ZoneRecord zone(ZoneSpec spec = {}) {
    if (spec.name.empty()) spec.name = "z1";
    if (spec.images.empty()) spec.images = {kBusybox};
    auto created = manager->create_zone(spec);
    if (!created.ok()) FAIL(created.error().describe());
    return *created;
  }
  std::shared_ptr<FakeAgent> agent(const ZoneRecord& z) {
    auto a = host.agent(z.domid);
    REQUIRE(a);
    return a;
  }
  ContainerRecord container(const ZoneRecord& z, const std::string& name, std::vector<std::string> command,
                            const std::string& image = kBusybox) {
    ContainerSpec spec;
    spec.name = name;
    spec.image = image;
    spec.oci.command = std::move(command);
    auto created = manager->create_container(z.id, spec);
    if (!created.ok()) FAIL(created.error().describe());
    return *created;
  }
  ContainerRecord started(const ZoneRecord& z, const std::string& name, std::vector<std::string> command) {
    auto c = container(z, name, std::move(command));
    auto s = manager->start_container(c.id);
    if (!s.ok()) FAIL(s.error().describe());
    return c;
  }
  ContainerRecord get(const std::string& container) {
    auto c = manager->get_container(container);
    REQUIRE(c.ok());
    return *c;
  }
  ZoneState state_of(const std::string& zone) {
    auto z = manager->get_zone(zone);
    REQUIRE(z.ok());
    return z->state;
  }
};

// ---------------------------------------------------------------------------------------------
// creating zones

TEST_CASE_METHOD(Fixture, "create_zone boots a domain, attaches its image and waits for the agent", "[zone-manager]") {
  open();
  ZoneSpec spec;
  spec.name = "web";
  spec.images = {kBusybox};
  spec.labels = {{"app", "web"}};
  const ZoneRecord z = zone(spec);

  CHECK(z.state == ZoneState::kRunning);
  CHECK(std::regex_match(z.id, std::regex("[0-9a-f]{64}")));
  CHECK(z.domid != 0);
  CHECK(z.domain_name == "zoned-" + z.id.substr(0, 16));
  CHECK(z.uuid == z.id.substr(0, 8) + "-" + z.id.substr(8, 4) + "-" + z.id.substr(12, 4) + "-" + z.id.substr(16, 4) +
                      "-" + z.id.substr(20, 12));
  CHECK(z.type == DomainType::kPv);
  CHECK(z.spec.hostname == "web");
  CHECK(z.spec.memory_mib == 256);
  CHECK(z.spec.vcpus == 1);
  CHECK(z.spec.labels == spec.labels);
  CHECK(z.agent_connected);
  CHECK(z.created_at_ns > 0);
  CHECK(z.started_at_ns >= z.created_at_ns);
  REQUIRE(z.disks.size() == 1);
  CHECK(z.disks[0].image_id == image_id('a'));
  CHECK(z.disks[0].vdev == "xvdb");
  CHECK(z.disks[0].loop_device == "/dev/fake-loop0");

  const auto specs = host.created_specs();
  REQUIRE(specs.size() == 1);
  const DomainSpec& d = specs[0];
  CHECK(d.name == z.domain_name);
  CHECK(d.uuid == z.uuid);
  CHECK(d.type == DomainType::kPv);
  CHECK(d.memory_mib == 256);
  CHECK(d.max_memory_mib == 1024);
  CHECK(d.vcpus == 1);
  CHECK(d.max_vcpus == 2);
  CHECK(d.kernel == options.kernel);
  CHECK(d.initramfs == options.initramfs);
  CHECK_THAT(d.cmdline, ContainsSubstring("console=hvc0"));
  CHECK_THAT(d.cmdline, ContainsSubstring("zoned.hostname=web"));
  CHECK_THAT(d.cmdline, ContainsSubstring("zoned.loglevel=info"));
  CHECK_THAT(d.cmdline, ContainsSubstring(" zoned.test=1"));
  REQUIRE(d.disks.size() == 1);
  CHECK(d.disks[0].target == "/dev/fake-loop0");
  CHECK(d.disks[0].vdev == "xvdb");
  CHECK(d.disks[0].read_only);

  // the loop device now belongs to the domain's backend
  const auto devices = host.devices.records();
  REQUIRE(devices.size() == 1);
  CHECK(devices[0].file == images.images[0].root_image_path);
  CHECK(devices[0].released);
  CHECK(devices[0].attached);

  CHECK(agent(z)->wait_connected(5s));  // it sees our HelloReply a moment after we sent it
  CHECK(agent(z)->connections() == 1);
  CHECK(exists(zones_dir() + "/" + z.id + "/zone.json"));

  for (const auto& key : {z.id, z.id.substr(0, 8), std::string("web")}) {
    auto found = manager->get_zone(key);
    REQUIRE(found.ok());
    CHECK(found->id == z.id);
  }
  CHECK(manager->get_zone("nope").error().code() == ErrorCode::kNotFound);
  CHECK(manager->list_zones().size() == 1);
  CHECK(manager->image_in_use(image_id('a')));
  CHECK_FALSE(manager->image_in_use(image_id('b')));
}

TEST_CASE_METHOD(Fixture, "create_zone takes memory, vcpus, hostname and PVH from the spec", "[zone-manager]") {
  open();
  ZoneSpec spec;
  spec.name = "big";
  spec.type = DomainType::kPvh;
  spec.memory_mib = 2048;
  spec.vcpus = 4;
  spec.hostname = "big-host";
  const ZoneRecord z = zone(spec);
  CHECK(z.type == DomainType::kPvh);
  CHECK(z.spec.memory_mib == 2048);
  CHECK(z.spec.vcpus == 4);
  const DomainSpec d = host.created_specs().at(0);
  CHECK(d.type == DomainType::kPvh);
  CHECK(d.memory_mib == 2048);
  CHECK(d.max_memory_mib == 2048);  // never below the boot memory
  CHECK(d.vcpus == 4);
  CHECK(d.max_vcpus == 4);
  CHECK_THAT(d.cmdline, ContainsSubstring("zoned.hostname=big-host"));
}

TEST_CASE_METHOD(Fixture, "create_zone checks its input before taking anything", "[zone-manager]") {
  SECTION("a missing kernel asset is FailedPrecondition naming the path") {
    options.kernel = dir.file("missing-vmlinux");
    open();
    ZoneSpec spec;
    spec.name = "z";
    auto created = manager->create_zone(spec);
    REQUIRE_FALSE(created.ok());
    CHECK(created.error().code() == ErrorCode::kFailedPrecondition);
    CHECK_THAT(created.error().describe(), ContainsSubstring(dir.file("missing-vmlinux")));
  }
  SECTION("an unknown image is NotFound") {
    open();
    ZoneSpec spec;
    spec.name = "z";
    spec.images = {"docker.io/library/nothere:1"};
    auto created = manager->create_zone(spec);
    REQUIRE_FALSE(created.ok());
    CHECK(created.error().code() == ErrorCode::kNotFound);
    CHECK_THAT(created.error().describe(), ContainsSubstring("nothere"));
  }
  SECTION("bad names are InvalidArgument") {
    open();
    ZoneSpec spec;
    spec.name = "../etc";
    CHECK(manager->create_zone(spec).error().code() == ErrorCode::kInvalidArgument);
    spec.name = "ok";
    spec.hostname = "-bad";
    CHECK(manager->create_zone(spec).error().code() == ErrorCode::kInvalidArgument);
  }
  CHECK(host.created_specs().empty());
  CHECK(host.devices.records().empty());
  CHECK(manager->list_zones().empty());
  CHECK(zone_dirs() == 0);
}

TEST_CASE_METHOD(Fixture, "zone names are unique among live zones", "[zone-manager]") {
  open();
  const ZoneRecord first = zone();
  ZoneSpec spec;
  spec.name = "z1";
  auto again = manager->create_zone(spec);
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().code() == ErrorCode::kAlreadyExists);
  CHECK(host.domain_count() == 1);

  REQUIRE(manager->stop_zone(first.id, 1s).ok());
  // The stopped one no longer holds the name; the name then finds the live zone, whatever
  // the order of the ids (several stopped namesakes make a lucky order unlikely).
  for (int i = 0; i < 3; ++i) REQUIRE(manager->stop_zone(zone().id, 1s).ok());
  const ZoneRecord live = zone();
  CHECK(live.id != first.id);
  CHECK(manager->list_zones().size() == 5);
  auto found = manager->get_zone("z1");
  REQUIRE(found.ok());
  CHECK(found->id == live.id);
  CHECK(found->state == ZoneState::kRunning);
  REQUIRE(manager->stop_zone("z1", 1s).ok());  // the live one
  CHECK(state_of(live.id) == ZoneState::kStopped);
  CHECK(manager->get_zone("z1")->id == live.id);  // all stopped: the newest
}

TEST_CASE_METHOD(Fixture, "a create that fails at the domain step leaves nothing behind", "[zone-manager]") {
  open();
  host.fail_next_create(Error(ErrorCode::kResourceExhausted, "fake: not enough memory"));
  ZoneSpec spec;
  spec.name = "z";
  spec.images = {kBusybox, kAlpine};
  auto created = manager->create_zone(spec);
  REQUIRE_FALSE(created.ok());
  CHECK(created.error().code() == ErrorCode::kResourceExhausted);
  CHECK_THAT(created.error().describe(), ContainsSubstring("not enough memory"));
  CHECK(host.domain_count() == 0);
  CHECK(manager->list_zones().empty());
  CHECK(zone_dirs() == 0);
  const auto devices = host.devices.records();
  CHECK(devices.size() == 2);
  for (const auto& d : devices) CHECK_FALSE(d.released);  // never handed to a domain: detached
  CHECK(host.devices.attached().empty());
}

TEST_CASE_METHOD(Fixture, "a zone whose agent never answers is undone", "[zone-manager]") {
  options.agent_timeout = 300ms;
  open();
  host.set_agents_answer(false);
  ZoneSpec spec;
  spec.name = "z";
  auto created = manager->create_zone(spec);
  REQUIRE_FALSE(created.ok());
  CHECK(created.error().code() == ErrorCode::kDeadlineExceeded);
  CHECK_THAT(created.error().describe(), ContainsSubstring("agent"));
  CHECK(host.domain_count() == 0);
  CHECK(host.destroyed().size() == 1);
  CHECK(manager->list_zones().empty());
  CHECK(zone_dirs() == 0);
  CHECK(host.devices.attached().empty());  // released to the domain, gone with it
}

TEST_CASE_METHOD(Fixture, "a zone that crashes while booting fails fast with its console", "[zone-manager]") {
  open();
  host.set_agents_answer(false);
  std::thread crasher([&] {
    if (!eventually([&] { return host.domain_count() == 1; })) return;
    const uint32_t domid = host.list_domains()->at(0).domid;
    (void)host.write_console(domid, "Kernel panic - not syncing: VFS: Unable to mount root fs\n");
    std::this_thread::sleep_for(200ms);
    host.set_domain_state(domid, DomainRunState::kCrashed);
  });
  ZoneSpec spec;
  spec.name = "z";
  const auto t0 = std::chrono::steady_clock::now();
  auto created = manager->create_zone(spec);
  crasher.join();
  REQUIRE_FALSE(created.ok());
  CHECK(std::chrono::steady_clock::now() - t0 < 4s);  // not the 5 s agent timeout
  CHECK_THAT(created.error().describe(), ContainsSubstring("crashed"));
  CHECK_THAT(created.error().describe(), ContainsSubstring("Unable to mount root fs"));
  CHECK(host.domain_count() == 0);
  CHECK(zone_dirs() == 0);
}

// ---------------------------------------------------------------------------------------------
// containers

TEST_CASE_METHOD(Fixture, "a container's output goes to its CRI log before its exit is visible", "[zone-manager]") {
  open();
  const ZoneRecord z = zone();
  auto c = container(z, "hello", {"echo", "hi"});
  CHECK(c.state == ContainerState::kCreated);
  CHECK(c.zone_id == z.id);
  CHECK(c.image_id == image_id('a'));
  CHECK(c.vdev == "xvdb");
  CHECK(c.stream_id != 0);
  CHECK(c.log_path == zones_dir() + "/" + z.id + "/containers/" + c.id + ".log");
  CHECK(agent(z)->saw("CreateContainer " + c.id + " xvdb"));
  REQUIRE(agent(z)->container(c.id));
  CHECK(agent(z)->container(c.id)->argv == std::vector<std::string>{"echo", "hi"});

  REQUIRE(manager->start_container(c.id).ok());
  auto done = manager->wait_container(c.id, 5s);
  REQUIRE(done.ok());
  CHECK(done->state == ContainerState::kExited);
  CHECK(done->exit_code == 0);
  CHECK(done->signal == 0);
  CHECK(done->reason == "Completed");
  CHECK(done->started_at_ns > 0);
  CHECK(done->finished_at_ns >= done->started_at_ns);
  CHECK(log_records(c.log_path) == std::vector<std::string>{"stdout F hi"});
  CHECK(manager->start_container(c.id).error().code() == ErrorCode::kFailedPrecondition);  // not again

  auto dup = manager->create_container(z.id, c.spec);
  REQUIRE_FALSE(dup.ok());
  CHECK(dup.error().code() == ErrorCode::kAlreadyExists);
}

TEST_CASE_METHOD(Fixture, "stdout and stderr are tagged, a last partial line is a P record, the code is kept",
                 "[zone-manager]") {
  host.set_program("talk", [](const std::vector<std::string>&) {
    return FakeProgram{"line one\nno newline", "oops\n", 3, {}, false};
  });
  open();
  const ZoneRecord z = zone();
  ContainerSpec spec;
  spec.name = "talker";
  spec.image = kBusybox;
  spec.oci.command = {"talk"};
  spec.log_path = dir.file("talker.log");
  auto c = manager->create_container(z.id, spec);
  REQUIRE(c.ok());
  CHECK(c->log_path == dir.file("talker.log"));
  REQUIRE(manager->start_container(c->id).ok());
  auto done = manager->wait_container(c->id, 5s);
  REQUIRE(done.ok());
  CHECK(done->exit_code == 3);
  CHECK(done->reason == "Error");
  CHECK(log_records(dir.file("talker.log")) ==
        std::vector<std::string>{"stdout F line one", "stderr F oops", "stdout P no newline"});

  spec.name = "relative";
  spec.log_path = "relative.log";
  CHECK(manager->create_container(z.id, spec).error().code() == ErrorCode::kInvalidArgument);
}

TEST_CASE_METHOD(Fixture, "wait_container times out on a running container", "[zone-manager]") {
  open();
  const ZoneRecord z = zone();
  auto c = started(z, "sleeper", {"sleep"});
  CHECK(eventually([&] { return get(c.id).pid != 0; }));  // ContainerStarted told us its pid
  CHECK(get(c.id).state == ContainerState::kRunning);
  auto waited = manager->wait_container(c.id, 100ms);
  REQUIRE_FALSE(waited.ok());
  CHECK(waited.error().code() == ErrorCode::kDeadlineExceeded);
  CHECK(manager->wait_container("ffff", 10ms).error().code() == ErrorCode::kNotFound);
}

TEST_CASE_METHOD(Fixture, "an image not attached at boot is hot-added once, as the next disk", "[zone-manager]") {
  open();
  const ZoneRecord z = zone();
  auto a = container(z, "a", {"sleep"}, kAlpine);
  const auto added = host.added_disks();
  REQUIRE(added.size() == 1);
  CHECK(added[0].first == z.domid);
  CHECK(added[0].second.vdev == "xvdc");
  CHECK(added[0].second.target == "/dev/fake-loop1");
  CHECK(added[0].second.read_only);
  CHECK(a.vdev == "xvdc");
  CHECK(agent(z)->saw("CreateContainer " + a.id + " xvdc"));
  auto rec = manager->get_zone(z.id);
  REQUIRE(rec.ok());
  REQUIRE(rec->disks.size() == 2);
  CHECK(rec->disks[1].image_id == image_id('b'));
  CHECK(manager->image_in_use(image_id('b')));

  auto b = container(z, "b", {"sleep"}, kAlpine);
  CHECK(b.vdev == "xvdc");
  CHECK(host.added_disks().size() == 1);

  ContainerSpec missing;
  missing.name = "m";
  missing.image = "docker.io/library/nothere:1";
  missing.oci.command = {"sleep"};
  CHECK(manager->create_container(z.id, missing).error().code() == ErrorCode::kNotFound);
  CHECK(manager->list_containers(z.id).size() == 2);
}

TEST_CASE_METHOD(Fixture, "stop_container sends SIGTERM (or the image's stop signal) and waits", "[zone-manager]") {
  open();
  const ZoneRecord z = zone();
  auto c = started(z, "sleeper", {"sleep"});
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(manager->stop_container(c.id, 10s).ok());
  CHECK(std::chrono::steady_clock::now() - t0 < 3s);
  const auto stopped = get(c.id);
  CHECK(stopped.state == ContainerState::kExited);
  CHECK(stopped.signal == 15);
  CHECK(stopped.exit_code == 143);
  CHECK(agent(z)->saw("SignalContainer " + c.id + " 15"));
  CHECK_FALSE(agent(z)->saw("SignalContainer " + c.id + " 9"));
  CHECK(manager->stop_container(c.id, 10s).ok());  // idempotent
  CHECK(manager->stop_container("ffffffff", 1s).ok());

  auto q = container(z, "nginx", {"sleep"}, kNginx);
  REQUIRE(manager->start_container(q.id).ok());
  REQUIRE(manager->stop_container(q.id, 10s).ok());
  CHECK(agent(z)->saw("SignalContainer " + q.id + " 3"));  // the image says SIGQUIT
  CHECK(get(q.id).signal == 3);
}

TEST_CASE_METHOD(Fixture, "stop_container kills a container that ignores SIGTERM after the grace", "[zone-manager]") {
  open();
  const ZoneRecord z = zone();
  auto c = started(z, "stubborn", {"stubborn"});
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(manager->stop_container(c.id, 1s).ok());
  CHECK(std::chrono::steady_clock::now() - t0 >= 1s);
  CHECK(agent(z)->saw("SignalContainer " + c.id + " 15"));
  CHECK(agent(z)->saw("SignalContainer " + c.id + " 9"));
  CHECK(get(c.id).signal == 9);
  CHECK(get(c.id).exit_code == 137);
}

TEST_CASE_METHOD(Fixture, "update_container_resources sends the limits to the agent; an exited container is refused",
                 "[zone-manager]") {
  open();
  const ZoneRecord z = zone();
  auto c = started(z, "sleeper", {"sleep"});
  const std::string limits = R"({"memory":{"limit":67108864}})";
  REQUIRE(manager->update_container_resources(c.id, limits).ok());
  CHECK(agent(z)->saw("UpdateContainer " + c.id + " " + limits));
  CHECK(manager->update_container_resources("ffffffff", limits).error().code() == ErrorCode::kNotFound);
  REQUIRE(manager->stop_container(c.id, 10s).ok());
  auto refused = manager->update_container_resources(c.id, limits);
  CHECK(refused.error().code() == ErrorCode::kFailedPrecondition);
  CHECK_THAT(refused.error().message(), ContainsSubstring("not created or running"));
}

TEST_CASE_METHOD(Fixture, "remove_container forgets a container, its default log, and is idempotent",
                 "[zone-manager]") {
  open();
  const ZoneRecord z = zone();
  auto c = started(z, "hello", {"echo", "hi"});
  REQUIRE(manager->wait_container(c.id, 5s).ok());
  REQUIRE(exists(c.log_path));
  REQUIRE(manager->remove_container(c.id).ok());
  CHECK(agent(z)->saw("DeleteContainer " + c.id));
  CHECK_FALSE(agent(z)->container(c.id));
  CHECK(manager->get_container(c.id).error().code() == ErrorCode::kNotFound);
  CHECK_FALSE(exists(c.log_path));
  CHECK(manager->remove_container(c.id).ok());
  CHECK(manager->remove_container("ffffffff").ok());

  // a running one is killed first
  auto s = started(z, "sleeper", {"sleep"});
  REQUIRE(manager->remove_container(s.id).ok());
  CHECK(agent(z)->saw("SignalContainer " + s.id + " 9"));
  CHECK(agent(z)->saw("DeleteContainer " + s.id));
  CHECK(manager->list_containers("").empty());
  CHECK(manager->get_zone(z.id)->container_ids.empty());
}

// ---------------------------------------------------------------------------------------------
// exec and stats

TEST_CASE_METHOD(Fixture, "exec_sync collects output and the exit code, and kills on timeout", "[zone-manager]") {
  host.set_program("fail", [](const std::vector<std::string>&) {
    return FakeProgram{"partial", "bad\n", 2, {}, false};
  });
  open();
  const ZoneRecord z = zone();
  auto c = started(z, "sleeper", {"sleep"});
  ExecRequest req;
  req.container_id = c.id;

  req.args = {"echo", "hello", "world"};
  auto echoed = manager->exec_sync(req, 5s, 1 << 20);
  REQUIRE(echoed.ok());
  CHECK(echoed->exit_code == 0);
  CHECK(echoed->stdout_data == "hello world\n");
  CHECK(echoed->stderr_data.empty());
  CHECK_FALSE(echoed->output_truncated);

  req.args = {"fail"};
  auto failed = manager->exec_sync(req, 5s, 1 << 20);
  REQUIRE(failed.ok());
  CHECK(failed->exit_code == 2);
  CHECK(failed->stdout_data == "partial");
  CHECK(failed->stderr_data == "bad\n");

  req.args = {"echo", "hello"};
  auto truncated = manager->exec_sync(req, 5s, 3);
  REQUIRE(truncated.ok());
  CHECK(truncated->stdout_data == "hel");
  CHECK(truncated->output_truncated);

  req.args = {"sleep"};
  auto slow = manager->exec_sync(req, 200ms, 1 << 20);
  REQUIRE_FALSE(slow.ok());
  CHECK(slow.error().code() == ErrorCode::kDeadlineExceeded);
  const auto requests = agent(z)->requests();
  CHECK(std::any_of(requests.begin(), requests.end(),
                    [](const std::string& r) { return r.starts_with("SignalExec ") && r.ends_with(" 9"); }));
  CHECK(get(c.id).state == ContainerState::kRunning);  // the container itself lives on

  req.args = {};
  CHECK(manager->exec_sync(req, 1s, 100).error().code() == ErrorCode::kInvalidArgument);
}

TEST_CASE_METHOD(Fixture, "exec needs a running container", "[zone-manager]") {
  open();
  const ZoneRecord z = zone();
  auto c = container(z, "idle", {"sleep"});
  ExecRequest req;
  req.container_id = c.id;
  req.args = {"echo"};
  CHECK(manager->exec_sync(req, 1s, 100).error().code() == ErrorCode::kFailedPrecondition);
  req.container_id = "ffffffff";
  CHECK(manager->exec_sync(req, 1s, 100).error().code() == ErrorCode::kNotFound);
}

TEST_CASE_METHOD(Fixture, "an exec session streams stdin and output, and can be signalled", "[zone-manager]") {
  open();
  const ZoneRecord z = zone();
  auto c = started(z, "sleeper", {"sleep"});
  std::mutex mu;
  std::string out;
  auto sink = [&](int fd, std::string_view data) {
    std::lock_guard lock(mu);
    out += std::to_string(fd) + ":" + std::string(data) + ";";
  };

  ExecRequest req;
  req.container_id = c.id;
  req.args = {"cat"};
  req.stdin = true;
  auto session = manager->exec(req, sink);
  REQUIRE(session.ok());
  REQUIRE((*session)->write_stdin("ping\n").ok());
  REQUIRE((*session)->write_stdin("pong").ok());
  REQUIRE((*session)->resize(24, 80).ok());
  auto early = (*session)->wait(50ms);
  REQUIRE(early.ok());
  CHECK_FALSE(early->has_value());  // still reading stdin
  REQUIRE((*session)->close_stdin().ok());
  auto result = (*session)->wait(5s);
  REQUIRE(result.ok());
  REQUIRE(result->has_value());
  CHECK((*result)->exit_code == 0);
  {
    std::lock_guard lock(mu);
    CHECK(out == "1:ping\n;1:pong;");
  }
  const auto requests = agent(z)->requests();
  CHECK(std::any_of(requests.begin(), requests.end(), [](const std::string& r) { return r.ends_with(" 24x80"); }));

  req.args = {"sleep"};
  req.stdin = false;
  auto sleeper = manager->exec(req, sink);
  REQUIRE(sleeper.ok());
  REQUIRE((*sleeper)->signal(15).ok());
  auto ended = (*sleeper)->wait(5s);
  REQUIRE(ended.ok());
  REQUIRE(ended->has_value());
  CHECK((*ended)->signal == 15);
  CHECK((*ended)->exit_code == 143);
}

TEST_CASE_METHOD(Fixture, "stats reports the zone and only this zone's containers", "[zone-manager]") {
  open();
  const ZoneRecord z = zone();
  auto c = started(z, "sleeper", {"sleep"});
  auto stats = manager->stats(z.id);
  REQUIRE(stats.ok());
  CHECK(stats->memory_total_bytes == 256ull << 20);
  CHECK(stats->memory_available_bytes == 200ull << 20);
  REQUIRE(stats->containers.size() == 1);  // the agent's made-up one is dropped
  CHECK(stats->containers[0].id == c.id);
}

// ---------------------------------------------------------------------------------------------
// zones ending

TEST_CASE_METHOD(Fixture, "stop_zone stops containers, asks the agent to shut down and destroys the domain",
                 "[zone-manager]") {
  open();
  const ZoneRecord z = zone();
  auto a = agent(z);
  auto c = started(z, "sleeper", {"sleep"});
  REQUIRE(host.write_console(z.domid, "zone login: \n").ok());
  REQUIRE(eventually([&] { return manager->console(z.id, 1000).value().find("zone login") != std::string::npos; }));

  REQUIRE(manager->stop_zone(z.id, 5s).ok());
  CHECK(a->saw("SignalContainer " + c.id + " 15"));
  CHECK(a->saw("Shutdown"));
  auto rec = manager->get_zone(z.id);
  REQUIRE(rec.ok());
  CHECK(rec->state == ZoneState::kStopped);
  CHECK(rec->reason == "Stopped");
  CHECK(rec->domid == 0);
  CHECK(rec->finished_at_ns > 0);
  CHECK_FALSE(host.has_domain(z.domid));
  CHECK(host.devices.attached().empty());
  CHECK(get(c.id).state == ContainerState::kExited);
  CHECK(get(c.id).exit_code == 143);
  CHECK_FALSE(manager->image_in_use(image_id('a')));
  CHECK_THAT(manager->console(z.id, 1000).value(), ContainsSubstring("zone login"));  // kept after stop
  CHECK(manager->stop_zone(z.id, 5s).ok());                                           // idempotent
  CHECK(manager->create_container(z.id, ContainerSpec{"x", kBusybox, {}, "", {}}).error().code() ==
        ErrorCode::kFailedPrecondition);

  REQUIRE(manager->remove_zone(z.id).ok());
  CHECK(manager->get_zone(z.id).error().code() == ErrorCode::kNotFound);
  CHECK(zone_dirs() == 0);
  CHECK(manager->remove_zone(z.id).ok());
}

TEST_CASE_METHOD(Fixture, "remove_zone destroys a running zone's domain", "[zone-manager]") {
  open();
  const ZoneRecord z = zone();
  started(z, "sleeper", {"sleep"});
  REQUIRE(manager->remove_zone("z1").ok());
  CHECK_FALSE(host.has_domain(z.domid));
  CHECK(manager->list_zones().empty());
  CHECK(manager->list_containers("").empty());
  CHECK(zone_dirs() == 0);
  CHECK(host.devices.attached().empty());
}

TEST_CASE_METHOD(Fixture, "a crashed domain fails the zone with the console tail", "[zone-manager]") {
  open();
  const ZoneRecord z = zone();
  auto c = started(z, "sleeper", {"sleep"});
  REQUIRE(host.write_console(z.domid, "booted\nKernel panic - not syncing: fake oops\n").ok());
  REQUIRE(eventually([&] { return manager->console(z.id, 4096).value().find("fake oops") != std::string::npos; }));
  host.set_domain_state(z.domid, DomainRunState::kCrashed);
  REQUIRE(eventually([&] { return state_of(z.id) == ZoneState::kFailed; }));
  auto rec = manager->get_zone(z.id);
  REQUIRE(rec.ok());
  CHECK(rec->reason == "Crashed");
  CHECK_THAT(rec->message, ContainsSubstring("Kernel panic - not syncing: fake oops"));
  CHECK(eventually([&] { return !host.has_domain(z.domid); }));  // destroyed once its console was read
  const auto after = get(c.id);
  CHECK(after.state == ContainerState::kExited);
  CHECK(after.reason == "ZoneStopped");
}

TEST_CASE_METHOD(Fixture, "a domain that vanishes stops the zone and ends its containers", "[zone-manager]") {
  open();
  const ZoneRecord z = zone();
  auto done = started(z, "hello", {"echo", "hi"});
  REQUIRE(manager->wait_container(done.id, 5s).ok());
  auto running = started(z, "sleeper", {"sleep"});
  host.vanish(z.domid);
  REQUIRE(eventually([&] { return state_of(z.id) == ZoneState::kStopped; }));
  auto rec = manager->get_zone(z.id);
  REQUIRE(rec.ok());
  CHECK(rec->reason == "DomainGone");
  CHECK(rec->domid == 0);
  CHECK(get(running.id).state == ContainerState::kExited);
  CHECK(get(running.id).exit_code == 255);
  CHECK(get(running.id).reason == "ZoneStopped");
  CHECK(get(done.id).exit_code == 0);  // already exited: untouched
  CHECK(get(done.id).reason == "Completed");
  auto waited = manager->wait_container(running.id, 1s);
  REQUIRE(waited.ok());
}

TEST_CASE_METHOD(Fixture, "a dropped agent connection is re-established and missed exits are collected",
                 "[zone-manager]") {
  open();
  const ZoneRecord z = zone();
  auto a = agent(z);
  auto c = started(z, "sleeper", {"sleep"});
  host.set_agents_answer(false);  // the agent restarts its channel and is slow to come back
  a->stop();
  REQUIRE(eventually([&] { return !manager->get_zone(z.id)->agent_connected; }));
  REQUIRE(a->exit_container(c.id, 5).ok());  // nobody to tell: only ListContainers knows
  CHECK(get(c.id).state == ContainerState::kRunning);
  host.set_agents_answer(true);  // it answers the daemon's pending request
  REQUIRE(eventually([&] { return get(c.id).state == ContainerState::kExited; }));
  CHECK(get(c.id).exit_code == 5);
  CHECK(a->connections() == 2);
  CHECK(eventually([&] { return manager->get_zone(z.id)->agent_connected; }));
  CHECK(state_of(z.id) == ZoneState::kRunning);
}

TEST_CASE_METHOD(Fixture, "a zone that powers itself off is stopped", "[zone-manager]") {
  open();
  const ZoneRecord z = zone();
  host.set_domain_state(z.domid, DomainRunState::kPoweroff);
  REQUIRE(eventually([&] { return state_of(z.id) == ZoneState::kStopped; }));
  CHECK(manager->get_zone(z.id)->reason == "PoweredOff");
  CHECK(eventually([&] { return !host.has_domain(z.domid); }));
}

TEST_CASE_METHOD(Fixture, "stop_zone destroys the domain even when the agent hangs", "[zone-manager]") {
  options.request_timeout = 300ms;
  open();
  const ZoneRecord z = zone();
  auto a = agent(z);
  auto c = started(z, "sleeper", {"sleep"});
  a->set_hung(true);
  REQUIRE(manager->stop_zone(z.id, 1s).ok());
  CHECK_FALSE(host.has_domain(z.domid));
  CHECK(state_of(z.id) == ZoneState::kStopped);
  CHECK(get(c.id).state == ContainerState::kExited);
  CHECK(get(c.id).reason == "ZoneStopped");
}

TEST_CASE_METHOD(Fixture, "what a zone claims is checked: other zones' containers, clocks", "[zone-manager]") {
  open();
  const ZoneRecord z1 = zone();
  ZoneSpec spec;
  spec.name = "z2";
  const ZoneRecord z2 = zone(spec);
  auto other = started(z2, "other", {"sleep"});
  auto mine = started(z1, "mine", {"sleep"});
  auto liar = agent(z1);

  idm::v1::Event foreign;  // z1's agent says z2's container exited
  foreign.mutable_container_exited()->set_container_id(other.id);
  foreign.mutable_container_exited()->set_exit_code(1);
  liar->send_event(foreign);
  idm::v1::Event future;  // its own container, with a finish time far in the future
  future.mutable_container_exited()->set_container_id(mine.id);
  future.mutable_container_exited()->set_exit_code(0);
  future.mutable_container_exited()->set_finished_at_unix_ns(std::numeric_limits<int64_t>::max());
  liar->send_event(future);

  REQUIRE(eventually([&] { return get(mine.id).state == ContainerState::kExited; }));
  const auto now =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  CHECK(get(mine.id).finished_at_ns <= now);
  CHECK(get(mine.id).finished_at_ns >= get(mine.id).started_at_ns);
  CHECK(get(other.id).state == ContainerState::kRunning);  // untouched
  CHECK(state_of(z2.id) == ZoneState::kRunning);
}

TEST_CASE_METHOD(Fixture, "an OOM kill the agent reports is the reason OOMKilled; a plain SIGKILL is Error",
                 "[zone-manager]") {
  open();
  const ZoneRecord z = zone();
  auto hog = started(z, "hog", {"sleep"});
  auto plain = started(z, "plain", {"sleep"});
  auto a = agent(z);
  idm::v1::Event oom;
  oom.mutable_container_exited()->set_container_id(hog.id);
  oom.mutable_container_exited()->set_signal(9);
  oom.mutable_container_exited()->set_oom_killed(true);
  a->send_event(oom);
  idm::v1::Event killed;
  killed.mutable_container_exited()->set_container_id(plain.id);
  killed.mutable_container_exited()->set_signal(9);
  a->send_event(killed);
  REQUIRE(eventually(
      [&] { return get(hog.id).state == ContainerState::kExited && get(plain.id).state == ContainerState::kExited; }));
  CHECK(get(hog.id).exit_code == 137);
  CHECK(get(hog.id).reason == "OOMKilled");
  CHECK(get(plain.id).exit_code == 137);
  CHECK(get(plain.id).reason == "Error");
}

TEST_CASE_METHOD(Fixture, "the console keeps the newest output within its bound", "[zone-manager]") {
  options.console_log_bytes = 1024;
  open();
  const ZoneRecord z = zone();
  for (int i = 0; i < 40; ++i) {
    const std::string line = "line " + std::to_string(i) + " " + std::string(90, '.') + "\n";
    REQUIRE(host.write_console(z.domid, line).ok());
    REQUIRE(eventually([&] { return manager->console(z.id, 1 << 20).value().ends_with(line); }));
  }
  const std::string all = manager->console(z.id, 1 << 20).value();
  CHECK(all.size() <= 1024);
  CHECK_THAT(all, ContainsSubstring("line 39 "));
  CHECK_THAT(all, !ContainsSubstring("line 0 "));
  CHECK(manager->console(z.id, 10).value().size() == 10);
  CHECK(manager->console("nope", 10).error().code() == ErrorCode::kNotFound);
}

// ---------------------------------------------------------------------------------------------
// daemon restarts

TEST_CASE_METHOD(Fixture, "after a restart, exits that happened meanwhile are known and output continues",
                 "[zone-manager]") {
  open();
  const ZoneRecord z = zone();
  auto a = agent(z);
  auto talker = started(z, "talker", {"sleep"});
  auto quitter = started(z, "quitter", {"sleep"});
  auto done = started(z, "done", {"echo", "before"});
  REQUIRE(manager->wait_container(done.id, 5s).ok());
  REQUIRE(a->write_output(talker.id, 1, "first\n").ok());
  REQUIRE(eventually([&] { return log_records(talker.log_path).size() == 1; }));

  manager.reset();  // the daemon goes away; the zone keeps running
  REQUIRE(eventually([&] { return !a->connected(); }));
  REQUIRE(a->exit_container(quitter.id, 7).ok());
  REQUIRE(a->write_output(talker.id, 1, "while down\n").ok());

  open();
  REQUIRE(eventually([&] { return get(quitter.id).state == ContainerState::kExited; }));
  CHECK(get(quitter.id).exit_code == 7);
  CHECK(get(quitter.id).reason == "Error");
  CHECK(get(done.id).exit_code == 0);
  CHECK(get(talker.id).state == ContainerState::kRunning);
  CHECK(a->connections() == 2);
  CHECK(a->saw("ListContainers"));
  CHECK(manager->get_zone(z.id)->agent_connected);
  CHECK(manager->get_zone(z.id)->state == ZoneState::kRunning);
  REQUIRE(eventually([&] { return log_records(talker.log_path).size() == 2; }));

  REQUIRE(a->write_output(talker.id, 2, "later\n").ok());
  REQUIRE(eventually([&] { return log_records(talker.log_path).size() == 3; }));
  CHECK(log_records(talker.log_path) ==
        std::vector<std::string>{"stdout F first", "stdout F while down", "stderr F later"});

  REQUIRE(manager->stop_container(talker.id, 5s).ok());  // the reconnected channel works both ways
  CHECK(get(talker.id).exit_code == 143);
}

TEST_CASE_METHOD(Fixture, "a destroyed manager no longer hears from the hypervisor", "[zone-manager]") {
  open();
  CHECK(host.has_domain_change_callback());
  const ZoneRecord z = zone();
  manager.reset();
  CHECK_FALSE(host.has_domain_change_callback());
  host.set_domain_state(z.domid, DomainRunState::kCrashed);  // nobody to tell: must not crash
  open();
  CHECK(host.has_domain_change_callback());
  REQUIRE(eventually([&] { return state_of(z.id) == ZoneState::kFailed; }));
  CHECK(manager->get_zone(z.id)->reason == "Crashed");
}

TEST_CASE_METHOD(Fixture, "after a restart, a zone whose domain is gone is stopped", "[zone-manager]") {
  open();
  const ZoneRecord z = zone();
  auto c = started(z, "sleeper", {"sleep"});
  manager.reset();
  host.vanish(z.domid);
  open();
  REQUIRE(eventually([&] { return state_of(z.id) == ZoneState::kStopped; }));
  CHECK(manager->get_zone(z.id)->reason == "DomainGone");
  CHECK(get(c.id).state == ContainerState::kExited);
}

TEST_CASE_METHOD(Fixture, "after a restart, stopped zones stay as they were", "[zone-manager]") {
  open();
  const ZoneRecord z = zone();
  auto c = started(z, "hello", {"echo", "hi"});
  REQUIRE(manager->wait_container(c.id, 5s).ok());
  REQUIRE(manager->stop_zone(z.id, 1s).ok());
  restart();
  auto rec = manager->get_zone(z.id);
  REQUIRE(rec.ok());
  CHECK(rec->state == ZoneState::kStopped);
  CHECK(rec->reason == "Stopped");
  CHECK(get(c.id).exit_code == 0);
  CHECK(log_records(get(c.id).log_path) == std::vector<std::string>{"stdout F hi"});
  CHECK(host.created_specs().size() == 1);  // nothing was rebuilt
}

TEST_CASE_METHOD(Fixture, "after a restart, a stop that the daemon's death interrupted is finished", "[zone-manager]") {
  open();
  const ZoneRecord z = zone();
  auto c = started(z, "sleeper", {"sleep"});
  manager.reset();
  // the daemon died inside stop_zone: the zone is persisted as stopping, its domain still runs
  ZoneStore store(options.state_dir);
  auto all = store.load_all();
  REQUIRE(all.size() == 1);
  all[0].zone.state = ZoneState::kStopping;
  REQUIRE(store.save(all[0]).ok());
  REQUIRE(host.has_domain(z.domid));
  open();
  REQUIRE(eventually([&] { return state_of(z.id) == ZoneState::kStopped; }));
  CHECK(manager->get_zone(z.id)->reason == "Stopped");
  CHECK_FALSE(host.has_domain(z.domid));
  CHECK(get(c.id).state == ContainerState::kExited);
}

TEST_CASE_METHOD(Fixture, "after a restart, a zone left in state creating is removed with its domain",
                 "[zone-manager]") {
  const std::string id(64, '7');
  StoredZone stored;
  stored.zone.id = id;
  stored.zone.spec.name = "half";
  stored.zone.state = ZoneState::kCreating;
  stored.zone.domain_name = "zoned-" + id.substr(0, 16);
  stored.zone.uuid = "77777777-7777-7777-7777-777777777777";
  ZoneStore store(options.state_dir);
  REQUIRE(store.init().ok());
  REQUIRE(store.create_zone_dir(id).ok());
  REQUIRE(store.save(stored).ok());
  DomainSpec leftover;
  leftover.name = stored.zone.domain_name;
  leftover.uuid = stored.zone.uuid;
  const uint32_t domid = host.add_domain(leftover);

  open();
  CHECK(manager->list_zones().empty());
  CHECK(manager->get_zone(id).error().code() == ErrorCode::kNotFound);
  CHECK_FALSE(host.has_domain(domid));
  CHECK(zone_dirs() == 0);
}

}  // namespace
}  // namespace zoned::zone_runtime
