// The image store against real registries: Debian's docker-registry started by
// tests/registry/harness (anonymous, basic auth, bearer token auth, a fault-injecting proxy),
// through the real HttpRegistryClient. ctest starts the harness as a fixture and passes
// DIR/env.json in ZONED_TEST_REGISTRY_ENV; without it these tests are skipped.
//
// Each image's unpacked tree is compared with the harness's expected_tree (checked against
// containerd's unpack) by tests/registry/checktree, and so is the EROFS root image, extracted
// with fsck.erofs (which restores only the low 9 permission bits and no hard links: those are
// checked in the image itself with dump.erofs).
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "apply_layers.h"
#include "erofs_inspect.h"
#include "fs_inspect.h"
#include "support/temp_dir.h"
#include "zoned/image_store/image_store.h"
#include "zoned/oci/http_registry_client.h"

namespace zoned::image_store {
namespace {

using Json = nlohmann::json;
using namespace zoned::testing;

const char* env_path() {
  const char* path = std::getenv("ZONED_TEST_REGISTRY_ENV");
  if (path == nullptr) SKIP("ZONED_TEST_REGISTRY_ENV not set (run through ctest, which starts tests/registry/harness)");
  return path;
}

Json load_env() {
  std::ifstream in(env_path());
  REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  return Json::parse(text.str());
}

oci::RegistryClientOptions client_options(const Json& env) {
  oci::RegistryClientOptions options;
  for (const auto& item : env["registries"].items()) {
    options.hosts[item.value()["host"].get<std::string>()].plain_http = true;
  }
  options.max_attempts = 3;
  return options;
}

struct Fixture {
  Json env = load_env();
  TempDir dir;
  oci::HttpRegistryClient client{client_options(env)};
  std::unique_ptr<ImageStore> store;

  Fixture() {
    StoreOptions options;
    options.data_dir = dir.file("data");
    options.state_dir = dir.file("state");
    auto opened = ImageStore::open(options, client);
    REQUIRE(opened.ok());
    store = std::move(*opened);
  }

  std::string reference(const std::string& image, const std::string& registry) const {
    return env["images"][image]["references"][registry][0].get<std::string>();
  }

  oci::Credentials creds(const std::string& registry) const {
    oci::Credentials c;
    c.username = env["registries"][registry]["username"].get<std::string>();
    c.password = env["registries"][registry]["password"].get<std::string>();
    return c;
  }
};

// checktree's differences. With `extracted`, what fsck.erofs --extract does not restore is
// dropped: special mode bits and hard links (the caller checks those in the image itself).
std::string checktree(const std::string& rootfs, const std::string& image, bool extracted) {
  auto outcome = process::run({{ZONED_SOURCE_DIR "/tests/registry/checktree", rootfs, env_path(), image}});
  REQUIRE(outcome.ok());
  std::istringstream lines(outcome->output);
  std::string line, differences;
  while (std::getline(lines, line)) {
    if (line.starts_with("checktree:")) continue;
    if (extracted && line.starts_with("hardlink: ")) continue;
    auto want = line.rfind(", want ");
    if (extracted && line.starts_with("mode: ") && want != std::string::npos) {
      unsigned long have = std::stoul(line.substr(line.rfind(": ", want) + 2), nullptr, 8);
      unsigned long wanted = std::stoul(line.substr(want + 7), nullptr, 8);
      if (have == (wanted & 0777)) continue;
    }
    differences += line + "\n";
  }
  return differences;
}

TEST_CASE("pulled images unpack to exactly the expected tree") {
  auto name = GENERATE(as<std::string>{}, "multilayer", "zstd", "docker-schema2", "busybox");
  INFO(name);
  Fixture f;
  const Json& image = f.env["images"][name];
  auto pulled = f.store->pull(f.reference(name, "anon"), {});
  REQUIRE(pulled.ok());
  CHECK(pulled->id == image["config_digest"].get<std::string>());
  CHECK(pulled->manifest_digest == image["manifest_digest"].get<std::string>());

  // The unpacked tree, rebuilt from the store's verified blobs with the store's applier.
  std::string rootfs = f.dir.file("rootfs");
  REQUIRE(::mkdir(rootfs.c_str(), 0755) == 0);
  std::vector<Layer> layers;
  for (const Json& layer : image["layers"]) {
    std::string digest = layer["digest"].get<std::string>();
    std::string blob = read_text(f.dir.file("data/blobs/sha256/" + digest.substr(7)));
    auto diff_id = oci::Digest::parse(layer["diff_id"].get<std::string>());
    REQUIRE(diff_id.ok());
    layers.push_back(Layer{blob,
                           {layer["media_type"].get<std::string>(),
                            *oci::Digest::parse(digest),
                            static_cast<int64_t>(blob.size()),
                            {},
                            {}},
                           *diff_id});
  }
  REQUIRE(apply_layers(rootfs, layers).ok());
  CHECK(checktree(rootfs, name, false) == "");

  // The root image zones boot.
  REQUIRE(erofs_fsck(pulled->root_image_path));
  std::string extracted = f.dir.file("extracted");
  REQUIRE(erofs_extract(pulled->root_image_path, extracted));
  CHECK(checktree(extracted, name, true) == "");
  const std::string& root_image = pulled->root_image_path;
  for (const auto& [path, entry] : image["expected_tree"].items()) {
    INFO(path);
    if (entry.contains("hardlink_to")) {
      auto nid = [&](const std::string& p) { return dump_field(erofs_dump(root_image, "/" + p).value_or(""), "NID"); };
      auto own = nid(path);
      REQUIRE(own.has_value());
      CHECK(own == nid(entry["hardlink_to"].get<std::string>()));
    }
    if (entry["type"] == "symlink" || (entry["mode"].get<unsigned>() & 07000) == 0) continue;
    auto mode = erofs_raw_mode(root_image, "/" + path);
    REQUIRE(mode.has_value());
    CHECK((*mode & 07777) == entry["mode"].get<unsigned>());
  }
}

TEST_CASE("pulls through basic and bearer auth, and an index resolved to this platform") {
  Fixture f;
  auto registry = GENERATE(as<std::string>{}, "basic", "bearer");
  auto pulled = f.store->pull(f.reference("busybox", registry), f.creds(registry));
  REQUIRE(pulled.ok());
  CHECK(pulled->config.cmd == std::vector<std::string>{"sh"});

  auto multiarch = f.store->pull(f.reference("multiarch", "anon"), {});
  REQUIRE(multiarch.ok());
  REQUIRE(erofs_extract(multiarch->root_image_path, f.dir.file("arch")));
  CHECK(read_text(f.dir.file("arch/etc/arch")) == "amd64\n");
}

TEST_CASE("a blob transfer cut off midway is retried and verified from the start") {
  Fixture f;
  const Json& proxy = f.env["registries"]["cutproxy"];
  const Json& layers = f.env["images"]["busybox"]["layers"];
  std::string layer = layers[0]["digest"].get<std::string>();
  REQUIRE(layers[0]["size"].get<int64_t>() > 100'000);
  std::string config = proxy["config_url"].get<std::string>() + "?mode=cut&after=50000&count=1&match=" + layer;
  REQUIRE(output_of({"curl", "-sf", config}).has_value());
  auto pulled = f.store->pull(f.reference("busybox", "cutproxy"), {});
  REQUIRE(pulled.ok());
  auto stats = output_of({"curl", "-sf", proxy["stats_url"].get<std::string>()});
  REQUIRE(stats.has_value());
  CHECK(Json::parse(*stats)["faulted"] == 1);
  REQUIRE(erofs_extract(pulled->root_image_path, f.dir.file("extracted")));
  CHECK(checktree(f.dir.file("extracted"), "busybox", true) == "");
}

TEST_CASE("a layer the registry serves with wrong bytes fails the pull and leaves nothing") {
  Fixture f;
  std::string corrupted = f.env["images"]["corrupt"]["corrupted_layer"].get<std::string>();
  auto pulled = f.store->pull(f.reference("corrupt", "anon"), {});
  REQUIRE_FALSE(pulled.ok());
  std::string host = f.env["registries"]["anon"]["host"].get<std::string>();
  CHECK(pulled.error().message().starts_with("pulling " + f.reference("corrupt", "anon") + " from " + host +
                                             ": layer " + corrupted + ": "));
  CHECK(pulled.error().message().find("digest mismatch") != std::string::npos);
  CHECK(f.store->list().empty());
  CHECK(names_in(f.dir.file("data/tmp")).empty());
  CHECK(names_in(f.dir.file("data/roots")).empty());
  CHECK(names_in(f.dir.file("data/blobs/sha256")).empty());
}

}  // namespace
}  // namespace zoned::image_store
