// Runs the real zoned binary on this host (no Xen) and checks what an operator and kubelet see:
// flags, config errors, the socket, CRI Version/Status over the socket, and clean shutdown.
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <cstring>
#include <memory>
#include <thread>

#include "api.grpc.pb.h"
#include "support/child_process.h"
#include "support/temp_dir.h"
#include "support/test_daemon.h"

using Catch::Matchers::ContainsSubstring;
using namespace std::chrono_literals;
using zoned::testing::base_config;
using zoned::testing::ChildProcess;
using zoned::testing::deadline_context;
using zoned::testing::run_to_exit;
using zoned::testing::TempDir;
using zoned::testing::TestDaemon;
namespace v1 = runtime::v1;

namespace {

std::string config_for(const TempDir& tmp, const std::string& extra = "") {
  return base_config(tmp) + extra;
}

bool is_socket(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

}  // namespace

TEST_CASE("version and help flags") {
  TempDir tmp;
  auto v = run_to_exit({ZONED_BINARY, "--version"}, tmp.file("out"));
  CHECK(v.exit_code == 0);
  CHECK_THAT(v.output, ContainsSubstring("zoned 0.1.0"));
  auto h = run_to_exit({ZONED_BINARY, "--help"}, tmp.file("out"));
  CHECK(h.exit_code == 0);
  CHECK_THAT(h.output, ContainsSubstring("--config") && ContainsSubstring("SIGTERM"));
  auto bad = run_to_exit({ZONED_BINARY, "--bogus"}, tmp.file("out"));
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.output, ContainsSubstring("unknown argument '--bogus'"));
}

TEST_CASE("a bad config stops the daemon before it serves, naming the problem") {
  TempDir tmp;
  SECTION("unknown key") {
    std::string cfg = tmp.write("c.toml", config_for(tmp, "listen_addr = \"x\"\n"));
    auto r = run_to_exit({ZONED_BINARY, "--config", cfg}, tmp.file("out"));
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, ContainsSubstring("unknown key 'listen_addr'") && ContainsSubstring("c.toml:6"));
  }
  SECTION("wrong type") {
    std::string cfg = tmp.write("c.toml", config_for(tmp, "log_level = true\n"));
    auto r = run_to_exit({ZONED_BINARY, "--config", cfg}, tmp.file("out"));
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, ContainsSubstring("'log_level' must be a string, not boolean"));
  }
  SECTION("unwritable directory") {
    std::string cfg = tmp.write("c.toml", "state_dir = \"/proc/zoned-state\"\n");
    auto r = run_to_exit({ZONED_BINARY, "--config", cfg}, tmp.file("out"));
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, ContainsSubstring("/proc/zoned-state"));
  }
  SECTION("missing file given explicitly") {
    auto r = run_to_exit({ZONED_BINARY, "--config", tmp.file("absent.toml")}, tmp.file("out"));
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, ContainsSubstring("absent.toml"));
  }
  CHECK_FALSE(is_socket(tmp.file("run/zoned.sock")));
}

TEST_CASE("check-config validates without serving") {
  TempDir tmp;
  std::string cfg = tmp.write("c.toml", config_for(tmp));
  auto r = run_to_exit({ZONED_BINARY, "--config", cfg, "--check-config"}, tmp.file("out"));
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, ContainsSubstring("configuration OK"));
  CHECK_FALSE(is_socket(tmp.file("run/zoned.sock")));
}

TEST_CASE("the daemon serves CRI on a 0660 socket and shuts down cleanly on SIGTERM") {
  TempDir tmp;
  TestDaemon daemon(tmp);
  REQUIRE(daemon.start());
  const std::string& socket = daemon.socket();

  struct stat st {};
  REQUIRE(::stat(socket.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0660);

  auto client = daemon.runtime_client();
  v1::VersionRequest vreq;
  vreq.set_version("v1");
  v1::VersionResponse vresp;
  REQUIRE(client->Version(deadline_context().get(), vreq, &vresp).ok());
  CHECK(vresp.runtime_name() == "zoned");
  CHECK(vresp.runtime_version() == "0.1.0");
  CHECK(vresp.runtime_api_version() == "v1");

  v1::StatusRequest sreq;
  sreq.set_verbose(true);
  v1::StatusResponse sresp;
  REQUIRE(client->Status(deadline_context().get(), sreq, &sresp).ok());
  const v1::RuntimeCondition* runtime_ready = nullptr;
  for (const auto& c : sresp.status().conditions()) {
    if (c.type() == "RuntimeReady") runtime_ready = &c;
  }
  REQUIRE(runtime_ready != nullptr);
  if (::access("/dev/xen/privcmd", F_OK) != 0) {
    CHECK_FALSE(runtime_ready->status());
    CHECK(runtime_ready->reason() == "XenUnavailable");
    CHECK_THAT(runtime_ready->message(), ContainsSubstring("/dev/xen/privcmd"));
  }
  CHECK_THAT(sresp.info().at("config"), ContainsSubstring(socket));

  // A fresh daemon has no pods; an RPC that is not implemented answers UNIMPLEMENTED, and the
  // daemon stays up.
  v1::ListPodSandboxRequest lreq;
  v1::ListPodSandboxResponse lresp;
  CHECK(client->ListPodSandbox(deadline_context().get(), lreq, &lresp).ok());
  CHECK(lresp.items().empty());
  v1::CheckpointContainerRequest creq;
  v1::CheckpointContainerResponse cresp;
  CHECK(client->CheckpointContainer(deadline_context().get(), creq, &cresp).error_code() ==
        grpc::StatusCode::UNIMPLEMENTED);
  CHECK(client->ListPodSandbox(deadline_context().get(), lreq, &lresp).ok());

  CHECK(daemon.stop() == 0);
  CHECK_FALSE(is_socket(socket));
  CHECK_THAT(daemon.output(), ContainsSubstring("msg=\"shutting down\"") && ContainsSubstring("msg=stopped"));
}

TEST_CASE("a stale socket is replaced; a live one or a shared state dir is refused") {
  TempDir tmp;
  std::string socket = tmp.file("run/zoned.sock");
  std::string cfg = tmp.write("c.toml", config_for(tmp));

  // Leave a stale socket behind, as a crashed daemon would.
  ::mkdir(tmp.file("run").c_str(), 0755);
  {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket.c_str(), sizeof addr.sun_path - 1);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    ::close(fd);
  }
  TestDaemon first(tmp);
  REQUIRE(first.start());
  CHECK_THAT(first.output(), ContainsSubstring("removed stale socket"));

  // Same state dir: refused by the state lock, naming the holder.
  auto same_state = run_to_exit({ZONED_BINARY, "--config", cfg}, tmp.file("second.log"));
  CHECK(same_state.exit_code == 1);
  CHECK_THAT(same_state.output, ContainsSubstring("already using state directory"));

  // Other state dir, same socket: refused, and the first daemon keeps serving.
  std::string cfg2 = tmp.write("c2.toml", "socket_path = \"" + socket + "\"\nstate_dir = \"" + tmp.file("state2") +
                                              "\"\ndata_dir = \"" + tmp.file("data2") + "\"\n");
  auto same_socket = run_to_exit({ZONED_BINARY, "--config", cfg2}, tmp.file("third.log"));
  CHECK(same_socket.exit_code == 1);
  CHECK_THAT(same_socket.output, ContainsSubstring("another process is already serving"));
  CHECK(first.process()->running());
  CHECK(is_socket(socket));

  first.process()->send_signal(SIGINT);
  auto code = first.process()->wait_exit(10s);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
}
