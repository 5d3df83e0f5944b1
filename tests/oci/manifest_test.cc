#include "zoned/oci/manifest.h"

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

using Catch::Matchers::ContainsSubstring;
using zoned::ErrorCode;
namespace oci = zoned::oci;
namespace mt = zoned::oci::media_type;

namespace {

const std::string kD1 = "sha256:" + std::string(64, '1');
const std::string kD2 = "sha256:" + std::string(64, '2');
const std::string kD3 = "sha256:" + std::string(64, '3');

std::string oci_manifest(const std::string& layers_json = "") {
  std::string layers = layers_json.empty()
                           ? R"([{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":")" + kD2 +
                                 R"(","size":1234,"annotations":{"a":"b"}}])"
                           : layers_json;
  return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
    "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
         kD1 + R"(","size":567},"layers":)" + layers + "}";
}

std::string docker_manifest() {
  return R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
    "config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":")" +
         kD1 + R"(","size":10},"layers":[
      {"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":")" +
         kD2 + R"(","size":20},
      {"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":")" +
         kD3 + R"(","size":30}]})";
}

std::string index_json(const std::string& media_type_field) {
  return R"({"schemaVersion":2,)" + media_type_field + R"("manifests":[
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
         kD1 + R"(","size":100,"platform":{"os":"linux","architecture":"amd64"}},
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
         kD2 + R"(","size":200,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}}]})";
}

void check_invalid(const zoned::Result<oci::Manifest>& r, const std::string& fragment) {
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code() == ErrorCode::kInvalidArgument);
  CHECK_THAT(r.error().message(), ContainsSubstring(fragment));
}

}  // namespace

TEST_CASE("an OCI manifest is parsed") {
  auto m = oci::parse_manifest(oci_manifest(), mt::kOciManifest);
  REQUIRE(m.ok());
  CHECK(m->media_type == mt::kOciManifest);
  CHECK(m->config.digest.str() == kD1);
  CHECK(m->config.size == 567);
  REQUIRE(m->layers.size() == 1);
  CHECK(m->layers[0].media_type == mt::kOciLayerGzip);
  CHECK(m->layers[0].size == 1234);
  CHECK(m->layers[0].annotations.at("a") == "b");
}

TEST_CASE("a Docker schema 2 manifest is parsed") {
  auto m =
      oci::parse_manifest(docker_manifest(), "application/vnd.docker.distribution.manifest.v2+json; charset=utf-8");
  REQUIRE(m.ok());
  CHECK(m->media_type == mt::kDockerManifest);
  CHECK(m->config.media_type == mt::kDockerConfig);
  REQUIRE(m->layers.size() == 2);
  CHECK(m->layers[1].digest.str() == kD3);
}

TEST_CASE("a generic or missing Content-Type defers to the document") {
  auto m = oci::parse_manifest(docker_manifest(), "application/json");
  REQUIRE(m.ok());
  CHECK(m->media_type == mt::kDockerManifest);
  auto no_field = oci::parse_manifest(
      R"({"schemaVersion":2,"config":{"mediaType":"x","digest":")" + kD1 + R"(","size":1},"layers":[]})", "");
  REQUIRE(no_field.ok());
  CHECK(no_field->media_type == mt::kOciManifest);
}

TEST_CASE("the Content-Type and the document's mediaType must agree") {
  check_invalid(oci::parse_manifest(docker_manifest(), mt::kOciManifest), "media type mismatch");
  check_invalid(oci::parse_manifest(oci_manifest(), mt::kOciIndex), "media type mismatch");
  check_invalid(oci::parse_manifest(index_json(""), mt::kOciIndex), "not a manifest");
}

TEST_CASE("Docker schema 1 is unimplemented with a clear message") {
  std::string schema1 = R"({"schemaVersion":1,"name":"x","tag":"y","fsLayers":[]})";
  auto m = oci::parse_manifest(schema1, "application/vnd.docker.distribution.manifest.v1+prettyjws");
  REQUIRE_FALSE(m.ok());
  CHECK(m.error().code() == ErrorCode::kUnimplemented);
  CHECK_THAT(m.error().message(), ContainsSubstring("schema 1"));
  auto by_version = oci::parse_manifest(schema1, "application/json");
  REQUIRE_FALSE(by_version.ok());
  CHECK(by_version.error().code() == ErrorCode::kUnimplemented);
  auto detected = oci::detect_manifest_media_type(schema1, "");
  REQUIRE_FALSE(detected.ok());
  CHECK(detected.error().code() == ErrorCode::kUnimplemented);
}

TEST_CASE("malformed manifests are refused naming the field") {
  check_invalid(oci::parse_manifest("{", ""), "malformed JSON");
  check_invalid(oci::parse_manifest("[]", ""), "not an object");
  check_invalid(oci::parse_manifest(R"({"config":{}})", ""), "'schemaVersion' is missing");
  check_invalid(oci::parse_manifest(R"({"schemaVersion":"2"})", ""),
                "'schemaVersion' must be the integer 2, not string");
  check_invalid(oci::parse_manifest(R"({"schemaVersion":3})", ""), "unsupported schemaVersion 3");
  check_invalid(oci::parse_manifest(R"({"schemaVersion":2,"layers":[]})", ""), "'config' is missing");
  check_invalid(oci::parse_manifest(R"({"schemaVersion":2,"mediaType":5})", ""),
                "'mediaType' must be a string, not number");
  std::string good_layer = R"({"mediaType":"m","digest":")" + kD2 + R"(","size":1})";
  check_invalid(oci::parse_manifest(oci_manifest(R"({"a":1})"), ""), "'layers' must be an array, not object");
  check_invalid(oci::parse_manifest(oci_manifest("[" + good_layer + ",5]"), ""),
                "'layers[1]' must be an object, not number");
  check_invalid(oci::parse_manifest(oci_manifest(R"([{"mediaType":"m","digest":")" + kD2 + R"(","size":"1"}])"), ""),
                "'layers[0].size' must be a non-negative integer, not string");
  check_invalid(oci::parse_manifest(oci_manifest(R"([{"mediaType":"m","digest":")" + kD2 + R"(","size":-1}])"), ""),
                "'layers[0].size' must not be negative");
  check_invalid(oci::parse_manifest(oci_manifest(R"([{"mediaType":"m","digest":")" + kD2 + R"(","size":1.5}])"), ""),
                "'layers[0].size' must be a non-negative integer, not number");
  check_invalid(oci::parse_manifest(
                    oci_manifest(R"([{"mediaType":"m","digest":")" + kD2 + R"(","size":18446744073709551615}])"), ""),
                "out of range");
  check_invalid(oci::parse_manifest(oci_manifest(R"([{"mediaType":"m","digest":"sha256:xyz","size":1}])"), ""),
                "field 'layers[0].digest'");
  check_invalid(oci::parse_manifest(oci_manifest(R"([{"mediaType":"m","size":1}])"), ""),
                "'layers[0].digest' is missing");
  check_invalid(oci::parse_manifest(oci_manifest(R"([{"digest":")" + kD2 + R"(","size":1}])"), ""),
                "'layers[0].mediaType' is missing");
  check_invalid(
      oci::parse_manifest(
          oci_manifest(R"([{"mediaType":"m","digest":")" + kD2 + R"(","size":1,"annotations":{"k":1}}])"), ""),
      "'layers[0].annotations.k' must be a string");
}

TEST_CASE("the layer count is bounded") {
  std::string layer = R"({"mediaType":"m","digest":")" + kD2 + R"(","size":1})";
  std::string many = "[";
  for (int i = 0; i < 1001; ++i) many += (i ? "," : "") + layer;
  many += "]";
  check_invalid(oci::parse_manifest(oci_manifest(many), ""), "too many entries in 'layers': 1001 (limit 1000)");
}

TEST_CASE("OCI indexes and Docker manifest lists are parsed") {
  auto oci_index = oci::parse_index(index_json(R"("mediaType":"application/vnd.oci.image.index.v1+json",)"), "");
  REQUIRE(oci_index.ok());
  CHECK(oci_index->media_type == mt::kOciIndex);
  REQUIRE(oci_index->manifests.size() == 2);
  REQUIRE(oci_index->manifests[1].platform.has_value());
  CHECK(oci_index->manifests[1].platform->architecture == "arm64");
  CHECK(oci_index->manifests[1].platform->variant == "v8");

  auto list = oci::parse_index(index_json(""), mt::kDockerManifestList);
  REQUIRE(list.ok());
  CHECK(list->media_type == mt::kDockerManifestList);

  auto not_index = oci::parse_index(oci_manifest(), "");
  REQUIRE_FALSE(not_index.ok());
  CHECK_THAT(not_index.error().message(), ContainsSubstring("not an index"));
  auto bad_platform = oci::parse_index(R"({"schemaVersion":2,"manifests":[{"mediaType":"m","digest":")" + kD1 +
                                           R"(","size":1,"platform":{"os":"linux"}}]})",
                                       "");
  REQUIRE_FALSE(bad_platform.ok());
  CHECK_THAT(bad_platform.error().message(), ContainsSubstring("'manifests[0].platform.architecture' is missing"));
}

TEST_CASE("the media type of a fetched document is detected") {
  CHECK(*oci::detect_manifest_media_type(index_json(""), "") == mt::kOciIndex);
  CHECK(*oci::detect_manifest_media_type(index_json(""), mt::kDockerManifestList) == mt::kDockerManifestList);
  CHECK(*oci::detect_manifest_media_type(oci_manifest(), "application/json") == mt::kOciManifest);
  CHECK(*oci::detect_manifest_media_type(docker_manifest(), "") == mt::kDockerManifest);
  auto unknown = oci::detect_manifest_media_type(R"({"schemaVersion":2})", "application/vnd.example+json");
  REQUIRE_FALSE(unknown.ok());
  CHECK_THAT(unknown.error().message(), ContainsSubstring("unsupported manifest media type"));
}

TEST_CASE("an image config is parsed, with Docker's nulls") {
  auto c = oci::parse_image_config(R"({
    "architecture":"amd64","os":"linux",
    "config":{"User":"1000:1000","Env":["PATH=/bin","A=b"],"Entrypoint":null,"Cmd":["sh"],
              "WorkingDir":"/w","ExposedPorts":{"80/tcp":{},"53/udp":{}},"Labels":null,
              "StopSignal":"SIGQUIT","Unknown":1},
    "rootfs":{"type":"layers","diff_ids":[")" +
                                   kD1 + R"(",")" + kD2 + R"("]},
    "history":[]})");
  REQUIRE(c.ok());
  CHECK(c->os == "linux");
  CHECK(c->architecture == "amd64");
  CHECK(c->user == "1000:1000");
  CHECK(c->env == std::vector<std::string>{"PATH=/bin", "A=b"});
  CHECK(c->entrypoint.empty());
  CHECK(c->cmd == std::vector<std::string>{"sh"});
  CHECK(c->working_dir == "/w");
  CHECK(c->exposed_ports == std::vector<std::string>{"53/udp", "80/tcp"});
  CHECK(c->labels.empty());
  CHECK(c->stop_signal == "SIGQUIT");
  REQUIRE(c->diff_ids.size() == 2);
  CHECK(c->diff_ids[1].str() == kD2);
}

TEST_CASE("bad image configs are refused naming the field") {
  auto check = [](const std::string& json, const std::string& fragment) {
    auto c = oci::parse_image_config(json);
    REQUIRE_FALSE(c.ok());
    CHECK(c.error().code() == ErrorCode::kInvalidArgument);
    CHECK_THAT(c.error().message(), ContainsSubstring("image config") && ContainsSubstring(fragment));
  };
  std::string rootfs = R"("rootfs":{"type":"layers","diff_ids":[]})";
  check("nope", "malformed JSON");
  check(R"({"os":"linux"})", "'rootfs' is missing");
  check(R"({"rootfs":{"type":"other"}})", "must be \"layers\"");
  check(R"({"rootfs":{"type":"layers","diff_ids":["x"]}})", "rootfs.diff_ids[0]");
  check(R"({"config":{"Env":"A=b"},)" + rootfs + "}", "'config.Env' must be an array of strings, not string");
  check(R"({"config":{"Cmd":["a",1]},)" + rootfs + "}", "'config.Cmd[1]' must be a string, not number");
  check(R"({"config":{"Labels":{"a":true}},)" + rootfs + "}", "'config.Labels.a' must be a string, not boolean");
  check(R"({"config":[],)" + rootfs + "}", "'config' must be an object, not array");
  check(R"({"architecture":7,)" + rootfs + "}", "'architecture' must be a string, not number");
}
