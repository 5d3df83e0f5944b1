// ExecStart, SignalExec and ResizeTty through the agent, with fake-crun.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "agent_harness.h"

using namespace zoned::testing;
using Catch::Matchers::ContainsSubstring;
using zoned::idm::v1::Error;
using zoned::idm::v1::STREAM_FD_STDERR;
using zoned::idm::v1::STREAM_FD_STDOUT;

namespace {

void running_container(AgentHarness& h, const std::string& id = "box") {
  h.make_device("xvdb");
  REQUIRE(h.connect());
  REQUIRE(h.call(create_request(id, 1, {"/bin/sleep", "60"})).has_ack());
  REQUIRE(h.call(start_request(id)).has_ack());
}

}  // namespace

TEST_CASE("exec: ExecStarted, separate output, the container's env plus the exec's, ExecExited after output") {
  AgentHarness h;
  running_container(h);
  const auto started =
      h.call(exec_request("box", "e1", 20, {"/bin/sh", "-c", "echo $FROM_SPEC$FROM_EXEC; echo oops >&2; exit 5"}));
  INFO(started.DebugString());
  REQUIRE(started.has_exec_started());
  CHECK(started.exec_started().exec_id() == "e1");
  CHECK(started.exec_started().pid() > 1);
  REQUIRE(h.run_until([&] { return h.exec_exit("e1").has_value(); }));
  CHECK(h.exec_exit("e1")->exit_code() == 5);
  CHECK(h.output(20, STREAM_FD_STDOUT) == "12\n");
  CHECK(h.output(20, STREAM_FD_STDERR) == "oops\n");
  CHECK(h.trace().back() == "exec-exited:e1");
  // The id and stream can be used again once it is gone.
  REQUIRE(h.call(exec_request("box", "e1", 20, {"/bin/true"})).has_exec_started());
  REQUIRE(h.run_until([&] { return h.events().size() >= 3; }));
}

TEST_CASE("exec: ExecExited is written in the round that finds the exit, not after the next poll") {
  AgentHarness h;
  running_container(h);
  REQUIRE(h.call(exec_request("box", "quick", 23, {"/bin/true"})).has_exec_started());
  // Each round may sleep 10 s in poll when nothing wakes it; the exit is queued after the
  // agent's own reads, so it must be written before the round ends.
  const auto start = std::chrono::steady_clock::now();
  while (!h.exec_exit("quick") && std::chrono::steady_clock::now() - start < std::chrono::seconds(30)) {
    h.step(std::chrono::seconds(10));
  }
  REQUIRE(h.exec_exit("quick").has_value());
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
}

TEST_CASE("exec with stdin, and SignalExec") {
  AgentHarness h;
  running_container(h);
  REQUIRE(h.call(exec_request("box", "cat", 21, {"/bin/cat"}, true)).has_exec_started());
  h.send_stdin(21, "ping\n", true);
  REQUIRE(h.run_until([&] { return h.exec_exit("cat").has_value(); }));
  CHECK(h.output(21, STREAM_FD_STDOUT) == "ping\n");

  REQUIRE(h.call(exec_request("box", "sl", 22, {"/bin/sleep", "60"})).has_exec_started());
  zoned::idm::v1::Request signal;
  signal.mutable_signal_exec()->set_exec_id("sl");
  signal.mutable_signal_exec()->set_signal(9);
  REQUIRE(h.call(signal).has_ack());
  REQUIRE(h.run_until([&] { return h.exec_exit("sl").has_value(); }));
  CHECK(h.exec_exit("sl")->signal() == 9);
  signal.mutable_signal_exec()->set_exec_id("gone");
  CHECK(h.call(signal).error().code() == Error::CODE_NOT_FOUND);
}

TEST_CASE("exec with a tty: pty output on stdout, ResizeTty reaches the terminal") {
  AgentHarness h;
  running_container(h);
  // Waits for the resize (SIGWINCH), then prints the size the terminal has.
  REQUIRE(h.call(exec_request("box", "t", 23, {"/bin/sh", "-c", "read line; stty size; exit 0"}, true, true))
              .has_exec_started());
  zoned::idm::v1::Request resize;
  resize.mutable_resize_tty()->set_stream_id(23);
  resize.mutable_resize_tty()->set_rows(33);
  resize.mutable_resize_tty()->set_cols(101);
  REQUIRE(h.call(resize).has_ack());
  h.send_stdin(23, "go\n", false);
  REQUIRE(h.run_until([&] { return h.exec_exit("t").has_value(); }));
  CHECK_THAT(h.output(23, STREAM_FD_STDOUT), ContainsSubstring("33 101"));
  CHECK(h.exec_exit("t")->exit_code() == 0);

  resize.mutable_resize_tty()->set_stream_id(1);  // the container's stream has no tty
  CHECK(h.call(resize).error().code() == Error::CODE_FAILED_PRECONDITION);
  resize.mutable_resize_tty()->set_stream_id(999);
  CHECK(h.call(resize).error().code() == Error::CODE_NOT_FOUND);
}

TEST_CASE("exec refusals: unknown container, duplicate exec id, stream in use, unknown user") {
  AgentHarness h;
  running_container(h);
  CHECK(h.call(exec_request("nope", "x", 30, {"/bin/true"})).error().code() == Error::CODE_NOT_FOUND);
  REQUIRE(h.call(exec_request("box", "long", 31, {"/bin/sleep", "60"})).has_exec_started());
  CHECK(h.call(exec_request("box", "long", 32, {"/bin/true"})).error().code() == Error::CODE_ALREADY_EXISTS);
  CHECK(h.call(exec_request("box", "other", 31, {"/bin/true"})).error().code() == Error::CODE_ALREADY_EXISTS);
  CHECK(h.call(exec_request("box", "other", 1, {"/bin/true"})).error().code() == Error::CODE_ALREADY_EXISTS);
  auto as_ghost = exec_request("box", "ghost", 33, {"/bin/true"});
  as_ghost.mutable_exec_start()->set_user("ghost");
  const auto refused = h.call(as_ghost);
  CHECK(refused.error().code() == Error::CODE_NOT_FOUND);
  CHECK_THAT(refused.error().message(), ContainsSubstring("user ghost not found in the image"));
}
