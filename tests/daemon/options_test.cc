#include "options.h"

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

using Catch::Matchers::ContainsSubstring;
using zoned::daemon::parse_options;

TEST_CASE("options parse in both spellings") {
  auto o = parse_options({"--config", "/a.toml", "--log-level=debug", "--check-config"});
  REQUIRE(o.ok());
  CHECK(o->config_path == "/a.toml");
  CHECK(o->log_level == "debug");
  CHECK(o->check_config);
  auto short_form = parse_options({"-c", "/b.toml", "-V"});
  REQUIRE(short_form.ok());
  CHECK(short_form->config_path == "/b.toml");
  CHECK(short_form->show_version);
  CHECK(parse_options({"--config=/c.toml"})->config_path == "/c.toml");
}

TEST_CASE("bad options are refused clearly") {
  auto unknown = parse_options({"--frobnicate"});
  REQUIRE_FALSE(unknown.ok());
  CHECK_THAT(unknown.error().message(), ContainsSubstring("unknown argument '--frobnicate'"));
  auto missing = parse_options({"--config"});
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(missing.error().message(), ContainsSubstring("needs a value"));
  CHECK_FALSE(parse_options({"--config="}).ok());
}
