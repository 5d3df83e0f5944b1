// The CRI ImageService of the real daemon against real registries (tests/registry harness:
// Debian's docker-registry, anonymous, basic auth and bearer token). ZONED_TEST_REGISTRY_ENV
// names the harness's env.json.
#include <grpcpp/grpcpp.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "api.grpc.pb.h"
#include "support/temp_dir.h"
#include "support/test_daemon.h"

using Catch::Matchers::ContainsSubstring;
using zoned::testing::deadline_context;
using zoned::testing::TempDir;
using zoned::testing::TestDaemon;
namespace v1 = runtime::v1;

namespace {

const nlohmann::json& registry_env() {
  static const nlohmann::json env = [] {
    const char* path = std::getenv("ZONED_TEST_REGISTRY_ENV");
    if (path == nullptr) throw std::runtime_error("ZONED_TEST_REGISTRY_ENV is not set (run through ctest)");
    std::ifstream in(path);
    return nlohmann::json::parse(in);
  }();
  return env;
}

std::string host(const std::string& registry) {
  return registry_env()["registries"][registry]["host"];
}

std::string image_config_digest(const std::string& image) {
  return registry_env()["images"][image]["config_digest"];
}

// Plain HTTP for every harness registry; registry.k8s.io mirrored by the anonymous one.
std::string registry_config() {
  std::string out = "[registries.\"registry.k8s.io\"]\nmirrors = [\"" +
                    registry_env()["registries"]["anon"]["url"].get<std::string>() + "\"]\n";
  for (const char* r : {"anon", "basic", "bearer", "cutproxy"}) {
    out += "[registries.\"" + host(r) + "\"]\nplain_http = true\n";
  }
  return out;
}

grpc::Status pull(v1::ImageService::Stub& images, const std::string& ref, v1::PullImageResponse* response,
                  const v1::AuthConfig* auth = nullptr) {
  v1::PullImageRequest request;
  request.mutable_image()->set_image(ref);
  if (auth != nullptr) *request.mutable_auth() = *auth;
  return images.PullImage(deadline_context(std::chrono::seconds(120)).get(), request, response);
}

std::optional<v1::Image> status_of(v1::ImageService::Stub& images, const std::string& ref) {
  v1::ImageStatusRequest request;
  request.mutable_image()->set_image(ref);
  v1::ImageStatusResponse response;
  auto s = images.ImageStatus(deadline_context().get(), request, &response);
  REQUIRE(s.ok());
  if (!response.has_image()) return std::nullopt;
  return response.image();
}

std::vector<v1::Image> list(v1::ImageService::Stub& images) {
  v1::ListImagesRequest request;
  v1::ListImagesResponse response;
  REQUIRE(images.ListImages(deadline_context().get(), request, &response).ok());
  return {response.images().begin(), response.images().end()};
}

}  // namespace

TEST_CASE("pull through a mirror, inspect, survive a restart, remove") {
  TempDir tmp;
  TestDaemon daemon(tmp, registry_config());
  REQUIRE(daemon.start());
  auto images = daemon.image_client();

  v1::PullImageResponse pulled;
  auto s = pull(*images, "registry.k8s.io/busybox:1.36", &pulled);
  INFO(s.error_message());
  REQUIRE(s.ok());
  std::string id = image_config_digest("busybox");
  CHECK(pulled.image_ref() == id);

  auto image = status_of(*images, "registry.k8s.io/busybox:1.36");
  REQUIRE(image.has_value());
  CHECK(image->id() == id);
  CHECK(image->repo_tags().size() == 1);
  CHECK(image->repo_tags(0) == "registry.k8s.io/busybox:1.36");
  REQUIRE(image->repo_digests().size() == 1);
  CHECK(image->repo_digests(0) ==
        "registry.k8s.io/busybox@" + registry_env()["images"]["busybox"]["manifest_digest"].get<std::string>());
  CHECK(image->size() > 100000);
  CHECK(status_of(*images, id).has_value());  // by id as well

  v1::ImageFsInfoRequest fs_request;
  v1::ImageFsInfoResponse fs;
  REQUIRE(images->ImageFsInfo(deadline_context().get(), fs_request, &fs).ok());
  REQUIRE(fs.image_filesystems_size() == 1);
  CHECK(fs.image_filesystems(0).used_bytes().value() >= image->size());
  CHECK(fs.image_filesystems(0).inodes_used().value() > 0);
  CHECK_FALSE(fs.image_filesystems(0).fs_id().mountpoint().empty());

  // The image database survives a restart.
  REQUIRE(daemon.stop() == 0);
  REQUIRE(daemon.start());
  images = daemon.image_client();
  auto after = list(*images);
  REQUIRE(after.size() == 1);
  CHECK(after[0].id() == id);

  v1::RemoveImageRequest remove;
  remove.mutable_image()->set_image("registry.k8s.io/busybox:1.36");
  v1::RemoveImageResponse removed;
  REQUIRE(images->RemoveImage(deadline_context().get(), remove, &removed).ok());
  CHECK(list(*images).empty());
  CHECK_FALSE(status_of(*images, id).has_value());
  // Removing again is not an error.
  REQUIRE(images->RemoveImage(deadline_context().get(), remove, &removed).ok());
  CHECK(daemon.stop() == 0);
}

TEST_CASE("a blob with a wrong digest fails clearly, leaves nothing, and the next pull works") {
  TempDir tmp;
  TestDaemon daemon(tmp, registry_config());
  REQUIRE(daemon.start());
  auto images = daemon.image_client();

  std::string bad_ref = host("anon") + "/test/corrupt:v1";
  v1::PullImageResponse pulled;
  auto s = pull(*images, bad_ref, &pulled);
  REQUIRE_FALSE(s.ok());
  CHECK_THAT(s.error_message(),
             ContainsSubstring("test/corrupt") && ContainsSubstring(host("anon")) && ContainsSubstring("digest"));
  CHECK(list(*images).empty());
  CHECK_FALSE(status_of(*images, bad_ref).has_value());

  auto good = pull(*images, host("anon") + "/test/multilayer:v1", &pulled);
  INFO(good.error_message());
  REQUIRE(good.ok());
  CHECK(pulled.image_ref() == image_config_digest("multilayer"));
  CHECK(list(*images).size() == 1);

  // Unknown images are NOT_FOUND, naming the image.
  auto missing = pull(*images, host("anon") + "/test/no-such-image:v1", &pulled);
  CHECK(missing.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK_THAT(missing.error_message(), ContainsSubstring("no-such-image"));
  CHECK(daemon.stop() == 0);
}

TEST_CASE("registries with basic auth and bearer tokens, credentials from the CRI AuthConfig") {
  TempDir tmp;
  TestDaemon daemon(tmp, registry_config());
  REQUIRE(daemon.start());
  auto images = daemon.image_client();
  const auto& env = registry_env()["registries"];
  v1::PullImageResponse pulled;

  for (const char* registry : {"basic", "bearer"}) {
    INFO(registry);
    std::string ref = host(registry) + "/test/multilayer:v1";
    auto anonymous = pull(*images, ref, &pulled);
    CHECK(anonymous.error_code() == grpc::StatusCode::PERMISSION_DENIED);

    v1::AuthConfig wrong;
    wrong.set_username(env[registry]["username"].get<std::string>());
    wrong.set_password("not-the-password");
    CHECK(pull(*images, ref, &pulled, &wrong).error_code() == grpc::StatusCode::PERMISSION_DENIED);

    v1::AuthConfig right;
    right.set_username(env[registry]["username"].get<std::string>());
    right.set_password(env[registry]["password"].get<std::string>());
    auto s = pull(*images, ref, &pulled, &right);
    INFO(s.error_message());
    REQUIRE(s.ok());
    CHECK(pulled.image_ref() == image_config_digest("multilayer"));
  }
  // One image, reachable under two references.
  auto all = list(*images);
  REQUIRE(all.size() == 1);
  CHECK(all[0].repo_tags().size() == 2);
  CHECK(daemon.stop() == 0);
}

namespace {

// A small tmpfs mounted for the test's lifetime (needs root).
class SmallTmpfs {
 public:
  SmallTmpfs(const std::string& path, const std::string& size) : path_(path) {
    ::mkdir(path.c_str(), 0711);
    mounted_ = ::mount("tmpfs", path.c_str(), "tmpfs", 0, ("size=" + size).c_str()) == 0;
  }
  ~SmallTmpfs() {
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  bool resize(const std::string& size) {
    return ::mount("tmpfs", path_.c_str(), "tmpfs", MS_REMOUNT, ("size=" + size).c_str()) == 0;
  }
  uint64_t used_bytes() const {
    struct statvfs st {};
    ::statvfs(path_.c_str(), &st);
    return (st.f_blocks - st.f_bfree) * st.f_frsize;
  }

 private:
  std::string path_;
  bool mounted_ = false;
};

}  // namespace

TEST_CASE("a full disk mid-pull fails clearly, leaves nothing behind, and the next pull works") {
  if (::geteuid() != 0) SKIP("mounting a small tmpfs needs root");
  TempDir tmp;
  // The busybox layer (about 1 MB compressed, 2 MB unpacked) fits, its unpacked tree does not.
  SmallTmpfs data(tmp.file("data"), "1536k");
  REQUIRE(data.mounted());
  TestDaemon daemon(tmp, registry_config());
  REQUIRE(daemon.start());
  auto images = daemon.image_client();
  uint64_t used_before = data.used_bytes();

  std::string ref = host("anon") + "/busybox:1.36";
  v1::PullImageResponse pulled;
  auto s = pull(*images, ref, &pulled);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  CHECK_THAT(s.error_message(),
             ContainsSubstring("busybox") && ContainsSubstring(host("anon")) && ContainsSubstring("No space left"));
  CHECK(list(*images).empty());
  // Blobs, unpacked trees and partial root images are all gone again.
  CHECK(data.used_bytes() <= used_before + 64 * 1024);

  REQUIRE(data.resize("64m"));
  auto retry = pull(*images, ref, &pulled);
  INFO(retry.error_message());
  REQUIRE(retry.ok());
  CHECK(list(*images).size() == 1);
  CHECK(daemon.stop() == 0);
}
