// The IDM connection (Hello, reconnect), stats and shutdown.
#include <sys/stat.h>

#include <catch2/catch_test_macros.hpp>
#include <fstream>

#include "agent_harness.h"

using namespace zoned::testing;
using zoned::idm::v1::ContainerState;
using zoned::idm::v1::Error;
using zoned::idm::v1::STREAM_FD_STDOUT;

TEST_CASE("the agent speaks first: Hello with protocol version 1, then answers Ping") {
  AgentHarness h;
  REQUIRE(h.connect());
  CHECK(h.hellos() == 1);
  zoned::idm::v1::Request ping;
  ping.mutable_ping()->set_nonce(7);
  CHECK(h.call(ping).pong().nonce() == 7);
  zoned::idm::v1::Request hello;
  hello.mutable_hello()->set_protocol_version(1);
  CHECK(h.call(hello).error().code() == Error::CODE_UNIMPLEMENTED);
}

TEST_CASE("reconnect: containers keep running unread while no daemon is there; exits are kept") {
  AgentHarness h;
  h.make_device("xvdb");
  REQUIRE(h.connect());
  REQUIRE(h.call(create_request("early", 1, {"/bin/sh", "-c", "echo early; exit 3"})).has_ack());
  REQUIRE(h.call(start_request("early")).has_ack());
  REQUIRE(h.run_until([&] { return h.container_exit("early").has_value(); }));
  REQUIRE(h.call(create_request("late", 2, {"/bin/sh", "-c", "sleep 0.3; echo while-away; exit 6"})).has_ack());
  REQUIRE(h.call(start_request("late")).has_ack());

  h.disconnect();
  h.run_without_reading(std::chrono::milliseconds(1200));  // "late" exits meanwhile; its output waits
  REQUIRE(h.connect());
  CHECK(h.hellos() == 2);
  const auto list = h.call(list_request());
  std::map<std::string, ContainerState> states;
  for (const auto& s : list.container_list().containers()) states[s.container_id()] = s;
  REQUIRE(states.size() == 2);
  CHECK(states["early"].status() == ContainerState::STATUS_EXITED);
  CHECK(states["early"].exit().exit_code() == 3);
  // "late" is reported once its output has been flushed on the new connection.
  REQUIRE(h.run_until([&] { return h.container_exit("late").has_value(); }));
  CHECK(h.container_exit("late")->exit_code() == 6);
  CHECK(h.output(2, STREAM_FD_STDOUT) == "while-away\n");
  const auto again = h.call(list_request());
  for (const auto& s : again.container_list().containers()) CHECK(s.status() == ContainerState::STATUS_EXITED);
}

TEST_CASE("a new channel replaces the current one") {
  AgentHarness h;
  REQUIRE(h.connect());
  REQUIRE(h.connect());  // the agent drops the first and says Hello again
  CHECK(h.hellos() == 2);
  zoned::idm::v1::Request ping;
  ping.mutable_ping()->set_nonce(1);
  CHECK(h.call(ping).has_pong());
}

TEST_CASE("stats: per container from its cgroup, the zone from /proc") {
  AgentHarness h;
  h.make_device("xvdb");
  REQUIRE(h.connect());
  REQUIRE(h.call(create_request("s1", 1, {"/bin/true"})).has_ack());
  const std::string cg = h.options().cgroup_root + "/zoned/s1";
  REQUIRE(::system(("mkdir -p " + cg + " " + h.options().proc_dir).c_str()) == 0);
  std::ofstream(cg + "/cpu.stat") << "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\n";
  std::ofstream(cg + "/memory.current") << "10485760\n";
  std::ofstream(cg + "/memory.stat") << "anon 4096\nfile 8192\ninactive_file 1048576\nactive_file 0\n";
  std::ofstream(h.options().proc_dir + "/meminfo")
      << "MemTotal:        2048000 kB\nMemFree:  100 kB\nMemAvailable:    1024000 kB\n";
  std::ofstream(h.options().proc_dir + "/stat") << "cpu  100 0 50 9000 20 5 5 0 0 0\ncpu0 100 0 50 9000 20 5 5 0 0 0\n";
  zoned::idm::v1::Request request;
  request.mutable_stats();
  const auto reply = h.call(request);
  REQUIRE(reply.has_stats());
  REQUIRE(reply.stats().containers_size() == 1);
  CHECK(reply.stats().containers(0).container_id() == "s1");
  CHECK(reply.stats().containers(0).cpu_usage_ns() == 2500000);
  CHECK(reply.stats().containers(0).memory_usage_bytes() == 10485760 - 1048576);
  CHECK(reply.stats().zone().memory_total_bytes() == 2048000ull * 1024);
  CHECK(reply.stats().zone().memory_available_bytes() == 1024000ull * 1024);
  CHECK(reply.stats().zone().cpu_usage_ns() ==
        160ull * (1000000000ull / static_cast<unsigned long long>(sysconf(_SC_CLK_TCK))));
  CHECK(reply.stats().zone().timestamp_unix_ns() > 0);
}

TEST_CASE("shutdown: containers get SIGTERM, output is flushed, Ack, then power off") {
  AgentHarness h;
  h.make_device("xvdb");
  REQUIRE(h.connect());
  REQUIRE(h.call(create_request("polite", 1,
                                {"/bin/sh", "-c", "trap 'echo bye; exit 0' TERM; while :; do sleep 0.05; done"}))
              .has_ack());
  REQUIRE(h.call(start_request("polite")).has_ack());
  REQUIRE(
      h.call(create_request("stubborn", 2, {"/bin/sh", "-c", "trap '' TERM; while :; do sleep 0.05; done"})).has_ack());
  REQUIRE(h.call(start_request("stubborn")).has_ack());
  h.run_until([] { return false; }, std::chrono::milliseconds(300));  // let the traps be set
  zoned::idm::v1::Request shutdown;
  shutdown.mutable_shutdown();
  const auto reply = h.call(shutdown, std::chrono::seconds(20));
  CHECK(reply.has_ack());
  CHECK(h.powered_off());
  CHECK(h.agent().stopped());
  CHECK(h.output(1, STREAM_FD_STDOUT) == "bye\n");
  REQUIRE(h.container_exit("polite").has_value());
  CHECK(h.container_exit("polite")->exit_code() == 0);
  REQUIRE(h.container_exit("stubborn").has_value());
  CHECK(h.container_exit("stubborn")->signal() == 9);
  CHECK(h.mounts().mounted().empty());
}
