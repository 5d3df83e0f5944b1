// netplug: parsing CNI config files and listing a config dir.
#include "zoned/netplug/cni_config.h"

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "support/temp_dir.h"

using namespace zoned::netplug;
using Catch::Matchers::ContainsSubstring;

TEST_CASE("a conflist with chained plugins and capabilities parses", "[netplug][config]") {
  auto list = parse_conflist(R"({"cniVersion":"1.0.0","name":"k8s-pod-network","plugins":[
      {"type":"bridge","bridge":"cni0","ipam":{"type":"host-local"}},
      {"type":"portmap","capabilities":{"portMappings":true,"bandwidth":false}}]})",
                             "test.conflist");
  REQUIRE(list.ok());
  CHECK(list->name == "k8s-pod-network");
  CHECK(list->cni_version == "1.0.0");
  REQUIRE(list->plugins.size() == 2);
  CHECK(list->plugins[0].type == "bridge");
  CHECK(list->plugins[1].capabilities.at("portMappings"));
  CHECK_FALSE(list->plugins[1].capabilities.at("bandwidth"));
  CHECK_THAT(list->plugins[0].raw_json, ContainsSubstring("\"cni0\""));
}

TEST_CASE("a single-plugin .conf becomes a list of one", "[netplug][config]") {
  auto list = parse_single_conf(R"({"cniVersion":"0.4.0","name":"net","type":"bridge"})", "10-net.conf");
  REQUIRE(list.ok());
  REQUIRE(list->plugins.size() == 1);
  CHECK(list->plugins[0].type == "bridge");
  auto again = parse_conflist(list->raw_json, "raw");
  REQUIRE(again.ok());
  CHECK(again->plugins[0].type == "bridge");
}

TEST_CASE("broken configs are refused with a reason", "[netplug][config]") {
  struct Case {
    const char* text;
    const char* reason;
  };
  const Case cases[] = {
      {R"({"cniVersion":"1.0.0","name":"n","plugins":[{"bridge":"x"}]})", "type"},
      {R"({"cniVersion":"1.0.0","name":"n","plugins":[]})", "empty"},
      {R"({"cniVersion":"1.0.0","name":"n"})", "plugins"},
      {R"({"cniVersion":"1.0.0","plugins":[{"type":"bridge"}]})", "name"},
      {R"({"name":"n","plugins":[{"type":"bridge"}]})", "cniVersion"},
      {R"({"cniVersion":"1.0.0","name":"../etc","plugins":[{"type":"bridge"}]})", "not valid"},
      {R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":"../../bin/sh"}]})", "plain binary"},
      {R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":7}]})", "not a string"},
      {R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":"p","capabilities":{"portMappings":"yes"}}]})",
       "boolean"},
      {R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":"bridge"})", "not valid JSON"},
      {R"([1,2])", "not a JSON object"},
  };
  for (const Case& c : cases) {
    auto list = parse_conflist(c.text, "bad.conflist");
    INFO(c.text);
    REQUIRE_FALSE(list.ok());
    CHECK(list.error().code() == zoned::ErrorCode::kInvalidArgument);
    CHECK_THAT(list.error().message(), ContainsSubstring(c.reason));
  }
}

TEST_CASE("deeply nested or huge config text is refused before parsing", "[netplug][config]") {
  std::string deep = R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":"b","x":)" + std::string(10000, '[') +
                     std::string(10000, ']') + "}]}";
  auto list = parse_conflist(deep, "deep");
  REQUIRE_FALSE(list.ok());
  CHECK_THAT(list.error().message(), ContainsSubstring("nested"));
  std::string huge(kMaxConfigBytes + 1, ' ');
  REQUIRE_FALSE(parse_conflist(huge, "huge").ok());
}

TEST_CASE("config dir listing keeps .conf, .conflist and .json, sorted by name", "[netplug][config]") {
  zoned::testing::TempDir dir;
  dir.write("20-b.conflist", "{}");
  dir.write("10-a.conf", "{}");
  dir.write("30-c.json", "{}");
  dir.write("05-notes.txt", "{}");
  dir.write(".hidden.conf", "{}");
  auto files = list_config_files(dir.path());
  REQUIRE(files.ok());
  REQUIRE(files->size() == 3);
  CHECK((*files)[0] == dir.file("10-a.conf"));
  CHECK((*files)[1] == dir.file("20-b.conflist"));
  CHECK((*files)[2] == dir.file("30-c.json"));
  auto none = list_config_files(dir.file("missing"));
  REQUIRE(none.ok());
  CHECK(none->empty());
}
