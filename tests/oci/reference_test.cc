#include "zoned/oci/reference.h"

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <vector>

using Catch::Matchers::ContainsSubstring;
using zoned::ErrorCode;
using zoned::oci::Reference;

namespace {

const std::string kHex = "4b5b2e62ad9b7f3f4b2a2b0a8f1f3c1e5a0c5d1f6e7a8b9c0d1e2f3a4b5c6d7e";

struct Case {
  std::string input;
  std::string registry;
  std::string repository;
  std::string tag;
  bool has_digest;
};

}  // namespace

TEST_CASE("references are normalised like Docker and containerd") {
  auto c = GENERATE_COPY(values<Case>({
      {"busybox", "docker.io", "library/busybox", "latest", false},
      {"busybox:1.36", "docker.io", "library/busybox", "1.36", false},
      {"foo/bar", "docker.io", "foo/bar", "latest", false},
      {"docker.io/busybox", "docker.io", "library/busybox", "latest", false},
      {"docker.io/library/busybox:musl", "docker.io", "library/busybox", "musl", false},
      {"index.docker.io/busybox", "docker.io", "library/busybox", "latest", false},
      {"index.docker.io/foo/bar:v1", "docker.io", "foo/bar", "v1", false},
      {"registry.k8s.io/pause:3.10", "registry.k8s.io", "pause", "3.10", false},
      {"localhost/x", "localhost", "x", "latest", false},
      {"localhost:5000/x/y:t", "localhost:5000", "x/y", "t", false},
      {"127.0.0.1:5000/test/busybox", "127.0.0.1:5000", "test/busybox", "latest", false},
      {"[::1]:5000/x", "[::1]:5000", "x", "latest", false},
      {"ghcr.io/a/b/c/d:_tag", "ghcr.io", "a/b/c/d", "_tag", false},
      {"quay.io/a__b/c-d--e/f.g_h", "quay.io", "a__b/c-d--e/f.g_h", "latest", false},
      {"foo/bar:Tag.1-x_Y", "docker.io", "foo/bar", "Tag.1-x_Y", false},
      {"busybox@sha256:" + kHex, "docker.io", "library/busybox", "", true},
      {"busybox:1.36@sha256:" + kHex, "docker.io", "library/busybox", "1.36", true},
      {"localhost:5000/x:1@sha256:" + kHex, "localhost:5000", "x", "1", true},
  }));
  CAPTURE(c.input);
  auto r = Reference::parse(c.input);
  REQUIRE(r.ok());
  CHECK(r->registry == c.registry);
  CHECK(r->repository == c.repository);
  CHECK(r->tag == c.tag);
  CHECK(r->digest.has_value() == c.has_digest);
}

TEST_CASE("str, name, tag_ref and digest_ref are fully qualified") {
  auto r = Reference::parse("busybox");
  REQUIRE(r.ok());
  CHECK(r->name() == "docker.io/library/busybox");
  CHECK(r->str() == "docker.io/library/busybox:latest");
  CHECK(r->tag_ref() == "docker.io/library/busybox:latest");
  auto d = zoned::oci::Digest::parse("sha256:" + kHex);
  REQUIRE(d.ok());
  CHECK(r->digest_ref(*d) == "docker.io/library/busybox@sha256:" + kHex);

  auto both = Reference::parse("example.com/a:1@sha256:" + kHex);
  REQUIRE(both.ok());
  CHECK(both->str() == "example.com/a:1@sha256:" + kHex);
  auto only_digest = Reference::parse("example.com/a@sha256:" + kHex);
  REQUIRE(only_digest.ok());
  CHECK(only_digest->str() == "example.com/a@sha256:" + kHex);
  CHECK(only_digest->tag_ref().empty());
}

TEST_CASE("str of a parsed reference parses to the same reference") {
  for (const std::string& in : std::vector<std::string>{"busybox", "foo/bar:1", "localhost:5000/x@sha256:" + kHex}) {
    auto a = Reference::parse(in);
    REQUIRE(a.ok());
    auto b = Reference::parse(a->str());
    REQUIRE(b.ok());
    CHECK(b->str() == a->str());
  }
}

TEST_CASE("bad references are refused with a reason") {
  struct Bad {
    std::string input;
    std::string reason;
  };
  auto bad = GENERATE_COPY(values<Bad>({
      {"", "empty"},
      {"Busybox", "lower-case"},
      {"foo/Bar", "lower-case"},
      {"docker.io/Foo", "lower-case"},
      {"busybox:", "invalid tag"},
      {"busybox:-x", "invalid tag"},
      {"busybox:a/b", "invalid registry host"},
      {"busybox:" + std::string(129, 'a'), "invalid tag"},
      {"busybox:t@", "expected <algorithm>:<hex>"},
      {"busybox@sha256:abc", "64 hex"},
      {"busybox@sha256:" + std::string(64, 'G'), "non-hex"},
      {"busybox@md5:abc", "unsupported digest algorithm"},
      {"foo//bar", "invalid repository path component"},
      {"foo/bar/", "invalid repository path component"},
      {"/foo", "invalid repository path component"},
      {"foo_/bar", "invalid repository path component"},
      {"foo/-bar", "invalid repository path component"},
      {"foo/a...b", "invalid repository path component"},
      {"foo/a___b", "invalid repository path component"},
      {"foo bar", "invalid repository path component"},
      {"example.com/", "empty repository name"},
      {":tag", "empty repository name"},
      {"@sha256:" + kHex, "empty repository name"},
      {"exa_mple.com/x", "invalid registry host"},
      {"-example.com/x", "invalid registry host"},
      {"example.com:port/x", "invalid registry host"},
      {"example.com:/x", "invalid registry host"},
      {"[::1/x", "invalid registry host"},
      {kHex, "image ID"},
      {"example.com/" + std::string(250, 'a'), "longer than 255"},
      {std::string(2000, 'a'), "longer than 1024"},
  }));
  CAPTURE(bad.input);
  auto r = Reference::parse(bad.input);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code() != ErrorCode::kInternal);
  CHECK_THAT(r.error().message(), ContainsSubstring("invalid image reference") || ContainsSubstring("digest"));
  CHECK_THAT(r.error().message(), ContainsSubstring(bad.reason));
}

TEST_CASE("a name of exactly 255 characters is accepted") {
  std::string repo(255 - std::string("docker.io/foo/").size(), 'a');
  auto r = Reference::parse("foo/" + repo);
  REQUIRE(r.ok());
  CHECK(r->name().size() == 255);
  CHECK_FALSE(Reference::parse("foo/" + repo + "a").ok());
}
