// The Exec stream over a real unix socket: stdin in, output and the exit status out, resizes,
// signals, and a client that goes away.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <thread>

#include "admin_fixture.h"

using Catch::Matchers::ContainsSubstring;
using zoned::testing::AdminFixture;
namespace v1 = zoned::admin::v1;

namespace {

using ExecStream = grpc::ClientReaderWriter<v1::ExecClientMessage, v1::ExecServerMessage>;

struct Session {
  grpc::ClientContext cc;
  std::unique_ptr<ExecStream> stream;
  bool closed = false;  // WritesDone may be called once only

  void close() {
    if (!closed) stream->WritesDone();
    closed = true;
  }
};

std::unique_ptr<Session> start_exec(AdminFixture& f, const std::string& container, const std::vector<std::string>& args,
                                    bool tty = false, bool stdin = true, uint32_t rows = 0, uint32_t cols = 0) {
  auto s = std::make_unique<Session>();
  s->stream = f.stub->Exec(&s->cc);
  v1::ExecClientMessage start;
  start.mutable_start()->set_container(container);
  for (const auto& a : args) start.mutable_start()->add_args(a);
  start.mutable_start()->set_tty(tty);
  start.mutable_start()->set_stdin(stdin);
  start.mutable_start()->set_rows(rows);
  start.mutable_start()->set_cols(cols);
  REQUIRE(s->stream->Write(start));
  return s;
}

void send_stdin(Session& s, const std::string& data) {
  v1::ExecClientMessage m;
  m.set_stdin(data);
  REQUIRE(s.stream->Write(m));
}

// Reads until `want` was seen on stdout (or the stream ended); returns what was read.
std::string read_until(Session& s, const std::string& want) {
  std::string out;
  v1::ExecServerMessage m;
  while (out.find(want) == std::string::npos && s.stream->Read(&m)) {
    if (m.has_output()) out += m.output().data();
  }
  return out;
}

struct End {
  std::string out, err;
  std::optional<v1::ExecExit> exit;
  grpc::Status status;
};

// Reads to the end the way zonectl does: on the exit message, close our side.
End finish(Session& s) {
  End end;
  v1::ExecServerMessage m;
  while (s.stream->Read(&m)) {
    if (m.has_output()) (m.output().fd() == 2 ? end.err : end.out) += m.output().data();
    if (m.has_exit()) {
      end.exit = m.exit();
      s.close();
    }
  }
  end.status = s.stream->Finish();
  return end;
}

struct Running {
  AdminFixture f;
  std::string container;
  Running() {
    f.create_zone("z");
    container = f.create_container("z", "app", {"sleep"}).id();
    f.start_container(container);
  }
};

}  // namespace

TEST_CASE("Exec: stdin goes in, output and the exit code come out") {
  Running r;
  auto s = start_exec(r.f, r.container, {"cat"});
  send_stdin(*s, "hello ");
  CHECK(read_until(*s, "hello ") == "hello ");
  send_stdin(*s, "world\n");
  CHECK(read_until(*s, "world\n") == "world\n");
  v1::ExecClientMessage close;
  close.set_close_stdin(true);
  REQUIRE(s->stream->Write(close));
  End end = finish(*s);
  CHECK(end.status.ok());
  REQUIRE(end.exit.has_value());
  CHECK(end.exit->exit_code() == 0);
  CHECK(r.f.zones.live_exec_sessions() == 0);
}

TEST_CASE("Exec: closing our side of the stream closes the process's stdin") {
  Running r;
  auto s = start_exec(r.f, r.container, {"cat"});
  send_stdin(*s, "piped\n");
  s->close();
  End end = finish(*s);
  CHECK(end.status.ok());
  CHECK(end.out == "piped\n");
  REQUIRE(end.exit.has_value());
  CHECK(end.exit->exit_code() == 0);
}

TEST_CASE("Exec: stdout and stderr stay apart, and the exit code is the process's") {
  Running r;
  auto s = start_exec(r.f, r.container, {"echo-err", "bad", "news"}, false, false);
  End end = finish(*s);
  CHECK(end.status.ok());
  CHECK(end.out.empty());
  CHECK(end.err == "bad news\n");
  REQUIRE(end.exit.has_value());
  CHECK(end.exit->exit_code() == 1);
  CHECK(r.f.zones.last_exec().args == std::vector<std::string>{"echo-err", "bad", "news"});
}

TEST_CASE("Exec: the terminal size is set at start and on resize") {
  Running r;
  auto s = start_exec(r.f, r.container, {"size"}, true, true, 24, 80);
  CHECK(read_until(*s, "24x80\n") == "24x80\n");
  v1::ExecClientMessage resize;
  resize.mutable_resize()->set_rows(50);
  resize.mutable_resize()->set_cols(132);
  REQUIRE(s->stream->Write(resize));
  CHECK(read_until(*s, "50x132\n") == "50x132\n");
  CHECK(r.f.zones.last_exec().tty);
  CHECK(r.f.zones.last_exec().stdin);
  s->close();
  End end = finish(*s);
  REQUIRE(end.exit.has_value());
  CHECK(end.exit->exit_code() == 0);
}

TEST_CASE("Exec: a signal from the client ends the process with that signal") {
  Running r;
  auto s = start_exec(r.f, r.container, {"sleep"});
  v1::ExecClientMessage sig;
  sig.set_signal(2);
  REQUIRE(s->stream->Write(sig));
  End end = finish(*s);
  CHECK(end.status.ok());
  REQUIRE(end.exit.has_value());
  CHECK(end.exit->signal() == 2);
  CHECK(end.exit->exit_code() == 130);
}

TEST_CASE("Exec: a client that goes away gets its process killed") {
  Running r;
  auto s = start_exec(r.f, r.container, {"sleep"});
  for (int i = 0; i < 100 && r.f.zones.live_exec_sessions() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE(r.f.zones.live_exec_sessions() == 1);
  s->cc.TryCancel();
  CHECK(s->stream->Finish().error_code() == grpc::StatusCode::CANCELLED);
  // The handler notices within a wait slice, kills the process and lets the session go.
  for (int i = 0; i < 300 && r.f.zones.live_exec_sessions() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(r.f.zones.live_exec_sessions() == 0);
}

TEST_CASE("Exec: bad starts are refused with the right code") {
  Running r;
  SECTION("the first message must be ExecStart") {
    grpc::ClientContext cc;
    auto stream = r.f.stub->Exec(&cc);
    v1::ExecClientMessage m;
    m.set_stdin("too early");
    REQUIRE(stream->Write(m));
    stream->WritesDone();
    v1::ExecServerMessage reply;
    CHECK_FALSE(stream->Read(&reply));
    auto status = stream->Finish();
    CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_THAT(status.error_message(), ContainsSubstring("ExecStart"));
  }
  SECTION("an unknown container") {
    auto s = start_exec(r.f, "ffffffffffff", {"cat"});
    End end = finish(*s);
    CHECK(end.status.error_code() == grpc::StatusCode::NOT_FOUND);
    CHECK_FALSE(end.exit.has_value());
  }
  SECTION("no command") {
    auto s = start_exec(r.f, r.container, {});
    CHECK(finish(*s).status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  }
  SECTION("a container that is not running") {
    auto idle = r.f.create_container("z", "idle", {"sleep"});
    auto s = start_exec(r.f, idle.id(), {"cat"});
    CHECK(finish(*s).status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  }
}
