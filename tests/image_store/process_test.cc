// Tests for common/process.h and common/file_ops.h, which the image store introduced (they
// live here because the image store is their first user; they could move to tests/common).
#include "zoned/common/process.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>
#include <chrono>

#include "fs_inspect.h"
#include "support/temp_dir.h"
#include "zoned/common/file_ops.h"
#include "zoned/common/scope_guard.h"

namespace zoned {
namespace {

TEST_CASE("process::run captures stdout and stderr and the exit status") {
  auto outcome = process::run({{"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}});
  REQUIRE(outcome.ok());
  CHECK(outcome->exit_code == 3);
  CHECK_FALSE(outcome->success());
  CHECK(outcome->output == "out\nerr\n");
  CHECK(outcome->describe() == "exited with status 3");
}

TEST_CASE("process::run looks programs up in PATH and gives them /dev/null as stdin") {
  auto outcome = process::run({{"cat"}});
  REQUIRE(outcome.ok());
  CHECK(outcome->success());
  CHECK(outcome->output.empty());
}

TEST_CASE("process::run reports a missing program") {
  auto outcome = process::run({{"/nonexistent/program"}});
  REQUIRE_FALSE(outcome.ok());
  CHECK(outcome.error().code() == ErrorCode::kNotFound);
}

TEST_CASE("process::run kills a child that runs out of time") {
  auto start = std::chrono::steady_clock::now();
  auto outcome = process::run({{"sleep", "30"}, std::chrono::milliseconds(200)});
  REQUIRE_FALSE(outcome.ok());
  CHECK(outcome.error().code() == ErrorCode::kDeadlineExceeded);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
}

TEST_CASE("process::run also times out a child that closed its output but keeps running") {
  auto outcome = process::run({{"/bin/sh", "-c", "exec >/dev/null 2>&1; sleep 30"}, std::chrono::milliseconds(300)});
  REQUIRE_FALSE(outcome.ok());
  CHECK(outcome.error().code() == ErrorCode::kDeadlineExceeded);
}

TEST_CASE("process::run keeps the tail of long output") {
  process::Options options{{"/bin/sh", "-c", "seq 1 100000"}};
  options.max_output_bytes = 100;
  auto outcome = process::run(options);
  REQUIRE(outcome.ok());
  CHECK(outcome->output_truncated);
  CHECK(outcome->output.size() == 100);
  CHECK(outcome->output.ends_with("99999\n100000\n"));
}

TEST_CASE("process::run reports a signal") {
  auto outcome = process::run({{"/bin/sh", "-c", "kill -9 $$"}});
  REQUIRE(outcome.ok());
  CHECK(outcome->term_signal == 9);
  CHECK(outcome->describe() == "killed by signal 9");
}

TEST_CASE("process::run_checked puts the status and output in the error") {
  auto outcome = process::run_checked({{"/bin/sh", "-c", "echo broken input >&2; exit 1"}});
  REQUIRE_FALSE(outcome.ok());
  CHECK(outcome.error().message() == "/bin/sh exited with status 1: broken input");
  CHECK(process::run_checked({{"true"}}).ok());
}

TEST_CASE("the child does not inherit our file descriptors") {
  int fd = ::open("/dev/null", O_RDONLY);  // deliberately without O_CLOEXEC
  REQUIRE(fd >= 0);
  ScopeGuard close_fd([&] { ::close(fd); });
  auto outcome = process::run({{"/bin/sh", "-c", "test -e /proc/self/fd/" + std::to_string(fd) + " && echo leaked"}});
  REQUIRE(outcome.ok());
  CHECK(outcome->output.empty());
}

TEST_CASE("ScopeGuard runs unless dismissed") {
  int runs = 0;
  {
    ScopeGuard guard([&] { ++runs; });
  }
  {
    ScopeGuard guard([&] { ++runs; });
    guard.dismiss();
  }
  CHECK(runs == 1);
}

TEST_CASE("fs::remove_tree removes a tree without following symlinks") {
  testing::TempDir outside;
  outside.write("keep", "precious");
  testing::TempDir dir;
  std::string root = dir.file("tree");
  REQUIRE(::mkdir(root.c_str(), 0755) == 0);
  REQUIRE(::mkdir((root + "/sub").c_str(), 0755) == 0);
  dir.write("tree/sub/file", "x");
  REQUIRE(::symlink(outside.path().c_str(), (root + "/sub/link").c_str()) == 0);
  REQUIRE(::mkdir((root + "/locked").c_str(), 0) == 0);
  REQUIRE(fs::remove_tree(root).ok());
  CHECK_FALSE(testing::exists(root));
  CHECK(testing::read_text(outside.file("keep")) == "precious");
  CHECK(fs::remove_tree(root).ok());  // already gone
}

TEST_CASE("fs::read_file bounds the size") {
  testing::TempDir dir;
  std::string path = dir.write("f", "12345");
  CHECK(*fs::read_file(path, 5) == "12345");
  CHECK(fs::read_file(path, 4).error().code() == ErrorCode::kResourceExhausted);
  CHECK(fs::read_file(dir.file("missing"), 4).error().code() == ErrorCode::kNotFound);
}

}  // namespace
}  // namespace zoned
