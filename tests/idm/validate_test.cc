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
  CHECK(validate(e).ok());
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
