// ContainerLog: the CRI log format kubelet reads ("<RFC3339Nano> <stdout|stderr> <P|F> <text>"),
// lines split into partial records when long or flushed early, stdout and stderr kept apart.
#include "container_log.h"
#include "console_reader.h"

#include <unistd.h>

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <regex>
#include <string>
#include <vector>

#include "support/temp_dir.h"
#include "zoned/common/file_ops.h"

namespace zoned::zone_runtime {
namespace {

using testing::TempDir;

// "<stream> <tag> <text>" per record; "BAD: <line>" for a line that is not a CRI record.
std::vector<std::string> records(const std::string& path) {
  auto text = fs::read_file(path, 64 << 20);
  REQUIRE(text.ok());
  static const std::regex record(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (stdout|stderr) ([PF]) (.*)$)");
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text->size()) {
    size_t nl = text->find('\n', start);
    REQUIRE(nl != std::string::npos);  // every record ends with a newline
    const std::string line = text->substr(start, nl - start);
    std::smatch m;
    if (std::regex_match(line, m, record)) {
      out.push_back(m[1].str() + " " + m[2].str() + " " + m[3].str());
    } else {
      out.push_back("BAD: " + line);
    }
    start = nl + 1;
  }
  return out;
}

TEST_CASE("timestamps are RFC 3339 with nanoseconds in UTC", "[container-log]") {
  CHECK(ContainerLog::format_timestamp(0) == "1970-01-01T00:00:00.000000000Z");
  CHECK(ContainerLog::format_timestamp(1'700'000'000'123'456'789) == "2023-11-14T22:13:20.123456789Z");
  CHECK(ContainerLog::format_timestamp(1'000'000'007) == "1970-01-01T00:00:01.000000007Z");
}

TEST_CASE("complete lines become final records, one per line", "[container-log]") {
  TempDir dir;
  auto log = ContainerLog::open(dir.file("c.log"));
  REQUIRE(log.ok());
  REQUIRE((*log)->write(1, "hello\nworld\n").ok());
  REQUIRE((*log)->write(2, "oops\n").ok());
  REQUIRE((*log)->write(1, "\n").ok());
  CHECK(records(dir.file("c.log")) ==
        std::vector<std::string>{"stdout F hello", "stdout F world", "stderr F oops", "stdout F "});
}

TEST_CASE("a line arriving in pieces is one record", "[container-log]") {
  TempDir dir;
  auto log = ContainerLog::open(dir.file("c.log"));
  REQUIRE(log.ok());
  REQUIRE((*log)->write(1, "ab").ok());
  REQUIRE((*log)->write(1, "c").ok());
  CHECK(records(dir.file("c.log")).empty());  // nothing until the line ends
  REQUIRE((*log)->write(1, "d\nef").ok());
  CHECK(records(dir.file("c.log")) == std::vector<std::string>{"stdout F abcd"});
}

TEST_CASE("stdout and stderr lines never mix mid-line", "[container-log]") {
  TempDir dir;
  auto log = ContainerLog::open(dir.file("c.log"));
  REQUIRE(log.ok());
  REQUIRE((*log)->write(1, "out-").ok());
  REQUIRE((*log)->write(2, "err-").ok());
  REQUIRE((*log)->write(2, "line\n").ok());
  REQUIRE((*log)->write(1, "line\n").ok());
  CHECK(records(dir.file("c.log")) == std::vector<std::string>{"stderr F err-line", "stdout F out-line"});
}

TEST_CASE("flush writes pending partial lines as P records; the rest of the line follows as F", "[container-log]") {
  TempDir dir;
  auto log = ContainerLog::open(dir.file("c.log"));
  REQUIRE(log.ok());
  REQUIRE((*log)->write(1, "abc").ok());
  REQUIRE((*log)->write(2, "xyz").ok());
  REQUIRE((*log)->flush().ok());
  CHECK(records(dir.file("c.log")) == std::vector<std::string>{"stdout P abc", "stderr P xyz"});
  REQUIRE((*log)->flush().ok());  // nothing pending: nothing written
  REQUIRE((*log)->write(1, "def\n").ok());
  CHECK(records(dir.file("c.log")) == std::vector<std::string>{"stdout P abc", "stderr P xyz", "stdout F def"});
}

TEST_CASE("long lines are split into P records of at most kMaxRecordBytes", "[container-log]") {
  constexpr size_t kMax = ContainerLog::kMaxRecordBytes;
  TempDir dir;
  auto log = ContainerLog::open(dir.file("c.log"));
  REQUIRE(log.ok());

  SECTION("a complete long line") {
    REQUIRE((*log)->write(1, std::string(2 * kMax + 100, 'x') + "\n").ok());
    CHECK(records(dir.file("c.log")) == std::vector<std::string>{"stdout P " + std::string(kMax, 'x'),
                                                                 "stdout P " + std::string(kMax, 'x'),
                                                                 "stdout F " + std::string(100, 'x')});
  }
  SECTION("a line of exactly the maximum is one F record") {
    REQUIRE((*log)->write(2, std::string(kMax, 'y') + "\n").ok());
    CHECK(records(dir.file("c.log")) == std::vector<std::string>{"stderr F " + std::string(kMax, 'y')});
  }
  SECTION("a long line without its end is written as it grows, not held in memory") {
    REQUIRE((*log)->write(1, std::string(kMax + 10, 'z')).ok());
    CHECK(records(dir.file("c.log")) == std::vector<std::string>{"stdout P " + std::string(kMax, 'z')});
    REQUIRE((*log)->write(1, "\n").ok());
    CHECK(records(dir.file("c.log")) ==
          std::vector<std::string>{"stdout P " + std::string(kMax, 'z'), "stdout F " + std::string(10, 'z')});
  }
}

TEST_CASE("the log appends to an existing file and reopens after rotation", "[container-log]") {
  TempDir dir;
  const std::string path = dir.file("c.log");
  {
    auto first = ContainerLog::open(path);
    REQUIRE(first.ok());
    REQUIRE((*first)->write(1, "one\n").ok());
  }
  auto log = ContainerLog::open(path);
  REQUIRE(log.ok());
  REQUIRE((*log)->write(1, "two\n").ok());
  CHECK(records(path) == std::vector<std::string>{"stdout F one", "stdout F two"});

  REQUIRE(::rename(path.c_str(), (path + ".1").c_str()) == 0);  // kubelet rotates
  REQUIRE((*log)->reopen().ok());
  REQUIRE((*log)->write(1, "three\n").ok());
  CHECK(records(path) == std::vector<std::string>{"stdout F three"});
  CHECK(records(path + ".1") == std::vector<std::string>{"stdout F one", "stdout F two"});
}

TEST_CASE("opening a log in a missing directory fails and names the path", "[container-log]") {
  TempDir dir;
  auto log = ContainerLog::open(dir.file("missing/c.log"));
  REQUIRE_FALSE(log.ok());
  CHECK_THAT(log.error().describe(), Catch::Matchers::ContainsSubstring(dir.file("missing/c.log")));
}

TEST_CASE("console tail: CRLF line ends become newlines; other control bytes are replaced") {
  TempDir dir;
  const std::string path = dir.write("console.log", std::string("boot\r\npanic\x1b[0m\r\nlast\r"));
  CHECK(console_tail(path, 1024, true) == "boot\npanic?[0m\nlast?");
  CHECK(console_tail(path, 6, true) == "\nlast?");
  CHECK(console_tail(path, 1024, false) == std::string("boot\r\npanic\x1b[0m\r\nlast\r"));
}

}  // namespace
}  // namespace zoned::zone_runtime
