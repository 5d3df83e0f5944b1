// Container lifecycle through the agent's IDM interface, with fake-crun.
#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "agent_harness.h"

using namespace zoned::testing;
using Catch::Matchers::ContainsSubstring;
using zoned::idm::v1::ContainerState;
using zoned::idm::v1::Error;
using zoned::idm::v1::STREAM_FD_STDERR;
using zoned::idm::v1::STREAM_FD_STDOUT;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

void create_and_start(AgentHarness& h, const std::string& id, std::uint32_t stream,
                      const std::vector<std::string>& args, const std::string& device = "xvdb") {
  const auto created = h.call(create_request(id, stream, args, device));
  INFO(created.DebugString());
  REQUIRE(created.has_ack());
  const auto started = h.call(start_request(id));
  INFO(started.DebugString());
  REQUIRE(started.has_ack());
}

Error::Code error_code(const zoned::idm::v1::Response& r) {
  return r.has_error() ? r.error().code() : Error::CODE_UNSPECIFIED;
}

}  // namespace

TEST_CASE("create and start: stdout and stderr apart, exit code, events in order, wait answered") {
  AgentHarness h;
  h.make_device("xvdb");
  REQUIRE(h.connect());
  create_and_start(h, "c1", 7, {"/bin/sh", "-c", "echo to-out; echo to-err >&2; echo $FROM_SPEC; exit 7"});
  const auto wait_id = h.send(wait_request("c1"));
  REQUIRE(h.run_until([&] { return h.container_exit("c1").has_value(); }));

  CHECK(h.output(7, STREAM_FD_STDOUT) == "to-out\n1\n");
  CHECK(h.output(7, STREAM_FD_STDERR) == "to-err\n");
  const auto exit = *h.container_exit("c1");
  CHECK(exit.exit_code() == 7);
  CHECK(exit.signal() == 0);
  CHECK(exit.started_at_unix_ns() > 0);
  CHECK(exit.finished_at_unix_ns() >= exit.started_at_unix_ns());
  // Output may come before ContainerStarted (the process runs before crun start returns), but
  // the exit comes last: after the start and after both eofs.
  const auto& t = h.trace();
  REQUIRE(t.size() == 4);
  CHECK(std::count(t.begin(), t.end(), "started:c1") == 1);
  CHECK(t[3] == "exited:c1");

  std::optional<zoned::idm::v1::Response> waited;
  REQUIRE(h.run_until([&] { return (waited = h.take_response(wait_id)).has_value(); }));
  REQUIRE(waited->has_container_exited());
  CHECK(waited->container_exited().exit_code() == 7);
  // A wait after the exit is answered at once.
  CHECK(h.call(wait_request("c1")).container_exited().exit_code() == 7);
}

TEST_CASE("the bundle's config.json: root.path is the overlay, cgroupsPath the agent's, the rest kept") {
  AgentHarness h;
  h.make_device("xvdb");
  REQUIRE(h.connect());
  REQUIRE(h.call(create_request("cfg", 1, {"/bin/true"})).has_ack());
  const std::string bundle = h.options().state_dir + "/containers/cfg";
  const auto config = nlohmann::json::parse(slurp(bundle + "/config.json"));
  CHECK(config["root"]["path"] == bundle + "/rootfs");
  CHECK(config["root"]["readonly"] == false);
  CHECK(config["linux"]["cgroupsPath"] == "/zoned/cfg");
  CHECK(config["process"]["args"] == nlohmann::json::array({"/bin/true"}));
  CHECK(h.mounts().mounted().count(h.options().state_dir + "/images/xvdb") == 1);
  CHECK(h.mounts().mounted().count(bundle + "/rootfs") == 1);
  REQUIRE(h.call(delete_request("cfg")).has_ack());
}

TEST_CASE("the overlay's upper directory has the image root's mode, so \"/\" is not root-only") {
  AgentHarness h;
  h.make_device("xvdb");
  REQUIRE(::chmod((h.options().dev_dir + "/xvdb").c_str(), 0751) == 0);
  REQUIRE(h.connect());
  REQUIRE(h.call(create_request("modes", 1, {"/bin/true"})).has_ack());
  struct stat st {};
  REQUIRE(::stat((h.options().state_dir + "/containers/modes/upper").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0751);
}

TEST_CASE("a container killed by a signal reports the signal") {
  AgentHarness h;
  h.make_device("xvdb");
  REQUIRE(h.connect());
  create_and_start(h, "sleeper", 3, {"/bin/sleep", "30"});
  REQUIRE(h.call(signal_request("sleeper", 9)).has_ack());
  REQUIRE(h.run_until([&] { return h.container_exit("sleeper").has_value(); }));
  CHECK(h.container_exit("sleeper")->signal() == 9);
  CHECK(h.container_exit("sleeper")->exit_code() == 0);
  CHECK_FALSE(h.container_exit("sleeper")->oom_killed());  // no memory.events: no OOM kill
  // Signalling an exited container is a no-op, not an error.
  CHECK(h.call(signal_request("sleeper", 15)).has_ack());
}

TEST_CASE("a container whose cgroup counted an OOM kill reports it; other kills do not") {
  AgentHarness h;
  h.make_device("xvdb");
  REQUIRE(h.connect());
  const std::string cgroups = h.options().cgroup_root + "/zoned/";
  REQUIRE(::system(("mkdir -p " + cgroups + "hog " + cgroups + "calm").c_str()) == 0);
  std::ofstream(cgroups + "hog/memory.events") << "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n";
  std::ofstream(cgroups + "calm/memory.events") << "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n";
  create_and_start(h, "hog", 3, {"/bin/sleep", "30"});
  create_and_start(h, "calm", 5, {"/bin/sleep", "30"});
  REQUIRE(h.call(signal_request("hog", 9)).has_ack());
  REQUIRE(h.call(signal_request("calm", 9)).has_ack());
  REQUIRE(h.run_until([&] { return h.container_exit("hog").has_value() && h.container_exit("calm").has_value(); }));
  CHECK(h.container_exit("hog")->oom_killed());
  CHECK(h.container_exit("hog")->signal() == 9);
  CHECK_FALSE(h.container_exit("calm")->oom_killed());
}

TEST_CASE("all output is sent before the exit event") {
  AgentHarness h;
  h.make_device("xvdb");
  REQUIRE(h.connect());
  // ~1.1 MB on stdout, more than a pipe, a chunk and the outbound high-water mark.
  create_and_start(h, "big", 5, {"/bin/sh", "-c", "seq 1 150000; echo done >&2"});
  REQUIRE(h.run_until([&] { return h.container_exit("big").has_value(); }));
  std::string expected;
  for (int i = 1; i <= 150000; ++i) expected += std::to_string(i) + "\n";
  CHECK(h.output(5, STREAM_FD_STDOUT) == expected);
  CHECK(h.output(5, STREAM_FD_STDERR) == "done\n");
  REQUIRE(h.trace().back() == "exited:big");
}

TEST_CASE("back-pressure: a daemon that stops reading loses nothing, and the container waits for it") {
  AgentHarness h;
  h.make_device("xvdb");
  REQUIRE(h.connect());
  // 8 MB: far more than the pipe, the socket buffers and the agent's outbound limit together.
  create_and_start(h, "flood", 9, {"/bin/sh", "-c", "seq 1 1000000"});
  h.run_without_reading(std::chrono::milliseconds(1500));
  h.step();
  CHECK_FALSE(h.container_exit("flood").has_value());  // blocked on its full pipe, not lost
  REQUIRE(h.connected());
  REQUIRE(h.run_until([&] { return h.container_exit("flood").has_value(); }, std::chrono::seconds(60)));
  std::string expected;
  expected.reserve(7000000);
  for (int i = 1; i <= 1000000; ++i) expected += std::to_string(i) + "\n";
  const std::string got = h.output(9, STREAM_FD_STDOUT);
  CHECK(got.size() == expected.size());
  CHECK(got == expected);
  CHECK(h.container_exit("flood")->exit_code() == 0);
  CHECK(h.hellos() == 1);  // never reconnected
}

TEST_CASE("stdin: data and eof from the daemon reach the container") {
  AgentHarness h;
  h.make_device("xvdb");
  REQUIRE(h.connect());
  auto create = create_request("cat", 4, {"/bin/cat"});
  create.mutable_create_container()->set_stdin(true);
  REQUIRE(h.call(create).has_ack());
  REQUIRE(h.call(start_request("cat")).has_ack());
  h.send_stdin(4, "hello ", false);
  h.send_stdin(4, "world\n", true);
  REQUIRE(h.run_until([&] { return h.container_exit("cat").has_value(); }));
  CHECK(h.output(4, STREAM_FD_STDOUT) == "hello world\n");
}

TEST_CASE("a tty container streams the pty as stdout") {
  AgentHarness h;
  h.make_device("xvdb");
  REQUIRE(h.connect());
  REQUIRE(h.call(create_request("tty", 11, {"/bin/sh", "-c", "test -t 1 && echo is-a-tty; exit 2"}, "xvdb", true))
              .has_ack());
  REQUIRE(h.call(start_request("tty")).has_ack());
  REQUIRE(h.run_until([&] { return h.container_exit("tty").has_value(); }));
  CHECK_THAT(h.output(11, STREAM_FD_STDOUT), ContainsSubstring("is-a-tty"));
  CHECK(h.output(11, STREAM_FD_STDERR).empty());
  CHECK(h.container_exit("tty")->exit_code() == 2);
}

TEST_CASE("list shows created, running and exited containers with their details") {
  AgentHarness h;
  h.make_device("xvdb");
  REQUIRE(h.connect());
  REQUIRE(h.call(create_request("made", 1, {"/bin/true"})).has_ack());
  create_and_start(h, "runs", 2, {"/bin/sleep", "30"});
  create_and_start(h, "ended", 3, {"/bin/sh", "-c", "exit 4"});
  REQUIRE(h.run_until([&] { return h.container_exit("ended").has_value(); }));
  const auto list = h.call(list_request());
  REQUIRE(list.has_container_list());
  std::map<std::string, ContainerState> states;
  for (const auto& s : list.container_list().containers()) states[s.container_id()] = s;
  REQUIRE(states.size() == 3);
  CHECK(states["made"].status() == ContainerState::STATUS_CREATED);
  CHECK(states["made"].created_at_unix_ns() > 0);
  CHECK(states["runs"].status() == ContainerState::STATUS_RUNNING);
  CHECK(states["runs"].pid() > 1);
  CHECK(states["runs"].stream_id() == 2);
  CHECK(states["ended"].status() == ContainerState::STATUS_EXITED);
  CHECK(states["ended"].pid() == 0);
  CHECK(states["ended"].exit().exit_code() == 4);
  REQUIRE(h.call(signal_request("runs", 9)).has_ack());
  REQUIRE(h.run_until([&] { return h.container_exit("runs").has_value(); }));
}

TEST_CASE("delete: refused while running; then bundle, overlay and (with its last user) the image go") {
  AgentHarness h;
  h.make_device("xvdb");
  REQUIRE(h.connect());
  create_and_start(h, "a", 1, {"/bin/sleep", "30"});
  REQUIRE(h.call(create_request("b", 2, {"/bin/true"})).has_ack());  // same device: one image mount
  const std::string image = h.options().state_dir + "/images/xvdb";
  CHECK(error_code(h.call(delete_request("a"))) == Error::CODE_FAILED_PRECONDITION);

  REQUIRE(h.call(delete_request("b")).has_ack());  // created, never started: allowed
  CHECK_FALSE(exists(h.options().state_dir + "/containers/b"));
  CHECK(h.mounts().mounted().count(image) == 1);  // still used by a

  REQUIRE(h.call(signal_request("a", 15)).has_ack());
  REQUIRE(h.run_until([&] { return h.container_exit("a").has_value(); }));
  REQUIRE(h.call(delete_request("a")).has_ack());
  CHECK_FALSE(exists(h.options().state_dir + "/containers/a"));
  CHECK(h.mounts().mounted().empty());
  CHECK_FALSE(exists(image));
  CHECK(h.call(list_request()).container_list().containers_size() == 0);
  CHECK(error_code(h.call(delete_request("a"))) == Error::CODE_NOT_FOUND);
  // The id can be used again.
  REQUIRE(h.call(create_request("a", 1, {"/bin/true"})).has_ack());
}

TEST_CASE("update: crun update gets the resources of a created or running container; exited ones are refused") {
  AgentHarness h;
  h.make_device("xvdb");
  REQUIRE(h.connect());
  REQUIRE(h.call(create_request("c", 1, {"/bin/sleep", "30"})).has_ack());
  const std::string applied = h.options().crun_root + "/c/resources.json";
  const std::string limits = R"({"cpu":{"quota":50000,"period":100000},"memory":{"limit":268435456}})";
  auto created = h.call(update_request("c", limits));  // created, not started yet: allowed
  INFO(created.DebugString());
  REQUIRE(created.has_ack());
  CHECK(nlohmann::json::parse(slurp(applied)) == nlohmann::json::parse(limits));
  REQUIRE(h.call(start_request("c")).has_ack());
  REQUIRE(h.call(update_request("c", R"({"pids":{"limit":64}})")).has_ack());
  CHECK(nlohmann::json::parse(slurp(applied))["pids"]["limit"] == 64);

  // crun's failure is passed on with its message; bad JSON never reaches crun.
  auto failed = h.call(update_request("c", R"({"fake-crun.fail":"update"})"));
  CHECK(error_code(failed) == Error::CODE_INTERNAL);
  CHECK_THAT(failed.error().message(), ContainsSubstring("crun update c") && ContainsSubstring("on purpose"));
  CHECK(error_code(h.call(update_request("c", "[1,2]"))) == Error::CODE_INVALID_ARGUMENT);
  CHECK(error_code(h.call(update_request("c", "{not json"))) == Error::CODE_INVALID_ARGUMENT);
  CHECK(error_code(h.call(update_request("nope", "{}"))) == Error::CODE_NOT_FOUND);

  REQUIRE(h.call(signal_request("c", 9)).has_ack());
  REQUIRE(h.run_until([&] { return h.container_exit("c").has_value(); }));
  CHECK(error_code(h.call(update_request("c", "{}"))) == Error::CODE_FAILED_PRECONDITION);
}

TEST_CASE("user and group names are resolved in the image") {
  AgentHarness h;
  h.make_device("xvdb");
  REQUIRE(h.connect());
  auto create = create_request("u", 1, {"/bin/true"});
  create.mutable_create_container()->set_username("app");
  REQUIRE(h.call(create).has_ack());
  const auto config = nlohmann::json::parse(slurp(h.options().state_dir + "/containers/u/config.json"));
  CHECK(config["process"]["user"]["uid"] == 1000);
  CHECK(config["process"]["user"]["gid"] == 1000);
  CHECK(config["process"]["user"]["additionalGids"] == nlohmann::json::array({10, 29}));

  auto unknown = create_request("nobody-here", 2, {"/bin/true"});
  unknown.mutable_create_container()->set_username("ghost");
  const auto refused = h.call(unknown);
  CHECK(error_code(refused) == Error::CODE_NOT_FOUND);
  CHECK_THAT(refused.error().message(), ContainsSubstring("user ghost not found in the image"));
  CHECK_FALSE(exists(h.options().state_dir + "/containers/nobody-here"));  // undone
}

TEST_CASE("bad requests are answered with errors and leave nothing behind") {
  AgentHarness h([](zoned::agent::AgentOptions& o) { o.crun_timeout = std::chrono::milliseconds(1500); });
  h.make_device("xvdb");
  REQUIRE(h.connect());
  CHECK(error_code(h.call(start_request("none"))) == Error::CODE_NOT_FOUND);
  CHECK(error_code(h.call(signal_request("none", 9))) == Error::CODE_NOT_FOUND);
  CHECK(error_code(h.call(wait_request("none"))) == Error::CODE_NOT_FOUND);
  CHECK(error_code(h.call(create_request("..", 1, {"/bin/true"}))) == Error::CODE_INVALID_ARGUMENT);

  auto bad_json = create_request("badjson", 1, {"/bin/true"});
  bad_json.mutable_create_container()->set_oci_config_json("{not json");
  CHECK(error_code(h.call(bad_json)) == Error::CODE_INVALID_ARGUMENT);

  const auto no_device = h.call(create_request("nodev", 1, {"/bin/true"}, "xvdz"));
  CHECK(error_code(no_device) == Error::CODE_NOT_FOUND);
  CHECK_THAT(no_device.error().message(), ContainsSubstring("did not appear"));

  const auto crun_fails =
      h.call(create_request("fails", 1, {"/bin/true"}, "xvdb", false, R"({"fake-crun.fail":"create"})"));
  CHECK(error_code(crun_fails) == Error::CODE_INTERNAL);
  CHECK_THAT(crun_fails.error().message(), ContainsSubstring("create failed on purpose"));

  const auto hangs = h.call(create_request("hangs", 1, {"/bin/true"}, "xvdb", false, R"({"fake-crun.hang":"create"})"));
  CHECK(error_code(hangs) == Error::CODE_INTERNAL);
  CHECK_THAT(hangs.error().message(), ContainsSubstring("timed out"));

  REQUIRE(h.call(create_request("ok", 1, {"/bin/true"})).has_ack());
  CHECK(error_code(h.call(create_request("ok", 2, {"/bin/true"}))) == Error::CODE_ALREADY_EXISTS);
  CHECK(error_code(h.call(create_request("other", 1, {"/bin/true"}))) == Error::CODE_ALREADY_EXISTS);  // stream 1
  CHECK(error_code(h.call(exec_request("ok", "e1", 5, {"/bin/true"}))) == Error::CODE_FAILED_PRECONDITION);

  // Nothing is left of the failed creates, and the agent still serves.
  const auto list = h.call(list_request());
  REQUIRE(list.container_list().containers_size() == 1);
  for (const char* id : {"badjson", "nodev", "fails", "hangs"}) {
    CHECK_FALSE(exists(h.options().state_dir + "/containers/" + id));
  }
  zoned::idm::v1::Request ping;
  ping.mutable_ping()->set_nonce(42);
  CHECK(h.call(ping).pong().nonce() == 42);
}

TEST_CASE("a failing crun start leaves the container created") {
  AgentHarness h;
  h.make_device("xvdb");
  REQUIRE(h.connect());
  REQUIRE(
      h.call(create_request("nostart", 1, {"/bin/true"}, "xvdb", false, R"({"fake-crun.fail":"start"})")).has_ack());
  const auto started = h.call(start_request("nostart"));
  CHECK(error_code(started) == Error::CODE_INTERNAL);
  CHECK_THAT(started.error().message(), ContainsSubstring("start failed on purpose"));
  const auto list = h.call(list_request());
  REQUIRE(list.container_list().containers_size() == 1);
  CHECK(list.container_list().containers(0).status() == ContainerState::STATUS_CREATED);
  REQUIRE(h.call(delete_request("nostart")).has_ack());
}

TEST_CASE("a device that appears late is waited for") {
  AgentHarness h([](zoned::agent::AgentOptions& o) { o.device_wait = std::chrono::seconds(5); });
  REQUIRE(h.connect());
  const auto id = h.send(create_request("late", 1, {"/bin/true"}));
  h.run_until([] { return false; }, std::chrono::milliseconds(300));
  CHECK_FALSE(h.take_response(id).has_value());
  h.make_device("xvdb");
  std::optional<zoned::idm::v1::Response> created;
  REQUIRE(h.run_until([&] { return (created = h.take_response(id)).has_value(); }));
  CHECK(created->has_ack());
}

TEST_CASE("a disk whose node exists but has no media yet is waited for, then refused with a clear error") {
  // An unbound loop device stands for a hot-added xvd* disk that blkfront has not connected yet
  // (open gives ENXIO, or the size is 0): mounting it too early failed with ENXIO in the devbox.
  const int control = ::open("/dev/loop-control", O_RDWR | O_CLOEXEC);
  if (control < 0) SKIP("no /dev/loop-control here");
  const int n = ::ioctl(control, LOOP_CTL_GET_FREE);
  ::close(control);
  REQUIRE(n >= 0);
  AgentHarness h;
  REQUIRE(::symlink(("/dev/loop" + std::to_string(n)).c_str(), (h.options().dev_dir + "/xvdc").c_str()) == 0);
  REQUIRE(h.connect());
  const auto created = h.call(create_request("nomedia", 1, {"/bin/true"}, "xvdc"));
  CHECK(error_code(created) == Error::CODE_FAILED_PRECONDITION);
  CHECK_THAT(created.error().message(), ContainsSubstring("not ready"));
}

TEST_CASE("the pod's sysctls in zoned's annotation are written under /proc/sys; bad ones refuse the container") {
  AgentHarness h;
  h.make_device("xvdb");
  for (const char* dir :
       {"", "/sys", "/sys/kernel", "/sys/net", "/sys/net/ipv4", "/sys/net/ipv4/conf", "/sys/net/ipv4/conf/eth0.100"}) {
    ::mkdir((h.options().proc_dir + dir).c_str(), 0755);
  }
  for (const char* file : {"/sys/kernel/shm_rmid_forced", "/sys/net/ipv4/conf/eth0.100/rp_filter"}) {
    std::ofstream(h.options().proc_dir + file) << "0\n";
  }
  REQUIRE(h.connect());
  const std::string annotation =
      R"({"io.zoned.zone-sysctls":"{\"kernel.shm_rmid_forced\":\"1\",\"net/ipv4/conf/eth0.100/rp_filter\":\"2\"}"})";
  const auto created = h.call(create_request("sys", 1, {"/bin/true"}, "xvdb", false, annotation));
  INFO(created.DebugString());
  REQUIRE(created.has_ack());
  auto read = [&](const char* file) {
    std::ifstream in(h.options().proc_dir + file);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  CHECK(read("/sys/kernel/shm_rmid_forced") == "1");
  CHECK(read("/sys/net/ipv4/conf/eth0.100/rp_filter") == "2");

  for (const char* bad :
       {R"({"io.zoned.zone-sysctls":"{\"../../etc/passwd\":\"x\"}"})",
        R"({"io.zoned.zone-sysctls":"{\"kernel.x\":\"a\\nb\"}"})", R"({"io.zoned.zone-sysctls":"not json"})"}) {
    INFO(bad);
    const auto refused = h.call(create_request("bad", 2, {"/bin/true"}, "xvdb", false, bad));
    INFO(refused.DebugString());
    CHECK(error_code(refused) == Error::CODE_INVALID_ARGUMENT);
  }
}
