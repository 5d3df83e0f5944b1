// netplug: parsing plugin output (results, error objects, VERSION answers) as untrusted input.
#include "zoned/netplug/cni_result.h"

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

using namespace zoned::netplug;
using Catch::Matchers::ContainsSubstring;
using zoned::ErrorCode;

TEST_CASE("a 1.0.0 result parses with interfaces, ips, routes and dns", "[netplug][result]") {
  auto result = parse_cni_result(R"({"cniVersion":"1.0.0",
    "interfaces":[{"name":"cni0","mac":"aa:bb:cc:dd:ee:01"},{"name":"eth0","mac":"0a:58:0a:58:00:05","sandbox":"/run/netns/x"}],
    "ips":[{"address":"10.88.0.5/16","gateway":"10.88.0.1","interface":1},{"address":"fd00::5/64","interface":1}],
    "routes":[{"dst":"0.0.0.0/0","gw":"10.88.0.1"},{"dst":"::/0"}],
    "dns":{"nameservers":["10.96.0.10"],"search":["svc.cluster.local"]}})");
  REQUIRE(result.ok());
  REQUIRE(result->interfaces.size() == 2);
  REQUIRE(result->ips.size() == 2);
  CHECK(result->ips[0].address == "10.88.0.5");
  CHECK(result->ips[0].prefix_length == 16);
  CHECK(result->ips[0].family == 4);
  CHECK(result->ips[1].family == 6);
  CHECK(result->ips[0].interface == 1u);
  CHECK(result->routes.size() == 2);
  CHECK(result->dns.nameservers.at(0) == "10.96.0.10");
  CHECK_THAT(result->raw_json, ContainsSubstring("10.88.0.5/16"));
}

TEST_CASE("hostile results are refused", "[netplug][result]") {
  const char* cases[] = {
      R"({"cniVersion":"1.0.0","ips":[{"address":"10.0.0.300/24"}]})",
      R"({"cniVersion":"1.0.0","ips":[{"address":"10.0.0.3"}]})",
      R"({"cniVersion":"1.0.0","ips":[{"address":"10.0.0.3/33"}]})",
      R"({"cniVersion":"1.0.0","ips":[{"address":"10.0.0.3/24x"}]})",
      R"({"cniVersion":"1.0.0","ips":[{"address":"10.0.0.3/24","gateway":"fd00::1"}]})",
      R"({"cniVersion":"1.0.0","ips":[{"address":"10.0.0.3/24","interface":0}]})",
      R"({"cniVersion":"1.0.0","ips":[{"address":"10.0.0.3/24","interface":-1}]})",
      R"({"cniVersion":"1.0.0","ips":{"address":"10.0.0.3/24"}})",
      R"({"cniVersion":"1.0.0","interfaces":[{"name":"a-name-longer-than-15"}]})",
      R"({"cniVersion":"1.0.0","interfaces":[{"mac":"x"}]})",
      R"({"cniVersion":"1.0.0","routes":[{"dst":"nowhere"}]})",
      R"({"cniVersion":"1.0.0","dns":{"nameservers":["not-an-ip"]}})",
      R"({"cniVersion":"1.0.0","dns":{"nameservers":"10.0.0.1"}})",
      R"({"cniVersion":"0.2.0","ip4":{"ip":"10.0.0.3/24"}})",
      R"({"ips":[]})",
      R"("just a string")",
      "not json at all",
  };
  for (const char* text : cases) {
    INFO(text);
    auto result = parse_cni_result(text);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().code() == ErrorCode::kInvalidArgument);
  }
  std::string many = R"({"cniVersion":"1.0.0","ips":[)";
  for (int i = 0; i < 1000; ++i) many += std::string(i ? "," : "") + R"({"address":"10.0.0.3/24"})";
  many += "]}";
  CHECK_FALSE(parse_cni_result(many).ok());
  CHECK_FALSE(parse_cni_result(std::string(kMaxPluginOutputBytes + 10, ' ')).ok());
  CHECK_FALSE(parse_cni_result(std::string(100000, '[')).ok());
}

TEST_CASE("plugin error objects become errors with the CNI code mapped", "[netplug][result]") {
  auto e = parse_cni_error("bridge", R"({"cniVersion":"1.0.0","code":7,"msg":"bad config","details":"no bridge"})", "",
                           "ADD exited with status 1");
  CHECK(e.code() == ErrorCode::kFailedPrecondition);
  CHECK_THAT(e.message(), ContainsSubstring("CNI error 7"));
  CHECK_THAT(e.message(), ContainsSubstring("bad config: no bridge"));
  CHECK(parse_cni_error("p", R"({"code":11,"msg":"busy"})", "", "x").code() == ErrorCode::kUnavailable);
  auto raw = parse_cni_error("p", "", "panic: something\n", "ADD exited with status 2");
  CHECK(raw.code() == ErrorCode::kInternal);
  CHECK_THAT(raw.message(), ContainsSubstring("panic: something"));
}

TEST_CASE("VERSION answers give the supported versions", "[netplug][result]") {
  auto v = parse_version_answer(R"({"cniVersion":"1.0.0","supportedVersions":["0.4.0","1.0.0"]})");
  REQUIRE(v.ok());
  CHECK(v->size() == 2);
  auto old = parse_version_answer(R"({"cniVersion":"0.1.0"})");
  REQUIRE(old.ok());
  CHECK(old->at(0) == "0.1.0");
  CHECK_FALSE(parse_version_answer(R"({"supportedVersions":[1,2]})").ok());
  CHECK(is_supported_cni_version("0.4.0"));
  CHECK_FALSE(is_supported_cni_version("0.2.0"));
}
