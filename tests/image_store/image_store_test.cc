// Whole pulls through ImageStore against FakeRegistryClient: pull, find, list, remove,
// persistence, single-flight, failures and recovery.
#include "zoned/image_store/image_store.h"

#include <catch2/catch_test_macros.hpp>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "erofs_inspect.h"
#include "fake_registry_client.h"
#include "fs_inspect.h"
#include "layer_builder.h"
#include "support/temp_dir.h"

namespace zoned::image_store {
namespace {

using namespace zoned::testing;

constexpr const char* kApp = "127.0.0.1:5000/test/app:1";

std::vector<Layer> busybox_layers() {
  return {make_layer({directory("bin"), file("bin/busybox", "busybox", 0755), hardlink("bin/sh", "bin/busybox"),
                      file("etc/passwd", "root:x:0:0::/root:/bin/sh\n"), file("etc/motd", "old")},
                     Compression::kGzip),
          make_layer({whiteout("etc/motd"), file("etc/hostname", "zone\n")}, Compression::kZstd)};
}

struct Fixture {
  TempDir dir;
  FakeRegistryClient registry;
  StoreOptions options;
  std::string data;

  Fixture() {
    options.data_dir = dir.file("data");
    options.state_dir = dir.file("state");
    data = options.data_dir;
  }

  std::unique_ptr<ImageStore> open() {
    auto store = ImageStore::open(options, registry);
    REQUIRE(store.ok());
    return std::move(*store);
  }

  // Nothing but committed images' files: no temporary files, no stray roots or blobs.
  bool clean(size_t roots, size_t blobs) {
    return names_in(data + "/tmp").empty() && names_in(data + "/roots").size() == roots &&
           names_in(data + "/blobs/sha256").size() == blobs;
  }
};

bool mentions(const Error& error, const std::string& text) {
  return error.message().find(text) != std::string::npos;
}

TEST_CASE("pull builds a root image; find, list and remove work, and survive a restart") {
  Fixture f;
  auto layers = busybox_layers();
  auto published = f.registry.add_image("docker.io/library/busybox:latest", layers);
  auto store = f.open();
  auto pulled = store->pull("busybox", {});
  REQUIRE(pulled.ok());
  const std::string id = published.config_digest.str();
  CHECK(pulled->id == id);
  CHECK(pulled->repo_tags == std::vector<std::string>{"docker.io/library/busybox:latest"});
  CHECK(pulled->repo_digests ==
        std::vector<std::string>{"docker.io/library/busybox@" + published.manifest_digest.str()});
  CHECK(pulled->manifest_digest == published.manifest_digest.str());
  CHECK(pulled->size == published.config_json.size() + layers[0].blob.size() + layers[1].blob.size());
  CHECK(pulled->config.cmd == std::vector<std::string>{"sh"});
  CHECK(pulled->config.labels.at("test") == "yes");
  CHECK(pulled->root_image_path == f.data + "/roots/" + std::string(published.config_digest.hex()) + ".erofs");
  CHECK(pulled->pulled_at_unix > 0);
  CHECK(f.clean(1, 3));

  REQUIRE(erofs_fsck(pulled->root_image_path));
  REQUIRE(erofs_extract(pulled->root_image_path, f.dir.file("extracted")));
  CHECK(read_text(f.dir.file("extracted/etc/hostname")) == "zone\n");
  CHECK_FALSE(exists(f.dir.file("extracted/etc/motd")));
  CHECK_FALSE(exists(f.dir.file("extracted/etc/.wh.motd")));

  std::string hex(published.config_digest.hex());
  for (std::string name : std::vector<std::string>{"busybox", "busybox:latest", "docker.io/library/busybox:latest", id,
                                                   hex, hex.substr(0, 12), "sha256:" + hex.substr(0, 12),
                                                   "docker.io/library/busybox@" + published.manifest_digest.str()}) {
    INFO(name);
    auto found = store->find(name);
    REQUIRE(found.ok());
    CHECK(found->id == id);
  }
  CHECK(store->find("busybox:1.36").error().code() == ErrorCode::kNotFound);
  CHECK(store->find(hex.substr(0, 11)).error().code() == ErrorCode::kNotFound);
  CHECK(store->list().size() == 1);

  store = f.open();  // restart
  auto found = store->find("busybox");
  REQUIRE(found.ok());
  CHECK(found->root_image_path == pulled->root_image_path);
  CHECK(found->config.cmd == std::vector<std::string>{"sh"});
  CHECK(f.clean(1, 3));

  REQUIRE(store->remove("busybox").ok());
  CHECK(store->find(id).error().code() == ErrorCode::kNotFound);
  CHECK(store->list().empty());
  CHECK(f.clean(0, 0));
  CHECK(store->remove("busybox").error().code() == ErrorCode::kNotFound);
  store = f.open();
  CHECK(store->list().empty());
}

TEST_CASE("pulling again fetches nothing") {
  Fixture f;
  auto layers = busybox_layers();
  auto published = f.registry.add_image(kApp, layers);
  auto store = f.open();
  REQUIRE(store->pull(kApp, {}).ok());
  REQUIRE(store->pull(kApp, {}).ok());
  CHECK(f.registry.fetches(layers[0].descriptor.digest) == 1);
  CHECK(f.registry.fetches(published.config_digest) == 1);
  CHECK(f.registry.resolves() == 2);
}

TEST_CASE("pull by digest records only the digest reference") {
  Fixture f;
  auto published = f.registry.add_image(kApp, busybox_layers());
  auto store = f.open();
  auto pulled = store->pull("127.0.0.1:5000/test/app@" + published.manifest_digest.str(), {});
  REQUIRE(pulled.ok());
  CHECK(pulled->repo_tags.empty());
  CHECK(pulled->repo_digests == std::vector<std::string>{"127.0.0.1:5000/test/app@" + published.manifest_digest.str()});
}

TEST_CASE("concurrent pulls of one image share the work") {
  Fixture f;
  auto layers = busybox_layers();
  auto published = f.registry.add_image(kApp, layers);
  f.registry.set_fault(layers[0].descriptor.digest, {.delay = std::chrono::milliseconds(300)});
  auto store = f.open();
  std::vector<std::thread> threads;
  std::atomic<int> succeeded = 0;
  std::string by_digest = "127.0.0.1:5000/test/app@" + published.manifest_digest.str();
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      auto pulled = store->pull(i % 2 == 0 ? kApp : by_digest, {});
      if (pulled.ok() && pulled->id == published.config_digest.str()) ++succeeded;
    });
  }
  for (auto& t : threads) t.join();
  CHECK(succeeded == 6);
  CHECK(f.registry.fetches(layers[0].descriptor.digest) == 1);
  CHECK(f.registry.fetches(layers[1].descriptor.digest) == 1);
  CHECK(f.registry.resolves() == 2);  // one per distinct reference
  auto record = store->find(kApp);
  REQUIRE(record.ok());
  CHECK(record->repo_digests.size() == 1);
  CHECK(f.clean(1, 3));
}

TEST_CASE("a moved tag leaves the old image with its digest reference") {
  Fixture f;
  auto first = f.registry.add_image(kApp, busybox_layers());
  auto store = f.open();
  REQUIRE(store->pull(kApp, {}).ok());
  auto second = f.registry.add_image(kApp, {make_layer({file("v2", "2")})}, "v2");
  auto pulled = store->pull(kApp, {});
  REQUIRE(pulled.ok());
  CHECK(pulled->id == second.config_digest.str());
  CHECK(store->find(kApp)->id == second.config_digest.str());
  auto old = store->find(first.config_digest.str());
  REQUIRE(old.ok());
  CHECK(old->repo_tags.empty());
  CHECK(old->repo_digests == std::vector<std::string>{"127.0.0.1:5000/test/app@" + first.manifest_digest.str()});
  CHECK(store->list().size() == 2);
}

TEST_CASE("images share layers; a blob goes when the last image using it does") {
  Fixture f;
  auto base = make_layer({file("base", "b")});
  auto a = f.registry.add_image("127.0.0.1:5000/a:1", {base, make_layer({file("a", "a")})}, "a");
  auto b = f.registry.add_image("127.0.0.1:5000/b:1", {base, make_layer({file("b", "b")})}, "b");
  auto store = f.open();
  REQUIRE(store->pull("127.0.0.1:5000/a:1", {}).ok());
  REQUIRE(store->pull("127.0.0.1:5000/b:1", {}).ok());
  CHECK(f.registry.fetches(base.descriptor.digest) == 1);
  CHECK(f.clean(2, 5));
  REQUIRE(store->remove("127.0.0.1:5000/a:1").ok());
  CHECK(exists(f.data + "/blobs/sha256/" + std::string(base.descriptor.digest.hex())));
  CHECK(f.clean(1, 3));
  REQUIRE(store->remove(b.config_digest.str()).ok());
  CHECK(f.clean(0, 0));
}

TEST_CASE("a failed pull leaves nothing behind, and the next pull works") {
  Fixture f;
  auto layers = busybox_layers();
  auto published = f.registry.add_image(kApp, layers);
  auto store = f.open();
  const std::string layer1 = layers[1].descriptor.digest.str();
  SECTION("transfer failure") {
    f.registry.set_fault(layers[1].descriptor.digest, {.fail = true});
    auto pulled = store->pull(kApp, {});
    REQUIRE_FALSE(pulled.ok());
    CHECK(pulled.error().message() ==
          "pulling " + std::string(kApp) + " from 127.0.0.1:5000: layer " + layer1 + ": connection reset by fake peer");
    CHECK(pulled.error().code() == ErrorCode::kUnavailable);
  }
  SECTION("corrupt layer") {
    f.registry.set_fault(layers[1].descriptor.digest, {.corrupt = true});
    auto pulled = store->pull(kApp, {});
    REQUIRE_FALSE(pulled.ok());
    CHECK(mentions(pulled.error(),
                   "from 127.0.0.1:5000: layer " + layer1 + ": digest mismatch: expected " + layer1 + ", got sha256:"));
  }
  SECTION("mkfs.erofs fails") {
    f.options.mkfs_erofs = "false";
    store = f.open();
    auto pulled = store->pull(kApp, {});
    REQUIRE_FALSE(pulled.ok());
    CHECK(mentions(pulled.error(), "building EROFS image: false exited with status 1"));
    f.options.mkfs_erofs = "mkfs.erofs";
    store = f.open();
  }
  CHECK(store->list().empty());
  CHECK(store->find(kApp).error().code() == ErrorCode::kNotFound);
  CHECK(f.clean(0, 0));

  f.registry.clear_faults();
  auto pulled = store->pull(kApp, {});
  REQUIRE(pulled.ok());
  CHECK(pulled->id == published.config_digest.str());
  CHECK(f.clean(1, 3));
}

TEST_CASE("an image without layers gets an empty root image") {
  Fixture f;
  f.registry.add_image(kApp, {});
  auto store = f.open();
  auto pulled = store->pull(kApp, {});
  REQUIRE(pulled.ok());
  CHECK(erofs_fsck(pulled->root_image_path));
  CHECK(f.clean(1, 1));
}

TEST_CASE("a restarted blob transfer still verifies") {
  Fixture f;
  auto layers = busybox_layers();
  f.registry.add_image(kApp, layers);
  f.registry.set_fault(layers[0].descriptor.digest, {.restart_once = true});
  auto store = f.open();
  REQUIRE(store->pull(kApp, {}).ok());
}

TEST_CASE("hostile or inconsistent images are refused with the cause") {
  Fixture f;
  auto store = f.open();
  SECTION("a layer escaping the root") {
    auto evil = make_layer({file("../../../etc/cron.d/x", "* * * * * root sh")});
    f.registry.add_image(kApp, {evil});
    auto pulled = store->pull(kApp, {});
    REQUIRE_FALSE(pulled.ok());
    CHECK(mentions(pulled.error(),
                   "layer " + evil.descriptor.digest.str() + ": entry '../../../etc/cron.d/x': path escapes the root"));
  }
  SECTION("a config whose diff_ids do not match the layers") {
    auto layer = make_layer({file("f", "x")});
    auto other = make_layer({file("g", "y")});
    f.registry.add_image_with_config(kApp, {layer}, make_config_json({other}));
    auto pulled = store->pull(kApp, {});
    REQUIRE_FALSE(pulled.ok());
    CHECK(mentions(pulled.error(), "does not match the config's diff_id"));
  }
  SECTION("a config listing fewer diff_ids than layers") {
    auto layer = make_layer({file("f", "x")});
    f.registry.add_image_with_config(kApp, {layer, layer}, make_config_json({layer}));
    auto pulled = store->pull(kApp, {});
    REQUIRE_FALSE(pulled.ok());
    CHECK(mentions(pulled.error(), "1 diff_ids for 2 layers"));
  }
  SECTION("a decompression bomb") {
    f.options.max_unpacked_bytes = 1 << 20;
    store = f.open();
    f.registry.add_image(kApp, {make_layer({file("zeros", std::string(8 << 20, '\0'))}, Compression::kZstd)});
    auto pulled = store->pull(kApp, {});
    REQUIRE_FALSE(pulled.ok());
    CHECK(pulled.error().code() == ErrorCode::kResourceExhausted);
    CHECK(mentions(pulled.error(), "decompression bomb?"));
  }
  SECTION("an unsupported layer media type") {
    auto layer = make_layer({file("f", "x")});
    layer.descriptor.media_type = "application/vnd.oci.image.layer.v1.tar+bzip2";
    f.registry.add_image(kApp, {layer});
    auto pulled = store->pull(kApp, {});
    REQUIRE_FALSE(pulled.ok());
    CHECK(pulled.error().code() == ErrorCode::kUnimplemented);
  }
  CHECK(store->list().empty());
  CHECK(f.clean(0, 0));
}

TEST_CASE("an unknown image or a malformed reference is an error naming it") {
  Fixture f;
  auto store = f.open();
  auto missing = store->pull("127.0.0.1:5000/nope:1", {});
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code() == ErrorCode::kNotFound);
  CHECK(missing.error().message().starts_with("pulling 127.0.0.1:5000/nope:1 from 127.0.0.1:5000: "));
  auto malformed = store->pull("UPPER/Case", {});
  REQUIRE_FALSE(malformed.ok());
  CHECK(malformed.error().code() == ErrorCode::kInvalidArgument);
  CHECK(malformed.error().message().starts_with("pulling 'UPPER/Case': "));
}

TEST_CASE("an image in use cannot be removed") {
  Fixture f;
  f.registry.add_image(kApp, busybox_layers());
  auto store = f.open();
  auto pulled = store->pull(kApp, {});
  REQUIRE(pulled.ok());
  bool used = true;
  std::string asked;
  store->set_in_use_check([&](const std::string& id) {
    asked = id;
    return used;
  });
  auto removed = store->remove(kApp);
  REQUIRE_FALSE(removed.ok());
  CHECK(removed.error().code() == ErrorCode::kFailedPrecondition);
  CHECK(asked == pulled->id);
  CHECK(exists(pulled->root_image_path));
  used = false;
  CHECK(store->remove(kApp).ok());
}

TEST_CASE("opening the store removes what interrupted pulls left") {
  Fixture f;
  f.registry.add_image(kApp, busybox_layers());
  auto store = f.open();
  auto pulled = store->pull(kApp, {});
  REQUIRE(pulled.ok());
  store.reset();
  // A crash mid-pull leaves temporary files, an unpacked tree, and maybe a root image and blobs
  // the database never recorded.
  TempDir scratch;
  std::string stray = std::string(64, 'e');
  REQUIRE(::mkdir((f.data + "/tmp/unpack-x").c_str(), 0755) == 0);
  REQUIRE(::mkdir((f.data + "/tmp/unpack-x/etc").c_str(), 0555) == 0);
  scratch.write("x", "x");
  REQUIRE(::symlink(scratch.path().c_str(), (f.data + "/tmp/unpack-x/link").c_str()) == 0);
  for (std::string path :
       std::vector<std::string>{f.data + "/tmp/blob-" + stray + "-abc", f.data + "/roots/" + stray + ".erofs",
                                f.data + "/blobs/sha256/" + stray}) {
    std::ofstream(path) << "partial";
  }
  store = f.open();
  CHECK(f.clean(1, 3));
  CHECK(exists(scratch.file("x")));
  CHECK(store->find(kApp).ok());

  // An image whose root image vanished is forgotten, with its blobs.
  store.reset();
  REQUIRE(::unlink(pulled->root_image_path.c_str()) == 0);
  store = f.open();
  CHECK(store->list().empty());
  CHECK(f.clean(0, 0));
}

TEST_CASE("usage reports the data directory's real use and its mount") {
  Fixture f;
  f.registry.add_image(kApp, busybox_layers());
  auto store = f.open();
  auto before = store->usage();
  REQUIRE(before.ok());
  REQUIRE(store->pull(kApp, {}).ok());
  auto after = store->usage();
  REQUIRE(after.ok());
  CHECK(after->used_bytes > before->used_bytes);
  CHECK(after->inodes_used == before->inodes_used + 4);  // 3 blobs and a root image
  CHECK_FALSE(after->mountpoint.empty());
  CHECK(after->mountpoint.front() == '/');
  auto now_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  CHECK(std::abs(now_ns - after->timestamp_ns) < 60'000'000'000);
}

}  // namespace
}  // namespace zoned::image_store
