// The zonectl binary, run as a subprocess against an admin server backed by FakeZoneManager:
// output, exit codes, --json shapes, --help, usage errors and connection errors.
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <nlohmann/json.hpp>
#include <thread>

#include "admin_fixture.h"
#include "run_program.h"
#include "zoned/common/unique_fd.h"

extern char** environ;

using Catch::Matchers::ContainsSubstring;
using Catch::Matchers::StartsWith;
using zoned::testing::AdminFixture;
using zoned::testing::ProgramResult;

namespace {

ProgramResult zonectl(AdminFixture& f, std::vector<std::string> args, const std::string& stdin_data = "") {
  args.insert(args.begin(), {ZONECTL_BINARY, "--socket", f.socket});
  return zoned::testing::run_program(args, stdin_data);
}

nlohmann::json json_of(const ProgramResult& r) {
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  return nlohmann::json::parse(r.out);
}

size_t zone_count(AdminFixture& f) {
  return f.zones.list_zones().size();
}

const std::vector<std::string> kCommands = {"list", "show", "console", "stats", "run", "ps",
                                            "logs", "wait", "exec",    "stop",  "rm",  "destroy"};

}  // namespace

TEST_CASE("zonectl run IMAGE echo hi prints hi and exits with the container's code") {
  AdminFixture f;
  auto r = zonectl(f, {"run", "busybox", "echo", "hi"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out == "hi\n");
  CHECK(r.err.empty());
  CHECK(zone_count(f) == 1);  // without --rm the zone stays

  auto failing = zonectl(f, {"run", "--rm", "busybox", "exit", "3"});
  CHECK(failing.exit_code == 3);
  CHECK(zone_count(f) == 1);  // --rm destroyed its zone

  auto err = zonectl(f, {"run", "--rm", "busybox", "echo-err", "broken"});
  CHECK(err.exit_code == 1);
  CHECK(err.out.empty());
  CHECK(err.err == "broken\n");
}

TEST_CASE("zonectl run passes the zone and container options on") {
  AdminFixture f;
  auto r = zonectl(f, {"run",  "--name", "job",          "--type", "pvh",     "--memory", "512",       "--vcpus",
                       "2",    "-e",     "A=1",          "--env",  "B=two",   "-u",       "1000:1000", "-w",
                       "/srv", "-t",     "--entrypoint", "echo",   "busybox", "from",     "entrypoint"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out == "from entrypoint\n");
  auto zone = f.zones.get_zone("job");
  REQUIRE(zone.ok());
  CHECK(zone->type == zoned::zone_runtime::DomainType::kPvh);
  CHECK(zone->spec.memory_mib == 512);
  CHECK(zone->spec.vcpus == 2);
  CHECK(zone->spec.images == std::vector<std::string>{"busybox"});
  auto spec = f.zones.last_container_spec();
  CHECK(spec.name == "job");
  CHECK(spec.oci.command == std::vector<std::string>{"echo"});
  CHECK(spec.oci.args == std::vector<std::string>{"from", "entrypoint"});
  CHECK(spec.oci.env == std::vector<std::pair<std::string, std::string>>{{"A", "1"}, {"B", "two"}});
  CHECK(spec.oci.run_as_user == 1000);
  CHECK(spec.oci.working_dir == "/srv");
  CHECK(spec.oci.tty);
}

TEST_CASE("zonectl run: --json, --detach, failures clean up their zone") {
  AdminFixture f;
  auto j = json_of(zonectl(f, {"--json", "run", "--rm", "busybox", "echo", "structured"}));
  CHECK(j["exit_code"] == 0);
  CHECK(j["signal"] == 0);
  CHECK(j["reason"] == "Completed");
  CHECK(j["stdout"] == "structured\n");
  CHECK(j["stderr"] == "");
  CHECK(j["zone_id"].get<std::string>().size() == 64);
  CHECK(j["container_id"].get<std::string>().size() == 64);

  auto detached = json_of(zonectl(f, {"run", "--json", "-d", "busybox", "sleep"}));
  auto container = f.zones.get_container(detached["container_id"]);
  REQUIRE(container.ok());
  CHECK(container->state == zoned::zone_runtime::ContainerState::kRunning);

  auto before = zone_count(f);
  auto missing = zonectl(f, {"run", "busybox-not-pulled", "true"});
  CHECK(missing.exit_code == 1);
  CHECK_THAT(missing.err, StartsWith("zonectl: ") && ContainsSubstring("busybox-not-pulled not found"));
  CHECK(zone_count(f) == before);

  // The zone boots but the container cannot be created: the zone goes again.
  f.zones.set_fail_next(zoned::Error(zoned::ErrorCode::kInternal, "agent said no"), "create_container");
  auto failed = zonectl(f, {"run", "busybox", "echo"});
  CHECK(failed.exit_code == 1);
  CHECK(failed.err == "zonectl: agent said no\n");
  CHECK(zone_count(f) == before);
  auto calls = f.zones.calls();
  REQUIRE(calls.size() >= 3);
  CHECK_THAT(calls[calls.size() - 3], StartsWith("create_container"));
  CHECK_THAT(calls[calls.size() - 2], StartsWith("stop_zone"));
  CHECK_THAT(calls[calls.size() - 1], StartsWith("remove_zone"));
}

TEST_CASE("zonectl run -i says it is not supported yet, and exits 1") {
  AdminFixture f;
  auto r = zonectl(f, {"run", "-i", "busybox", "cat"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, ContainsSubstring("not supported yet"));
  CHECK(zone_count(f) == 0);
}

TEST_CASE("zonectl list, show and ps: tables and --json") {
  AdminFixture f;
  auto zone = f.create_zone("alpha");
  auto c = f.create_container("alpha", "web", {"sleep"});
  f.start_container(c.id());

  auto table = zonectl(f, {"list"});
  CHECK(table.exit_code == 0);
  CHECK_THAT(table.out, StartsWith("ID            NAME   STATE    TYPE  DOMID  MEMORY  CONTAINERS  AGE\n"));
  CHECK_THAT(table.out, ContainsSubstring(zone.id().substr(0, 12) + "  alpha  running  pv    1      256MiB  1"));

  auto zones = json_of(zonectl(f, {"list", "--json"}));
  REQUIRE(zones.is_array());
  REQUIRE(zones.size() == 1);
  CHECK(zones[0]["id"] == zone.id());
  CHECK(zones[0]["name"] == "alpha");
  CHECK(zones[0]["state"] == "running");
  CHECK(zones[0]["memory_mib"] == 256);
  CHECK(zones[0]["container_ids"][0] == c.id());

  auto shown = json_of(zonectl(f, {"--json", "show", "alpha"}));
  CHECK(shown["id"] == zone.id());
  REQUIRE(shown["containers"].size() == 1);
  CHECK(shown["containers"][0]["spec"]["name"] == "web");
  CHECK(shown["containers"][0]["state"] == "running");
  auto human = zonectl(f, {"show", zone.id().substr(0, 6)});
  CHECK(human.exit_code == 0);
  CHECK_THAT(human.out, ContainsSubstring("Name:        alpha") && ContainsSubstring("Containers:  1") &&
                            ContainsSubstring("web"));

  auto ps = zonectl(f, {"ps"});
  CHECK(ps.exit_code == 0);
  CHECK_THAT(ps.out, StartsWith("ID            NAME  ZONE   IMAGE    STATE    EXIT  AGE"));
  CHECK_THAT(ps.out, ContainsSubstring(c.id().substr(0, 12)) && ContainsSubstring("alpha") &&
                         ContainsSubstring("running") && ContainsSubstring("sleep"));
  auto containers = json_of(zonectl(f, {"ps", "alpha", "--json"}));
  REQUIRE(containers.size() == 1);
  CHECK(containers[0]["id"] == c.id());
  CHECK(containers[0]["zone_id"] == zone.id());
  CHECK(containers[0]["exit_code"] == 0);

  auto unknown = zonectl(f, {"show", "nope"});
  CHECK(unknown.exit_code == 1);
  CHECK(unknown.err == "zonectl: zone nope not found\n");
}

TEST_CASE("zonectl logs and wait") {
  AdminFixture f;
  f.create_zone("z");
  auto c = f.create_container("z", "app", {"sleep"});
  f.start_container(c.id());
  f.zones.append_log(c.id(), 1, "out one\n");
  f.zones.append_log(c.id(), 2, "err one\n");
  f.zones.append_log(c.id(), 1, "out two\n");

  auto logs = zonectl(f, {"logs", c.id().substr(0, 12)});
  CHECK(logs.exit_code == 0);
  CHECK(logs.out == "out one\nout two\n");
  CHECK(logs.err == "err one\n");
  auto tail = zonectl(f, {"logs", "-n", "50", c.id()});
  CHECK(tail.out == "out two\n");
  auto lines = json_of(zonectl(f, {"logs", "--json", c.id()}));
  REQUIRE(lines.size() == 3);
  CHECK(lines[1] ==
        nlohmann::json{{"time", "2025-01-01T00:00:00.000000000Z"}, {"stream", "stderr"}, {"log", "err one"}});

  f.zones.finish_container(c.id(), 7);
  auto waited = zonectl(f, {"wait", c.id()});
  CHECK(waited.exit_code == 7);
  CHECK(waited.out == "7\n");
  auto as_json = zonectl(f, {"wait", "--json", c.id()});
  CHECK(as_json.exit_code == 7);  // still the container's code
  auto record = nlohmann::json::parse(as_json.out);
  CHECK(record["exit_code"] == 7);
  CHECK(record["state"] == "exited");
}

TEST_CASE("zonectl exec: stdin, output, exit codes, --json") {
  AdminFixture f;
  f.create_zone("z");
  auto c = f.create_container("z", "app", {"sleep"});
  f.start_container(c.id());

  auto cat = zonectl(f, {"exec", "-i", c.id(), "cat"}, "hello through stdin\n");
  INFO(cat.err);
  CHECK(cat.exit_code == 0);
  CHECK(cat.out == "hello through stdin\n");

  auto code = zonectl(f, {"exec", c.id(), "exit", "5"});
  CHECK(code.exit_code == 5);
  auto err = zonectl(f, {"exec", "-e", "A=1", "-u", "nobody", "-w", "/", c.id(), "echo-err", "-n", "x"});
  CHECK(err.exit_code == 1);
  CHECK(err.err == "-n x\n");  // -n belongs to the command, not to zonectl
  CHECK(f.zones.last_exec().env == std::vector<std::string>{"A=1"});
  CHECK(f.zones.last_exec().user == "nobody");
  CHECK(f.zones.last_exec().cwd == "/");

  auto j = json_of(zonectl(f, {"exec", "--json", c.id(), "echo", "json", "out"}));
  CHECK(j == nlohmann::json{{"exit_code", 0}, {"signal", 0}, {"stdout", "json out\n"}, {"stderr", ""}});

  auto missing = zonectl(f, {"exec", "deadbeef0000", "true"});
  CHECK(missing.exit_code == 1);
  CHECK_THAT(missing.err, ContainsSubstring("not found"));
}

TEST_CASE("zonectl stop, rm and destroy find zones and containers") {
  AdminFixture f;
  auto zone = f.create_zone("keep");
  auto c = f.create_container("keep", "app", {"sleep"});
  f.start_container(c.id());

  auto refused = zonectl(f, {"rm", c.id()});
  CHECK(refused.exit_code == 1);
  CHECK_THAT(refused.err, ContainsSubstring("running"));
  auto stop = zonectl(f, {"stop", "--grace", "4", c.id().substr(0, 12)});
  CHECK(stop.exit_code == 0);
  CHECK(stop.out == c.id() + "\n");
  CHECK(f.zones.last_grace() == std::chrono::seconds(4));
  auto rm = json_of(zonectl(f, {"rm", "--json", c.id()}));
  CHECK(rm == nlohmann::json{{"kind", "container"}, {"id", c.id()}, {"action", "removed"}});

  auto zone_rm = zonectl(f, {"rm", "keep"});
  CHECK(zone_rm.exit_code == 1);
  CHECK_THAT(zone_rm.err, ContainsSubstring("zone keep is running") && ContainsSubstring("destroy"));
  auto stopped = json_of(zonectl(f, {"--json", "stop", "keep"}));
  CHECK(stopped == nlohmann::json{{"kind", "zone"}, {"id", zone.id()}, {"action", "stopped"}});
  CHECK(f.zones.last_grace() == std::chrono::seconds(10));
  CHECK(zonectl(f, {"rm", "keep"}).exit_code == 0);
  CHECK(zone_count(f) == 0);

  f.create_zone("doomed");
  auto destroyed = zonectl(f, {"destroy", "doomed"});
  CHECK(destroyed.exit_code == 0);
  CHECK(f.zones.last_grace() == std::chrono::seconds(0));
  CHECK(zone_count(f) == 0);

  auto nothing = zonectl(f, {"stop", "ghost"});
  CHECK(nothing.exit_code == 1);
  CHECK(nothing.err == "zonectl: no zone or container named 'ghost'\n");
}

TEST_CASE("zonectl console and stats") {
  AdminFixture f;
  auto zone = f.create_zone("z");
  f.zones.set_console(zone.id(), "booting\nready\n");
  auto console = zonectl(f, {"console", "z"});
  CHECK(console.exit_code == 0);
  CHECK(console.out == "booting\nready\n");
  CHECK(zonectl(f, {"console", "-n", "6", "z"}).out == "ready\n");
  auto j = json_of(zonectl(f, {"console", "--json", "z"}));
  CHECK(j["console"] == "booting\nready\n");
  CHECK(zonectl(f, {"console", "-f", "--json", "z"}).exit_code == 2);

  auto stats = zonectl(f, {"stats", "z"});
  CHECK(stats.exit_code == 0);
  CHECK_THAT(stats.out, ContainsSubstring("128.0MiB used of 256.0MiB") && ContainsSubstring("0.123s"));
  auto sj = json_of(zonectl(f, {"stats", "--json", "z"}));
  CHECK(sj["zone_id"] == zone.id());
  CHECK(sj["memory_total_bytes"] == 256ULL << 20);
}

TEST_CASE("zonectl --help and help work for every command, without a daemon") {
  for (const auto& command : kCommands) {
    CAPTURE(command);
    auto r = zoned::testing::run_program({ZONECTL_BINARY, command, "--help"});
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.out, StartsWith("Usage: zonectl " + command + " ") && ContainsSubstring("--json"));
    auto via_help = zoned::testing::run_program({ZONECTL_BINARY, "help", command});
    CHECK(via_help.exit_code == 0);
    CHECK(via_help.out == r.out);
  }
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{{"--help"}, {"help"}, {"-h"}}) {
    std::vector<std::string> argv = {ZONECTL_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = zoned::testing::run_program(argv);
    CHECK(r.exit_code == 0);
    for (const auto& command : kCommands) CHECK_THAT(r.out, ContainsSubstring("  " + command + " "));
  }
}

TEST_CASE("zonectl: bad usage exits 2 with a message, before connecting") {
  std::vector<std::vector<std::string>> cases = {
      {},
      {"frobnicate"},
      {"--bogus", "list"},
      {"list", "extra"},
      {"show"},
      {"logs", "-n", "lots", "c"},
      {"run"},
      {"run", "--memory", "12", "busybox"},
      {"run", "--vcpus", "0", "busybox"},
      {"run", "--type", "hvm", "busybox"},
      {"run", "-e", "NOVALUE", "busybox"},
      {"run", "--rm", "-d", "busybox"},
      {"exec", "c"},
      {"exec", "-t", "--json", "c", "sh"},
      {"stop", "--grace", "-1", "z"},
      {"help", "frobnicate"},
      {"--socket"},
  };
  for (const auto& args : cases) {
    std::vector<std::string> argv = {ZONECTL_BINARY, "--socket", "/nonexistent/admin.sock"};
    argv.insert(argv.end(), args.begin(), args.end());
    CAPTURE(args);
    auto r = zoned::testing::run_program(argv);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, StartsWith("zonectl"));
    CHECK_THAT(r.err, ContainsSubstring("--help"));
  }
}

TEST_CASE("zonectl without a daemon says so and exits 1") {
  zoned::testing::TempDir tmp;
  auto r = zoned::testing::run_program({ZONECTL_BINARY, "--socket", tmp.file("admin.sock"), "list"});
  CHECK(r.exit_code == 1);
  CHECK(r.err == "zonectl: cannot connect to zoned at " + tmp.file("admin.sock") + ": is zoned running?\n");
  CHECK(r.out.empty());
  // The default socket is named in the message too.
  auto d = zoned::testing::run_program({ZONECTL_BINARY, "list"});
  if (d.exit_code == 1) CHECK_THAT(d.err, ContainsSubstring("/run/zoned/admin.sock"));
}

namespace {

// Reads from the pty master until `want` shows up (or 10 s pass); returns all that was read.
std::string read_pty_until(int master, const std::string& want) {
  std::string seen;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (seen.find(want) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    pollfd p{master, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buffer[256];
    ssize_t n = ::read(master, buffer, sizeof buffer);
    if (n <= 0) break;
    seen.append(buffer, static_cast<size_t>(n));
  }
  return seen;
}

}  // namespace

TEST_CASE("zonectl exec -t -i on a terminal: raw mode, the window size, SIGWINCH, restored on exit") {
  AdminFixture f;
  f.create_zone("z");
  auto c = f.create_container("z", "app", {"sleep"});
  f.start_container(c.id());

  int master = -1, slave = -1;
  winsize size{};
  size.ws_row = 24;
  size.ws_col = 80;
  REQUIRE(::openpty(&master, &slave, nullptr, nullptr, &size) == 0);
  zoned::UniqueFd master_fd(master), slave_fd(slave);
  termios before{};
  REQUIRE(::tcgetattr(slave, &before) == 0);
  REQUIRE((before.c_lflag & ECHO) != 0);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  for (int fd : {0, 1, 2}) posix_spawn_file_actions_adddup2(&actions, slave, fd);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  std::vector<std::string> argv = {ZONECTL_BINARY, "--socket", f.socket, "exec", "-t", "-i", c.id(), "size"};
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  pid_t pid = -1;
  REQUIRE(posix_spawn(&pid, args[0], &actions, &attr, args.data(), environ) == 0);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);

  CHECK_THAT(read_pty_until(master, "24x80\n"), ContainsSubstring("24x80\n"));  // the size at start
  termios during{};
  REQUIRE(::tcgetattr(slave, &during) == 0);
  CHECK((during.c_lflag & (ECHO | ICANON | ISIG)) == 0);  // raw: Ctrl-C would be a byte for the process
  CHECK(f.zones.last_exec().tty);

  size.ws_row = 50;
  size.ws_col = 132;
  REQUIRE(::ioctl(master, TIOCSWINSZ, &size) == 0);
  ::kill(pid, SIGWINCH);  // the pty is not zonectl's controlling terminal: send it by hand
  CHECK_THAT(read_pty_until(master, "50x132\n"), ContainsSubstring("50x132\n"));

  ::kill(pid, SIGTERM);
  int status = 0;
  for (int i = 0; i < 1000 && ::waitpid(pid, &status, WNOHANG) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 130);
  termios after{};
  REQUIRE(::tcgetattr(slave, &after) == 0);
  CHECK((after.c_lflag & ECHO) != 0);  // restored
  CHECK((after.c_lflag & ICANON) != 0);
  // The daemon killed the process when the client went away.
  for (int i = 0; i < 300 && f.zones.live_exec_sessions() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(f.zones.live_exec_sessions() == 0);
}
