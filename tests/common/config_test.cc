#include "zoned/common/config.h"

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "support/temp_dir.h"

using Catch::Matchers::ContainsSubstring;
using zoned::ErrorCode;
using zoned::parse_config;

TEST_CASE("empty config gives the documented defaults") {
  auto c = parse_config("", "test.toml");
  REQUIRE(c.ok());
  CHECK(c->socket_path == "/run/zoned/zoned.sock");
  CHECK(c->state_dir == "/var/lib/zoned");
  CHECK(c->data_dir == "/var/lib/zoned/data");
  CHECK(c->log_level == zoned::log::Level::kInfo);
  CHECK(c->log_format == zoned::log::Format::kText);
  CHECK(c->shutdown_timeout_seconds == 10);
}

TEST_CASE("every key is read") {
  auto c = parse_config(R"(
socket_path = "/tmp/z/z.sock"
socket_group = "kube"
state_dir = "/tmp/z/state"
data_dir = "/tmp/z/data"
log_level = "debug"
log_format = "json"
shutdown_timeout_seconds = 3
)",
                        "test.toml");
  REQUIRE(c.ok());
  CHECK(c->socket_path == "/tmp/z/z.sock");
  CHECK(c->socket_group == "kube");
  CHECK(c->state_dir == "/tmp/z/state");
  CHECK(c->data_dir == "/tmp/z/data");
  CHECK(c->log_level == zoned::log::Level::kDebug);
  CHECK(c->log_format == zoned::log::Format::kJson);
  CHECK(c->shutdown_timeout_seconds == 3);
}

TEST_CASE("unknown keys are refused with their line") {
  auto c = parse_config("log_level = \"info\"\nsocket_pth = \"/x\"\n", "cfg.toml");
  REQUIRE_FALSE(c.ok());
  CHECK(c.error().code() == ErrorCode::kInvalidArgument);
  CHECK_THAT(c.error().message(), ContainsSubstring("cfg.toml:2") && ContainsSubstring("unknown key 'socket_pth'") &&
                                      ContainsSubstring("socket_path"));
}

TEST_CASE("unknown tables are refused") {
  auto c = parse_config("[registry]\nmirror = \"x\"\n", "cfg.toml");
  REQUIRE_FALSE(c.ok());
  CHECK_THAT(c.error().message(), ContainsSubstring("unknown key 'registry'"));
}

TEST_CASE("wrong types are refused naming the expected type") {
  auto c = parse_config("log_level = 3\n", "cfg.toml");
  REQUIRE_FALSE(c.ok());
  CHECK_THAT(c.error().message(), ContainsSubstring("'log_level' must be a string, not integer"));
  auto t = parse_config("shutdown_timeout_seconds = \"10s\"\n", "cfg.toml");
  REQUIRE_FALSE(t.ok());
  CHECK_THAT(t.error().message(), ContainsSubstring("must be an integer, not string"));
}

TEST_CASE("invalid values are refused") {
  CHECK_FALSE(parse_config("log_level = \"loud\"\n", "c").ok());
  CHECK_FALSE(parse_config("log_format = \"xml\"\n", "c").ok());
  CHECK_FALSE(parse_config("state_dir = \"relative/dir\"\n", "c").ok());
  CHECK_FALSE(parse_config("shutdown_timeout_seconds = -1\n", "c").ok());
  auto long_socket = parse_config("socket_path = \"/" + std::string(120, 'a') + "\"\n", "c");
  REQUIRE_FALSE(long_socket.ok());
  CHECK_THAT(long_socket.error().message(), ContainsSubstring("107 bytes"));
}

TEST_CASE("TOML syntax errors name file, line and column") {
  auto c = parse_config("log_level = \"info\"\nstate_dir = \n", "bad.toml");
  REQUIRE_FALSE(c.ok());
  CHECK_THAT(c.error().message(), ContainsSubstring("bad.toml:2:"));
}

TEST_CASE("a missing config file is an error naming it") {
  auto c = zoned::load_config_file("/nonexistent/zoned.toml");
  REQUIRE_FALSE(c.ok());
  CHECK(c.error().code() == ErrorCode::kNotFound);
  CHECK_THAT(c.error().describe(), ContainsSubstring("/nonexistent/zoned.toml"));
}

TEST_CASE("prepare_config_dirs creates the directories and refuses unusable ones") {
  zoned::testing::TempDir tmp;
  zoned::Config config;
  config.state_dir = tmp.file("state");
  config.data_dir = tmp.file("data/nested");
  config.socket_path = tmp.file("run/zoned.sock");
  REQUIRE(zoned::prepare_config_dirs(config).ok());

  std::string file = tmp.write("plainfile", "x");
  config.data_dir = file + "/sub";
  auto st = zoned::prepare_config_dirs(config);
  REQUIRE_FALSE(st.ok());
  CHECK_THAT(st.error().describe(), ContainsSubstring("plainfile"));
}

TEST_CASE("registry hosts: mirrors, plain HTTP and TLS verification") {
  auto c = parse_config(R"(
[registries."registry.k8s.io"]
mirrors = ["http://127.0.0.1:5000/", "https://mirror.example:8443"]

[registries."127.0.0.1:5000"]
plain_http = true
insecure_skip_verify = false
)",
                        "r.toml");
  REQUIRE(c.ok());
  REQUIRE(c->registries.size() == 2);
  const auto& k8s = c->registries.at("registry.k8s.io");
  CHECK(k8s.mirrors == std::vector<std::string>{"http://127.0.0.1:5000", "https://mirror.example:8443"});
  CHECK_FALSE(k8s.plain_http);
  CHECK(c->registries.at("127.0.0.1:5000").plain_http);
}

TEST_CASE("registry hosts: bad entries are refused by name") {
  auto bad_url = parse_config("[registries.\"docker.io\"]\nmirrors = [\"ftp://x\"]\n", "r.toml");
  REQUIRE_FALSE(bad_url.ok());
  CHECK_THAT(bad_url.error().message(), ContainsSubstring("registries.\"docker.io\".mirrors"));
  auto path_url = parse_config("[registries.\"docker.io\"]\nmirrors = [\"http://x/some/path\"]\n", "r.toml");
  CHECK_FALSE(path_url.ok());
  auto unknown = parse_config("[registries.\"docker.io\"]\nmirror = [\"http://x\"]\n", "r.toml");
  REQUIRE_FALSE(unknown.ok());
  CHECK_THAT(unknown.error().message(), ContainsSubstring("unknown key 'registries.\"docker.io\".mirror'"));
  auto wrong_type = parse_config("[registries.\"docker.io\"]\nplain_http = \"yes\"\n", "r.toml");
  REQUIRE_FALSE(wrong_type.ok());
  CHECK_THAT(wrong_type.error().message(), ContainsSubstring("must be a boolean, not string"));
  CHECK_FALSE(parse_config("registries = 3\n", "r.toml").ok());
}
