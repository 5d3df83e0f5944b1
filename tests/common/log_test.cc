#include "zoned/common/log.h"

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

using Catch::Matchers::ContainsSubstring;
namespace zlog = zoned::log;

TEST_CASE("text lines are logfmt with quoting where needed") {
  std::string line = zlog::format_line(zlog::Format::kText, "T", zlog::Level::kWarn, "disk full",
                                       {{"path", "/var/lib"}, {"free", 0}, {"note", "a \"b\""}});
  CHECK(line == R"(time=T level=warn msg="disk full" path=/var/lib free=0 note="a \"b\"")");
}

TEST_CASE("json lines parse as JSON and keep numbers and booleans unquoted") {
  std::string line = zlog::format_line(zlog::Format::kJson, "T", zlog::Level::kInfo, "ready\n",
                                       {{"socket", "/run/z.sock"}, {"pid", 42}, {"ok", true}, {"ctl", "\x01"}});
  auto j = nlohmann::json::parse(line);
  CHECK(j["msg"] == "ready\n");
  CHECK(j["pid"] == 42);
  CHECK(j["ok"] == true);
  CHECK(j["ctl"] == "\x01");
  CHECK(j["level"] == "info");
}

TEST_CASE("lines below the configured level are dropped") {
  std::vector<std::string> lines;
  zlog::set_sink([&](std::string_view l) { lines.emplace_back(l); });
  zlog::configure(zlog::Level::kWarn, zlog::Format::kText);
  zlog::info("hidden");
  zlog::error("shown", {{"k", "v"}});
  zlog::configure(zlog::Level::kInfo, zlog::Format::kText);
  zlog::set_sink(nullptr);
  REQUIRE(lines.size() == 1);
  CHECK_THAT(lines[0], ContainsSubstring("msg=shown k=v"));
}

TEST_CASE("level and format names parse") {
  CHECK(zlog::parse_level("warning") == zlog::Level::kWarn);
  CHECK_FALSE(zlog::parse_level("verbose").has_value());
  CHECK(zlog::parse_format("json") == zlog::Format::kJson);
  CHECK_FALSE(zlog::parse_format("yaml").has_value());
}
