// The admin service's container RPCs over a real unix socket: lifecycle, the whole spec in and
// out, waiting, logs and ExecSync.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <fstream>
#include <thread>

#include "admin_fixture.h"

using Catch::Matchers::ContainsSubstring;
using zoned::testing::AdminFixture;
namespace v1 = zoned::admin::v1;

namespace {

v1::Container get_container(AdminFixture& f, const std::string& key) {
  grpc::ClientContext cc;
  v1::GetContainerRequest request;
  request.set_container(key);
  v1::GetContainerResponse response;
  auto status = f.stub->GetContainer(&cc, request, &response);
  REQUIRE(status.error_message() == "");
  return response.container();
}

grpc::Status wait_container(AdminFixture& f, const std::string& id, int64_t timeout_ms, v1::Container* out) {
  grpc::ClientContext cc;
  v1::WaitContainerRequest request;
  request.set_container(id);
  request.set_timeout_ms(timeout_ms);
  v1::WaitContainerResponse response;
  auto status = f.stub->WaitContainer(&cc, request, &response);
  *out = response.container();
  return status;
}

// All log chunks, joined.
grpc::Status read_logs(AdminFixture& f, const std::string& id, uint64_t tail, bool follow, std::string* out) {
  grpc::ClientContext cc;
  v1::ContainerLogsRequest request;
  request.set_container(id);
  request.set_tail_bytes(tail);
  request.set_follow(follow);
  auto reader = f.stub->ContainerLogs(&cc, request);
  v1::ContainerLogsChunk chunk;
  while (reader->Read(&chunk)) *out += chunk.data();
  return reader->Finish();
}

grpc::Status exec_sync(AdminFixture& f, const v1::ExecSyncRequest& request, v1::ExecSyncResponse* out) {
  grpc::ClientContext cc;
  return f.stub->ExecSync(&cc, request, out);
}

}  // namespace

TEST_CASE("containers: the whole spec goes in and comes back out") {
  AdminFixture f;
  auto zone = f.create_zone("z");
  grpc::ClientContext cc;
  v1::CreateContainerRequest request;
  request.set_zone("z");
  auto* spec = request.mutable_spec();
  spec->set_name("app");
  spec->set_image("busybox");
  spec->add_command("/bin/sh");
  spec->add_args("-c");
  spec->add_args("echo hi");
  spec->add_env("A=1");
  spec->add_env("EMPTY=");
  spec->set_working_dir("/srv");
  spec->set_user("1000:100");
  spec->set_tty(true);
  spec->set_stdin(true);
  spec->set_readonly_rootfs(true);
  (*spec->mutable_labels())["k"] = "v";
  v1::CreateContainerResponse response;
  REQUIRE(f.stub->CreateContainer(&cc, request, &response).ok());

  auto given = f.zones.last_container_spec();
  CHECK(given.name == "app");
  CHECK(given.oci.command == std::vector<std::string>{"/bin/sh"});
  CHECK(given.oci.args == std::vector<std::string>{"-c", "echo hi"});
  CHECK(given.oci.env == std::vector<std::pair<std::string, std::string>>{{"A", "1"}, {"EMPTY", ""}});
  CHECK(given.oci.working_dir == "/srv");
  CHECK(given.oci.run_as_user == 1000);
  CHECK(given.oci.run_as_group == 100);
  CHECK(given.oci.run_as_username.empty());
  CHECK(given.oci.tty);
  CHECK(given.oci.stdin);
  CHECK(given.oci.readonly_rootfs);
  CHECK(given.labels.at("k") == "v");

  const v1::Container& c = response.container();
  CHECK(c.id().size() == 64);
  CHECK(c.zone_id() == zone.id());
  CHECK(c.state() == "created");
  CHECK(c.image_id().rfind("sha256:", 0) == 0);
  CHECK(c.log_path() == f.tmp.file(c.id() + ".log"));
  CHECK(c.spec().user() == "1000:100");
  CHECK(c.spec().env(0) == "A=1");
  CHECK(c.spec().env(1) == "EMPTY=");
  CHECK(c.spec().working_dir() == "/srv");
  CHECK(c.spec().tty());
  CHECK(c.spec().readonly_rootfs());
  CHECK(c.spec().labels().at("k") == "v");
  CHECK(c.created_at_ns() > 0);
}

TEST_CASE("containers: users by name, and malformed specs are refused before the runtime sees them") {
  AdminFixture f;
  f.create_zone("z");
  auto create = [&](const std::function<void(v1::ContainerSpec*)>& edit) {
    grpc::ClientContext cc;
    v1::CreateContainerRequest request;
    request.set_zone("z");
    request.mutable_spec()->set_image("busybox");
    edit(request.mutable_spec());
    v1::CreateContainerResponse response;
    return f.stub->CreateContainer(&cc, request, &response);
  };
  REQUIRE(create([](auto* s) { s->set_user("nobody:65534"); }).ok());
  CHECK(f.zones.last_container_spec().oci.run_as_username == "nobody");
  CHECK(f.zones.last_container_spec().oci.run_as_group == 65534);
  CHECK_FALSE(f.zones.last_container_spec().oci.run_as_user.has_value());

  struct Bad {
    std::function<void(v1::ContainerSpec*)> edit;
    std::string message;
  };
  std::vector<Bad> cases = {
      {[](auto* s) { s->set_image(""); }, "spec.image"},
      {[](auto* s) { s->add_env("NOEQUALS"); }, "spec.env"},
      {[](auto* s) { s->add_env("=value"); }, "spec.env"},
      {[](auto* s) { s->set_user("root:wheel"); }, "numeric gid"},
      {[](auto* s) { s->set_user("a b"); }, "spec.user"},
      {[](auto* s) { s->set_user("4294967295"); }, "spec.user"},
      {[](auto* s) { s->set_working_dir("relative"); }, "spec.working_dir"},
      {[](auto* s) { s->set_log_path("x.log"); }, "spec.log_path"},
  };
  auto before = f.zones.calls().size();
  for (const auto& bad : cases) {
    auto status = create(bad.edit);
    CAPTURE(bad.message);
    CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_THAT(status.error_message(), ContainsSubstring(bad.message));
  }
  CHECK(f.zones.calls().size() == before);
  CHECK(create([](auto* s) { s->set_image("not-pulled"); }).error_code() == grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("containers: start, list by zone name, wait, stop with grace, remove") {
  AdminFixture f;
  f.create_zone("a");
  f.create_zone("b");
  auto done = f.create_container("a", "done", {"exit", "3"});
  auto runner = f.create_container("a", "runner", {"sleep"});
  f.create_container("b", "other", {"sleep"});

  {
    grpc::ClientContext cc;
    v1::ListContainersRequest request;
    request.set_zone("a");
    v1::ListContainersResponse response;
    REQUIRE(f.stub->ListContainers(&cc, request, &response).ok());
    REQUIRE(response.containers_size() == 2);
    CHECK(response.containers(0).spec().name() == "done");
    CHECK(response.containers(1).spec().name() == "runner");
  }
  {
    grpc::ClientContext cc;
    v1::ListContainersResponse response;
    REQUIRE(f.stub->ListContainers(&cc, v1::ListContainersRequest(), &response).ok());
    CHECK(response.containers_size() == 3);
    grpc::ClientContext unknown_cc;
    v1::ListContainersRequest unknown;
    unknown.set_zone("nope");
    CHECK(f.stub->ListContainers(&unknown_cc, unknown, &response).error_code() == grpc::StatusCode::NOT_FOUND);
  }

  f.start_container(done.id().substr(0, 10));
  v1::Container exited;
  REQUIRE(wait_container(f, done.id(), 0, &exited).ok());
  CHECK(exited.state() == "exited");
  CHECK(exited.exit_code() == 3);
  CHECK(exited.reason() == "Error");
  CHECK(exited.finished_at_ns() >= exited.started_at_ns());

  f.start_container(runner.id());
  CHECK(get_container(f, runner.id()).state() == "running");
  CHECK(get_container(f, runner.id()).pid() == 42);
  v1::Container still;
  auto timed_out = wait_container(f, runner.id(), 300, &still);
  CHECK(timed_out.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED);
  CHECK_THAT(timed_out.error_message(), ContainsSubstring("300 ms"));

  // Removing a running container is refused; stopping it first works.
  {
    grpc::ClientContext cc;
    v1::RemoveContainerRequest request;
    request.set_container(runner.id());
    v1::RemoveContainerResponse response;
    CHECK(f.stub->RemoveContainer(&cc, request, &response).error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  }
  // A waiter blocked without a timeout is released by the stop.
  v1::Container waited;
  std::thread waiter([&] { CHECK(wait_container(f, runner.id(), 0, &waited).ok()); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  {
    grpc::ClientContext cc;
    v1::StopContainerRequest request;
    request.set_container(runner.id());
    request.set_grace_seconds(3);
    v1::StopContainerResponse response;
    REQUIRE(f.stub->StopContainer(&cc, request, &response).ok());
    CHECK(f.zones.last_grace() == std::chrono::seconds(3));
  }
  waiter.join();
  CHECK(waited.state() == "exited");
  CHECK(waited.signal() == 15);
  CHECK(waited.exit_code() == 143);
  {
    grpc::ClientContext cc;
    v1::RemoveContainerRequest request;
    request.set_container(runner.id());
    v1::RemoveContainerResponse response;
    REQUIRE(f.stub->RemoveContainer(&cc, request, &response).ok());
  }
  grpc::ClientContext cc;
  v1::GetContainerRequest request;
  request.set_container(runner.id());
  v1::GetContainerResponse response;
  CHECK(f.stub->GetContainer(&cc, request, &response).error_code() == grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("logs: the whole file, a tail starting at a whole line, and following until the exit") {
  AdminFixture f;
  f.create_zone("z");
  auto c = f.create_container("z", "app", {"sleep"});
  f.start_container(c.id());
  f.zones.append_log(c.id(), 1, "first\n");
  f.zones.append_log(c.id(), 2, "second\n");
  const std::string line1 = "2025-01-01T00:00:00.000000000Z stdout F first\n";
  const std::string line2 = "2025-01-01T00:00:00.000000000Z stderr F second\n";

  std::string all;
  REQUIRE(read_logs(f, c.id(), 0, false, &all).ok());
  CHECK(all == line1 + line2);
  std::string tail;
  REQUIRE(read_logs(f, c.id(), line2.size() + 5, false, &tail).ok());
  CHECK(tail == line2);  // the 5 bytes of line 1 are skipped, not sent half
  std::string exact;
  REQUIRE(read_logs(f, c.id(), line2.size(), false, &exact).ok());
  CHECK(exact == line2);

  std::string followed;
  std::thread reader([&] { CHECK(read_logs(f, c.id(), 0, true, &followed).ok()); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  f.zones.append_log(c.id(), 1, "third\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  f.zones.append_log(c.id(), 1, "last words\n");
  f.zones.finish_container(c.id(), 0);
  reader.join();  // ends by itself once the container exited
  CHECK(followed == line1 + line2 + "2025-01-01T00:00:00.000000000Z stdout F third\n" +
                        "2025-01-01T00:00:00.000000000Z stdout F last words\n");
}

TEST_CASE("logs: a truncated log file is read again from its start") {
  AdminFixture f;
  f.create_zone("z");
  auto c = f.create_container("z", "app", {"sleep"});
  f.start_container(c.id());
  f.zones.append_log(c.id(), 1, "a long first line before rotation\n");
  std::string followed;
  std::thread reader([&] { CHECK(read_logs(f, c.id(), 0, true, &followed).ok()); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::ofstream(c.log_path(), std::ios::trunc).close();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  f.zones.append_log(c.id(), 1, "after\n");
  f.zones.finish_container(c.id(), 0);
  reader.join();
  CHECK_THAT(followed, ContainsSubstring("before rotation") && ContainsSubstring("stdout F after\n"));
}

TEST_CASE("logs: errors") {
  AdminFixture f;
  f.create_zone("z");
  std::string out;
  CHECK(read_logs(f, "0000", 0, false, &out).error_code() == grpc::StatusCode::NOT_FOUND);
  auto c = f.create_container("z", "never-started", {"sleep"});
  // Not started: no file yet. Without follow that is NOT_FOUND naming the file.
  grpc::ClientContext cc;
  v1::ContainerLogsRequest request;
  request.set_container(c.id());
  auto reader = f.stub->ContainerLogs(&cc, request);
  v1::ContainerLogsChunk chunk;
  CHECK_FALSE(reader->Read(&chunk));
  auto status = reader->Finish();
  CHECK(status.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK_THAT(status.error_message(), ContainsSubstring(c.log_path()));
}

TEST_CASE("ExecSync: output, exit code, and the bounds it passes on") {
  AdminFixture f;
  f.create_zone("z");
  auto c = f.create_container("z", "app", {"sleep"});
  f.start_container(c.id());

  v1::ExecSyncRequest request;
  request.set_container(c.id());
  request.add_args("echo");
  request.add_args("hello");
  request.add_env("X=1");
  request.set_user("7");
  request.set_working_dir("/tmp");
  v1::ExecSyncResponse response;
  REQUIRE(exec_sync(f, request, &response).ok());
  CHECK(response.exit_code() == 0);
  CHECK(response.stdout() == "hello\n");
  CHECK(response.stderr().empty());
  CHECK(f.zones.last_exec().env == std::vector<std::string>{"X=1"});
  CHECK(f.zones.last_exec().user == "7");
  CHECK(f.zones.last_exec().cwd == "/tmp");
  CHECK(f.zones.last_exec_timeout() == std::chrono::milliseconds(60000));
  CHECK(f.zones.last_max_output() == 1024 * 1024);

  v1::ExecSyncRequest failing;
  failing.set_container(c.id());
  failing.add_args("echo-err");
  failing.add_args("oops");
  failing.set_timeout_ms(1500);
  failing.set_max_output_bytes(1ULL << 40);
  REQUIRE(exec_sync(f, failing, &response).ok());
  CHECK(response.exit_code() == 1);
  CHECK(response.stderr() == "oops\n");
  CHECK(f.zones.last_exec_timeout() == std::chrono::milliseconds(1500));
  CHECK(f.zones.last_max_output() == 4 * 1024 * 1024);  // capped

  v1::ExecSyncRequest truncated;
  truncated.set_container(c.id());
  truncated.add_args("echo");
  truncated.add_args("0123456789");
  truncated.set_max_output_bytes(4);
  REQUIRE(exec_sync(f, truncated, &response).ok());
  CHECK(response.stdout() == "0123");
  CHECK(response.output_truncated());

  v1::ExecSyncRequest hangs;
  hangs.set_container(c.id());
  hangs.add_args("sleep");
  CHECK(exec_sync(f, hangs, &response).error_code() == grpc::StatusCode::DEADLINE_EXCEEDED);

  v1::ExecSyncRequest no_command;
  no_command.set_container(c.id());
  CHECK(exec_sync(f, no_command, &response).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  v1::ExecSyncRequest negative = request;
  negative.set_timeout_ms(-5);
  CHECK(exec_sync(f, negative, &response).error_code() == grpc::StatusCode::INVALID_ARGUMENT);

  auto idle = f.create_container("z", "idle", {"sleep"});
  v1::ExecSyncRequest not_running = request;
  not_running.set_container(idle.id());
  CHECK(exec_sync(f, not_running, &response).error_code() == grpc::StatusCode::FAILED_PRECONDITION);
}
