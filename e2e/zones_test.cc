// Zones on real Xen (the devbox): each case drives zoned in dom0 with zonectl (through
// `scripts/devbox exec`) and checks what a zone really did: container output and exit codes,
// exec, graceful stop, several zones at once, a daemon SIGKILLed and restarted mid-run, and a
// guest kernel panic. Set up by e2e/run; the image comes from the host's test registry.
#include <grpcpp/grpcpp.h>

#include <array>
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "api.grpc.pb.h"

namespace v1 = runtime::v1;
using Catch::Matchers::ContainsSubstring;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const char* kImage = "registry.k8s.io/busybox:1.36";

std::string env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr) FAIL(std::string(name) + " is not set (run through e2e/run)");
  return v;
}

// Single-quotes `s` for sh.
std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

struct Run {
  int status = -1;
  std::string out;
};

// Runs a shell command line in dom0; returns its exit status and output (stdout + stderr).
Run dom0(const std::string& command) {
  std::string full = env("ZONED_E2E_DEVBOX") + " exec -- sh -c " + quote(command) + " 2>&1";
  FILE* pipe = ::popen(full.c_str(), "r");
  REQUIRE(pipe != nullptr);
  Run r;
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
  int status = ::pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// zonectl in dom0 (e2e/run ships it there; ZONED_E2E_ZONECTL is its path).
Run zonectl(const std::string& args) { return dom0(env("ZONED_E2E_ZONECTL") + " " + args); }

json zonectl_json(const std::string& args) {
  Run r = zonectl("--json " + args);
  INFO("zonectl --json " << args << " -> " << r.status << "\n" << r.out);
  REQUIRE(r.status == 0);
  return json::parse(r.out);
}

void pull_image() {
  auto images = v1::ImageService::NewStub(
      grpc::CreateChannel("unix:" + env("ZONED_E2E_SOCKET"), grpc::InsecureChannelCredentials()));
  v1::PullImageRequest pull;
  pull.mutable_image()->set_image(kImage);
  v1::PullImageResponse pulled;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 300s);
  auto s = images->PullImage(&ctx, pull, &pulled);
  INFO(s.error_message());
  REQUIRE(s.ok());
}

// Starts a zone with one detached container; returns {zone id, container id}.
std::pair<std::string, std::string> run_detached(const std::string& name, const std::string& options,
                                                 const std::string& command) {
  json j = zonectl_json("run -d --name " + name + " " + options + " " + kImage + " " + command);
  return {j["zone_id"].get<std::string>(), j["container_id"].get<std::string>()};
}

// A container's record (from `zonectl ps` of its zone).
json inspect(const std::string& zone, const std::string& container) {
  for (const auto& c : zonectl_json("ps " + zone)) {
    if (c.value("id", "") == container) return c;
  }
  FAIL("container " << container << " not listed in zone " << zone);
  return {};
}

json show_zone(const std::string& zone) { return zonectl_json("show " + zone); }

// Polls until `done(zone json)` or the timeout; returns the last zone json.
template <typename F>
json wait_zone(const std::string& zone, std::chrono::seconds timeout, F done) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  json z = show_zone(zone);
  while (!done(z) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1s);
    z = show_zone(zone);
  }
  return z;
}

void destroy(const std::string& zone) { zonectl("destroy " + zone); }

}  // namespace

TEST_CASE("a zone boots from a pulled image and runs a container: output, streams and exit code") {
  pull_image();
  const auto t0 = std::chrono::steady_clock::now();
  Run r = zonectl("run --rm --name hello " + std::string(kImage) +
                  " sh -c " + quote(("echo hello from a zone; echo to-stderr >&2; exit 7")));
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  INFO(r.out);
  CHECK(r.status == 7);
  CHECK_THAT(r.out, ContainsSubstring("hello from a zone"));
  CHECK_THAT(r.out, ContainsSubstring("to-stderr"));
  WARN("zonectl run (zone create + container + exit + destroy): " << secs << " s");
  // --rm left nothing behind
  Run list = zonectl("--json list");
  CHECK(list.status == 0);
  CHECK_THAT(list.out, !ContainsSubstring("\"hello\""));
}

TEST_CASE("exec into a running container, and stop it with a grace period") {
  pull_image();
  auto [zone, ctr] = run_detached("execstop", "",
                                  "sh -c " + quote(("trap 'echo got TERM; exit 0' TERM; echo started; "
                                                         "while true; do sleep 0.2; done")));
  Run e = zonectl("exec " + ctr + " sh -c " + quote(("echo out; echo err >&2; hostname; exit 3")));
  INFO(e.out);
  CHECK(e.status == 3);
  CHECK_THAT(e.out, ContainsSubstring("out"));
  CHECK_THAT(e.out, ContainsSubstring("err"));
  CHECK_THAT(e.out, ContainsSubstring("execstop"));

  Run stop = zonectl("stop --grace 10 " + ctr);
  CHECK(stop.status == 0);
  json c = inspect(zone, ctr);
  CHECK(c.value("state", "") == "exited");
  CHECK(c.value("exit_code", -1) == 0);
  CHECK_THAT(zonectl("logs " + ctr).out, ContainsSubstring("got TERM"));
  destroy(zone);
}

TEST_CASE("a container that ignores SIGTERM is killed after the grace period") {
  pull_image();
  auto [zone2, stubborn] = run_detached("stubborn", "",
                                        "sh -c " + quote(("trap '' TERM; echo stubborn; while true; do sleep 0.2; done")));
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(zonectl("stop --grace 2 " + stubborn).status == 0);
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  json s = inspect(zone2, stubborn);
  CHECK(s.value("state", "") == "exited");
  CHECK(s.value("exit_code", -1) == 137);
  CHECK(waited >= 2.0);
  destroy(zone2);
}

TEST_CASE("three zones at once") {
  pull_image();
  std::vector<std::string> names = {"three-a", "three-b", "three-c"};
  Run r = dom0("for n in three-a three-b three-c; do " + env("ZONED_E2E_ZONECTL") + " --json run -d --name $n " + std::string(kImage) +
               " sh -c 'echo I am $(hostname); sleep 600' > /tmp/$n.json 2>&1 & done; wait; cat /tmp/three-*.json");
  INFO(r.out);
  json list = zonectl_json("list");
  int running = 0;
  for (const auto& z : list) {
    for (const auto& n : names) {
      if (z.value("name", "") == n && z.value("state", "") == "running") ++running;
    }
  }
  CHECK(running == 3);
  for (const auto& n : names) {
    json ps = zonectl_json("ps " + n);
    REQUIRE(ps.size() == 1);
    std::string ctr = ps[0].value("id", "");
    CHECK_THAT(zonectl("logs " + ctr).out, ContainsSubstring("I am " + n));
    CHECK(zonectl("exec " + ctr + " hostname").out.find(n) != std::string::npos);
  }
  for (const auto& n : names) destroy(n);
}

TEST_CASE("SIGKILL the daemon mid-run: zones, containers, exit codes and output are found again") {
  pull_image();
  auto [zone, ctr] = run_detached(
      "survivor", "", "sh -c " + quote(("i=0; while [ $i -lt 40 ]; do echo tick $i; i=$((i+1)); sleep 0.25; done; exit 3")));
  auto [zone2, sleeper] = run_detached("survivor2", "", "sleep 600");
  std::this_thread::sleep_for(2s);
  Run killed = dom0("kill -9 $(cat /run/devbox/zoned.pid); sleep 12; /usr/lib/devbox/zoned-restart");
  INFO(killed.out);
  REQUIRE(killed.status == 0);
  // The first container exited (exit 3) while no daemon was running.
  json z = wait_zone(zone, 60s, [](const json& j) { return j.value("agent_connected", false); });
  CHECK(z.value("state", "") == "running");
  CHECK(z.value("agent_connected", false));
  Run waited = zonectl("wait " + ctr);
  CHECK(waited.status == 3);
  std::string logs = zonectl("logs " + ctr).out;
  for (int i = 0; i < 40; i += 13) CHECK_THAT(logs, ContainsSubstring("tick " + std::to_string(i) + "\n"));
  CHECK_THAT(logs, ContainsSubstring("tick 39"));
  // The second still runs and still answers.
  json s = inspect(zone2, sleeper);
  CHECK(s.value("state", "") == "running");
  CHECK(zonectl("exec " + sleeper + " echo still-here").out.find("still-here") != std::string::npos);
  destroy(zone);
  destroy(zone2);
}

TEST_CASE("a guest kernel panic is detected and reported with the console tail") {
  pull_image();
  auto [zone, ctr] = run_detached("panicky", "--privileged",
                                  "sh -c " + quote(("sleep 1; echo c > /proc/sysrq-trigger; sleep 60")));
  json z = wait_zone(zone, 90s, [](const json& j) {
    return j.value("state", "") == "failed" || j.value("state", "") == "stopped";
  });
  INFO(z.dump(2));
  CHECK(z.value("state", "") == "failed");
  CHECK(z.value("reason", "") == "Crashed");
  CHECK_THAT(z.value("message", ""), ContainsSubstring("sysrq"));
  json c = inspect(zone, ctr);
  CHECK(c.value("state", "") == "exited");
  // the domain is gone; the daemon is still fine
  CHECK(zonectl("--json list").status == 0);
  destroy(zone);
}
