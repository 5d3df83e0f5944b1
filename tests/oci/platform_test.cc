#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "zoned/oci/manifest.h"

using Catch::Matchers::ContainsSubstring;
namespace oci = zoned::oci;

namespace {

oci::Descriptor entry(char fill, std::optional<oci::Platform> platform,
                      std::map<std::string, std::string> annotations = {},
                      std::string media_type = std::string(oci::media_type::kOciManifest)) {
  auto digest = oci::Digest::parse("sha256:" + std::string(64, fill));
  return oci::Descriptor{std::move(media_type), *digest, 100, std::move(platform), std::move(annotations)};
}

oci::Platform plat(std::string os, std::string arch, std::string variant = "") {
  return oci::Platform{std::move(os), std::move(arch), std::move(variant), ""};
}

char pick(const oci::Index& index, const oci::Platform& want) {
  auto d = oci::select_platform(index, want);
  REQUIRE(d.ok());
  return d->digest.hex()[0];
}

}  // namespace

TEST_CASE("the host platform is linux/amd64 on x86-64") {
#if defined(__x86_64__)
  CHECK(oci::host_platform().os == "linux");
  CHECK(oci::host_platform().architecture == "amd64");
  CHECK(oci::host_platform().variant.empty());
#endif
}

TEST_CASE("select_platform picks the matching os and architecture") {
  oci::Index index{"",
                   {entry('1', plat("linux", "arm64", "v8")), entry('2', plat("linux", "amd64")),
                    entry('3', plat("windows", "amd64")), entry('4', plat("linux", "arm", "v7"))}};
  CHECK(pick(index, plat("linux", "amd64")) == '2');
  CHECK(pick(index, plat("linux", "x86_64")) == '2');
  CHECK(pick(index, plat("linux", "arm64")) == '1');
  CHECK(pick(index, plat("linux", "aarch64")) == '1');
  CHECK(pick(index, plat("linux", "arm64", "v8")) == '1');
  CHECK(pick(index, plat("windows", "amd64")) == '3');
  CHECK(pick(index, plat("linux", "arm")) == '4');
}

TEST_CASE("variants: exact first, then none, and arm64 without a variant means v8") {
  oci::Index arm64_plain{"", {entry('1', plat("linux", "arm64"))}};
  CHECK(pick(arm64_plain, plat("linux", "arm64", "v8")) == '1');
  oci::Index both{"",
                  {entry('1', plat("linux", "arm", "")), entry('2', plat("linux", "arm", "v6")),
                   entry('3', plat("linux", "arm", "v7"))}};
  CHECK(pick(both, plat("linux", "arm", "v7")) == '1');  // arm with no variant means v7
  CHECK(pick(both, plat("linux", "arm", "v6")) == '2');
  oci::Index older{"", {entry('2', plat("linux", "arm", "v5")), entry('3', plat("linux", "arm", "v6"))}};
  CHECK(pick(older, plat("linux", "arm", "v7")) == '3');  // newest compatible
  oci::Index amd64_v3{"", {entry('1', plat("linux", "amd64", "v3"))}};
  CHECK_FALSE(oci::select_platform(amd64_v3, plat("linux", "amd64")).ok());
  oci::Index amd64_v1{"", {entry('1', plat("linux", "amd64", "v1"))}};
  CHECK(pick(amd64_v1, plat("linux", "amd64")) == '1');
}

TEST_CASE("attestation manifests and nested indexes are skipped") {
  oci::Index index{"",
                   {entry('1', plat("unknown", "unknown")),
                    entry('2', plat("linux", "amd64"), {{"vnd.docker.reference.type", "attestation-manifest"}}),
                    entry('3', plat("linux", "amd64"), {}, std::string(oci::media_type::kOciIndex)),
                    entry('4', plat("linux", "amd64"))}};
  CHECK(pick(index, plat("linux", "amd64")) == '4');
}

TEST_CASE("an entry without a platform is only a last resort") {
  oci::Index index{"", {entry('1', std::nullopt), entry('2', plat("linux", "amd64"))}};
  CHECK(pick(index, plat("linux", "amd64")) == '2');
  oci::Index only{"", {entry('1', std::nullopt)}};
  CHECK(pick(only, plat("linux", "amd64")) == '1');
}

TEST_CASE("no match is NotFound listing the available platforms") {
  oci::Index index{"",
                   {entry('1', plat("linux", "arm64", "v8")), entry('2', plat("linux", "s390x")),
                    entry('3', plat("unknown", "unknown"))}};
  auto d = oci::select_platform(index, plat("linux", "amd64"));
  REQUIRE_FALSE(d.ok());
  CHECK(d.error().code() == zoned::ErrorCode::kNotFound);
  CHECK_THAT(d.error().message(), ContainsSubstring("linux/amd64") && ContainsSubstring("linux/arm64/v8, linux/s390x"));
  CHECK_THAT(d.error().message(), !ContainsSubstring("unknown"));
  auto empty = oci::select_platform(oci::Index{}, plat("linux", "amd64"));
  REQUIRE_FALSE(empty.ok());
  CHECK_THAT(empty.error().message(), ContainsSubstring("available: none"));
}
