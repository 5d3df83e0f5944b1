// validate(): the semantic limits on each field, applied to envelopes that framed fine.
#include "zoned/idm/validate.h"

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <string>

#include "sample_messages.h"

namespace zoned::idm {
namespace {

using Catch::Matchers::ContainsSubstring;

void require_invalid(const Envelope& e, const std::string& field) {
  auto status = validate(e);
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().code() == ErrorCode::kInvalidArgument);
  CHECK_THAT(status.error().message(), ContainsSubstring(field));
}

Envelope start_container(std::string id) {
  Envelope e;
  e.set_id(1);
  e.mutable_request()->mutable_start_container()->set_container_id(std::move(id));
  return e;
}

TEST_CASE("ids are 1..128 bytes of [A-Za-z0-9_.-]", "[idm][validate]") {
  CHECK(validate(start_container("abc-DEF_0.9")).ok());
  CHECK(validate(start_container(std::string(kMaxIdBytes, 'a'))).ok());
  require_invalid(start_container(""), "request.start_container.container_id: empty");
  require_invalid(start_container(std::string(kMaxIdBytes + 1, 'a')), "longer than 128");
  for (const char* bad : {"a/b", "../x", "a b", "a\nb", "caf\xc3\xa9", "x;y"}) {
    INFO(bad);
    require_invalid(start_container(bad), "characters other than");
  }
  require_invalid(start_container(std::string("a\0b", 3)), "characters other than");
}

TEST_CASE("envelopes need a body, an inner kind, and ids on requests and responses", "[idm][validate]") {
  require_invalid(Envelope{}, "body: not set");
  Envelope request;
  request.set_id(1);
  request.mutable_request();
  require_invalid(request, "request: no kind set");
  Envelope response;
  response.set_id(1);
  response.mutable_response();
  require_invalid(response, "response: no kind set");
  Envelope event;
  event.mutable_event();
  require_invalid(event, "event: no kind set");
  Envelope no_id = start_container("c1");
  no_id.set_id(0);
  require_invalid(no_id, "id: zero on a request");
}

TEST_CASE("exec args and env are bounded and C-string safe", "[idm][validate]") {
  Envelope e = testing::exec_start_envelope();
  auto* m = e.mutable_request()->mutable_exec_start();
  SECTION("no args") {
    m->clear_args();
    require_invalid(e, "request.exec_start.args: empty");
  }
  SECTION("too many args") {
    for (std::size_t i = 0; i < kMaxArgs; ++i) m->add_args("x");
    require_invalid(e, "request.exec_start.args: too many entries");
  }
  SECTION("one arg too long") {
    m->add_args(std::string(kMaxArgOrEnvBytes + 1, 'x'));
    require_invalid(e, "request.exec_start.args[3]: longer than");
  }
  SECTION("a NUL in an arg") {
    m->add_args(std::string("a\0b", 3));
    require_invalid(e, "args[3]: contains a NUL byte");
  }
  SECTION("args and env together too long") {
    for (int i = 0; i < 8; ++i) m->add_args(std::string(kMaxArgOrEnvBytes / 2, 'x'));
    for (int i = 0; i < 9; ++i) m->add_env("K=" + std::string(kMaxArgOrEnvBytes / 2, 'x'));
    require_invalid(e, "args and env exceed");
  }
  SECTION("too many env entries") {
    for (std::size_t i = 0; i < kMaxEnv; ++i) m->add_env("K=v");
    require_invalid(e, "request.exec_start.env: too many entries");
  }
  SECTION("env entries need KEY=") {
    m->add_env("NOEQUALS");
    require_invalid(e, "env[2]: not KEY=value");
    m->set_env(2, "=value");
    require_invalid(e, "env[2]: not KEY=value");
    m->set_env(2, "EMPTY=");
    CHECK(validate(e).ok());
  }
  SECTION("a stream id") {
    m->set_stream_id(0);
    require_invalid(e, "request.exec_start.stream_id: zero");
  }
  SECTION("a valid exec id") {
    m->set_exec_id("../../etc");
    require_invalid(e, "request.exec_start.exec_id");
  }
}

TEST_CASE("stream chunks are at most 256 KiB, with a known fd and a stream id", "[idm][validate]") {
  CHECK(validate(testing::stream_envelope(std::string(kMaxStreamChunkBytes, 'x'))).ok());
  require_invalid(testing::stream_envelope(std::string(kMaxStreamChunkBytes + 1, 'x')), "stream.data: longer than");
  Envelope e = testing::stream_envelope("x");
  e.mutable_stream()->set_fd(v1::STREAM_FD_UNSPECIFIED);
  require_invalid(e, "stream.fd: unknown");
  e.mutable_stream()->set_fd(static_cast<v1::StreamFd>(77));  // open enums keep unknown values
  require_invalid(e, "stream.fd: unknown");
  e = testing::stream_envelope("x");
  e.mutable_stream()->set_stream_id(0);
  require_invalid(e, "stream.stream_id: zero");
}

TEST_CASE("container creation needs a config and a plain device name", "[idm][validate]") {
  Envelope e;
  e.set_id(1);
  auto* c = e.mutable_request()->mutable_create_container();
  c->set_container_id("c1");
  c->set_oci_config_json("{}");
  c->set_rootfs_device("xvdb");
  c->set_stream_id(5);
  CHECK(validate(e).ok());
  c->set_stream_id(0);
  require_invalid(e, "request.create_container.stream_id: zero");
  c->set_stream_id(5);
  c->set_rootfs_device("/dev/xvdb");
  require_invalid(e, "rootfs_device: characters other than [a-z0-9]");
  c->set_rootfs_device("");
  require_invalid(e, "rootfs_device: empty or too long");
  c->set_rootfs_device("xvdb");
  c->set_oci_config_json(std::string(kMaxOciConfigBytes + 1, ' '));
  require_invalid(e, "oci_config_json: empty or too long");
  c->clear_oci_config_json();
  require_invalid(e, "oci_config_json: empty or too long");
}

TEST_CASE("a resources update names a container and carries bounded JSON", "[idm][validate]") {
  Envelope e;
  e.set_id(1);
  auto* u = e.mutable_request()->mutable_update_container();
  u->set_container_id("c1");
  u->set_resources_json(R"({"memory":{"limit":1048576}})");
  CHECK(validate(e).ok());
  u->set_resources_json(std::string(kMaxResourcesBytes + 1, ' '));
  require_invalid(e, "request.update_container.resources_json: empty or too long");
  u->clear_resources_json();
  require_invalid(e, "request.update_container.resources_json: empty or too long");
  u->set_resources_json("{}");
  u->set_container_id("../c1");
  CHECK_FALSE(validate(e).ok());
}

TEST_CASE("container user and group names are optional, bounded and printable", "[idm][validate]") {
  Envelope e;
  e.set_id(1);
  auto* c = e.mutable_request()->mutable_create_container();
  c->set_container_id("c1");
  c->set_oci_config_json("{}");
  c->set_rootfs_device("xvdb");
  c->set_stream_id(5);
  c->set_username("nobody");
  c->set_groupname("nogroup");
  CHECK(validate(e).ok());
  c->set_username(std::string("line") + '\n' + "break");
  require_invalid(e, "request.create_container.username: control characters");
  c->set_username(std::string(kMaxIdBytes + 1, 'u'));
  require_invalid(e, "request.create_container.username: longer than");
  c->clear_username();
  c->set_groupname(std::string("g") + '\x7f');
  require_invalid(e, "request.create_container.groupname: control characters");
}

TEST_CASE("exec cwd is C-string safe and user printable", "[idm][validate]") {
  Envelope e = testing::exec_start_envelope();
  auto* m = e.mutable_request()->mutable_exec_start();
  CHECK(validate(e).ok());
  m->set_cwd(std::string("/a\0b", 4));
  require_invalid(e, "request.exec_start.cwd");
  m->set_cwd(std::string(kMaxArgOrEnvBytes + 1, 'd'));
  require_invalid(e, "request.exec_start.cwd");
  m->clear_cwd();
  CHECK(validate(e).ok());
  m->set_user(std::string("root") + '\t');
  require_invalid(e, "request.exec_start.user: control characters");
  m->set_user(std::string(kMaxIdBytes + 1, 'u'));
  require_invalid(e, "request.exec_start.user: longer than");
}

TEST_CASE("deleting, exec signals and tty resizes name their target", "[idm][validate]") {
  Envelope del;
  del.set_id(1);
  del.mutable_request()->mutable_delete_container()->set_container_id("../c1");
  require_invalid(del, "request.delete_container.container_id");

  Envelope sig;
  sig.set_id(1);
  auto* s = sig.mutable_request()->mutable_signal_exec();
  s->set_exec_id("exec-1");
  s->set_signal(9);
  CHECK(validate(sig).ok());
  s->set_signal(0);
  require_invalid(sig, "request.signal_exec.signal: not a signal number");
  s->set_signal(65);
  require_invalid(sig, "request.signal_exec.signal");
  s->set_signal(9);
  s->set_exec_id("");
  require_invalid(sig, "request.signal_exec.exec_id: empty");

  Envelope resize;
  resize.set_id(1);
  auto* r = resize.mutable_request()->mutable_resize_tty();
  r->set_stream_id(3);
  r->set_rows(0xffff);
  r->set_cols(0xffff);
  CHECK(validate(resize).ok());
  r->set_cols(0x10000);
  require_invalid(resize, "request.resize_tty: rows or cols above 65535");
  r->set_cols(80);
  r->set_rows(0x10000);
  require_invalid(resize, "request.resize_tty");
  r->set_rows(24);
  r->set_stream_id(0);
  require_invalid(resize, "request.resize_tty.stream_id: zero");
}

TEST_CASE("container lists are bounded and each state is consistent", "[idm][validate]") {
  Envelope e;
  e.set_id(1);
  auto* list = e.mutable_response()->mutable_container_list();
  auto* state = list->add_containers();
  state->set_container_id("c1");
  state->set_status(v1::ContainerState::STATUS_RUNNING);
  CHECK(validate(e).ok());
  SECTION("an unspecified or unknown status") {
    state->set_status(v1::ContainerState::STATUS_UNSPECIFIED);
    require_invalid(e, "response.container_list.containers[0].status: unknown");
    state->set_status(static_cast<v1::ContainerState::Status>(9));
    require_invalid(e, "response.container_list.containers[0].status: unknown");
  }
  SECTION("a bad id") {
    list->add_containers()->set_container_id("a b");
    require_invalid(e, "response.container_list.containers[1].container_id");
  }
  SECTION("an exit for another container, or out of range") {
    state->set_status(v1::ContainerState::STATUS_EXITED);
    state->mutable_exit()->set_container_id("c2");
    require_invalid(e, "response.container_list.containers[0].exit: for another container");
    state->mutable_exit()->set_container_id("c1");
    CHECK(validate(e).ok());
    state->mutable_exit()->set_exit_code(300);
    require_invalid(e, "response.container_list.containers[0].exit.exit_code: outside 0..255");
    state->mutable_exit()->set_exit_code(0);
    state->mutable_exit()->set_signal(65);
    require_invalid(e, "response.container_list.containers[0].exit.signal");
  }
  SECTION("too many entries") {
    for (std::size_t i = 0; i < kMaxStatsEntries; ++i) {
      auto* more = list->add_containers();
      more->set_container_id("c");
      more->set_status(v1::ContainerState::STATUS_CREATED);
    }
    require_invalid(e, "response.container_list.containers: too many entries");
  }
}

TEST_CASE("container started events name a valid container", "[idm][validate]") {
  Envelope e;
  e.mutable_event()->mutable_container_started()->set_container_id("c1");
  e.mutable_event()->mutable_container_started()->set_pid(1);
  CHECK(validate(e).ok());
  e.mutable_event()->mutable_container_started()->set_container_id("");
  require_invalid(e, "event.container_started.container_id: empty");
}

TEST_CASE("signals are 1..64 and exit codes 0..255", "[idm][validate]") {
  Envelope e;
  e.set_id(1);
  auto* s = e.mutable_request()->mutable_signal_container();
  s->set_container_id("c1");
  s->set_signal(0);
  require_invalid(e, "signal_container.signal: not a signal number");
  s->set_signal(65);
  require_invalid(e, "signal_container.signal");
  s->set_signal(64);
  CHECK(validate(e).ok());

  Envelope exited;
  auto* x = exited.mutable_event()->mutable_container_exited();
  x->set_container_id("c1");
  x->set_exit_code(256);
  require_invalid(exited, "event.container_exited.exit_code: outside 0..255");
  x->set_exit_code(-1);
  require_invalid(exited, "exit_code");
  x->set_exit_code(0);
  x->set_signal(99);
  require_invalid(exited, "event.container_exited.signal");
}

TEST_CASE("hello and error replies carry bounded, printable text", "[idm][validate]") {
  Envelope hello;
  hello.set_id(1);
  auto* h = hello.mutable_request()->mutable_hello();
  h->set_agent_version("agent\x1b[31m");
  require_invalid(hello, "agent_version: control characters");
  h->set_agent_version(std::string(kMaxVersionBytes + 1, 'v'));
  require_invalid(hello, "agent_version: longer than");
  h->set_agent_version("1.0");
  for (std::size_t i = 0; i <= kMaxCapabilities; ++i) h->add_capabilities("c");
  require_invalid(hello, "capabilities: too many entries");
  h->clear_capabilities();
  h->add_capabilities("has space");
  require_invalid(hello, "capabilities[0]");

  Envelope error;
  error.set_id(1);
  auto* err = error.mutable_response()->mutable_error();
  err->set_code(v1::Error::CODE_UNSPECIFIED);
  require_invalid(error, "response.error.code: unknown");
  err->set_code(v1::Error::CODE_INTERNAL);
  err->set_message(std::string(kMaxErrorMessageBytes + 1, 'm'));
  require_invalid(error, "response.error.message: longer than");
}

TEST_CASE("stats replies are bounded", "[idm][validate]") {
  Envelope e;
  e.set_id(1);
  auto* stats = e.mutable_response()->mutable_stats();
  for (std::size_t i = 0; i <= kMaxStatsEntries; ++i) stats->add_containers()->set_container_id("c");
  require_invalid(e, "response.stats.containers: too many entries");
  stats->mutable_containers()->DeleteSubrange(0, 2);
  stats->mutable_containers(0)->set_container_id("bad id");
  require_invalid(e, "response.stats.containers[0].container_id");
}

}  // namespace
}  // namespace zoned::idm
