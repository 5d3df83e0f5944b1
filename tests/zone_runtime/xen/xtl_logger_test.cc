// The xentoollog logger: level mapping into log.h, quiet by default, errors kept for messages.
#include "zoned/xen/xtl_logger.h"

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "zoned/common/log.h"

using Catch::Matchers::ContainsSubstring;
using zoned::xen::XtlLogger;
namespace log = zoned::log;

namespace {

// Captures log lines while alive.
struct CapturedLog {
  std::vector<std::string> lines;
  CapturedLog() {
    log::configure(log::Level::kDebug, log::Format::kText);
    log::set_sink([this](std::string_view line) { lines.emplace_back(line); });
  }
  ~CapturedLog() {
    log::set_sink(nullptr);
    log::configure(log::Level::kInfo, log::Format::kText);
  }
};

}  // namespace

TEST_CASE("level mapping") {
  CHECK(XtlLogger::forwarded_level(XTL_DEBUG) == static_cast<int>(log::Level::kDebug));
  CHECK(XtlLogger::forwarded_level(XTL_DETAIL) == static_cast<int>(log::Level::kDebug));
  CHECK(XtlLogger::forwarded_level(XTL_PROGRESS) == static_cast<int>(log::Level::kInfo));
  CHECK(XtlLogger::forwarded_level(XTL_NOTICE) == static_cast<int>(log::Level::kInfo));
  CHECK(XtlLogger::forwarded_level(XTL_WARN) == static_cast<int>(log::Level::kWarn));
  CHECK(XtlLogger::forwarded_level(XTL_ERROR) == static_cast<int>(log::Level::kError));
  CHECK(XtlLogger::forwarded_level(XTL_CRITICAL) == static_cast<int>(log::Level::kError));
}

TEST_CASE("quiet by default: info and detail are dropped, warnings and errors forwarded") {
  CapturedLog captured;
  XtlLogger logger;
  xtl_log(logger.get(), XTL_INFO, -1, "libxl", "%s", "chatty");
  xtl_log(logger.get(), XTL_DETAIL, -1, "libxl", "%s", "chattier");
  xtl_log(logger.get(), XTL_WARN, -1, "libxl", "disk %s is slow", "xvdb");
  xtl_log(logger.get(), XTL_ERROR, ENOENT, "xc", "%s", "no such thing");
  REQUIRE(captured.lines.size() == 2);
  CHECK_THAT(captured.lines[0], ContainsSubstring("disk xvdb is slow") && ContainsSubstring("libxl"));
  CHECK_THAT(captured.lines[1],
             ContainsSubstring("no such thing") && ContainsSubstring(std::strerror(ENOENT)) && ContainsSubstring("xc"));
}

TEST_CASE("a lower threshold forwards details at debug level") {
  CapturedLog captured;
  XtlLogger logger(XTL_DETAIL);
  xtl_log(logger.get(), XTL_DETAIL, -1, "libxl", "%s", "building");
  xtl_log(logger.get(), XTL_DEBUG, -1, "libxl", "%s", "below the threshold");
  REQUIRE(captured.lines.size() == 1);
  CHECK_THAT(captured.lines[0], ContainsSubstring("building"));
}

TEST_CASE("errors are kept (bounded) until taken, then cleared") {
  CapturedLog captured;
  XtlLogger logger;
  CHECK(logger.take_errors().empty());
  xtl_log(logger.get(), XTL_WARN, -1, "libxl", "%s", "only a warning");
  CHECK(logger.take_errors().empty());
  for (int i = 0; i < 10; ++i) xtl_log(logger.get(), XTL_ERROR, -1, "libxl", "error %d", i);
  std::string errors = logger.take_errors();
  CHECK(errors == "error 6; error 7; error 8; error 9");
  CHECK(logger.take_errors().empty());
}

TEST_CASE("errors are kept even when the threshold hides them from the log") {
  CapturedLog captured;
  XtlLogger logger(XTL_CRITICAL);
  xtl_log(logger.get(), XTL_ERROR, -1, "libxl", "%s", "hidden but kept");
  CHECK(captured.lines.empty());
  CHECK(logger.take_errors() == "hidden but kept");
}

TEST_CASE("long messages are cut, not overflowed") {
  CapturedLog captured;
  XtlLogger logger;
  std::string huge(100000, 'x');
  xtl_log(logger.get(), XTL_ERROR, -1, "libxl", "%s", huge.c_str());
  CHECK(logger.take_errors().size() < 1000);
}

TEST_CASE("clear_errors forgets") {
  CapturedLog captured;
  XtlLogger logger;
  xtl_log(logger.get(), XTL_ERROR, -1, "libxl", "%s", "old");
  logger.clear_errors();
  CHECK(logger.take_errors().empty());
}
