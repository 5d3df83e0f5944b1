#include "zoned/cri/image_service.h"

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <nlohmann/json.hpp>

#include "fakes/fake_image_store.h"

namespace v1 = runtime::v1;
using Catch::Matchers::ContainsSubstring;

namespace {
zoned::image_store::ImageRecord busybox_record() {
  zoned::image_store::ImageRecord r;
  r.id = zoned::oci::sha256_of("config").str();
  r.repo_tags = {"docker.io/library/busybox:1.36"};
  r.repo_digests = {"docker.io/library/busybox@" + zoned::oci::sha256_of("manifest").str()};
  r.manifest_digest = zoned::oci::sha256_of("manifest").str();
  r.size = 1234;
  r.config.user = "1000:1000";
  r.config.labels = {{"org.example", "yes"}};
  return r;
}
}  // namespace

TEST_CASE("PullImage returns the image id and passes credentials through") {
  zoned::testing::FakeImageStore store;
  store.available["busybox:1.36"] = busybox_record();
  zoned::cri::ImageService service(store);
  v1::PullImageRequest request;
  request.mutable_image()->set_image("busybox:1.36");
  request.mutable_auth()->set_username("alice");
  request.mutable_auth()->set_password("secret");
  request.mutable_auth()->set_registry_token("tok");
  v1::PullImageResponse response;
  REQUIRE(service.PullImage(nullptr, &request, &response).ok());
  CHECK(response.image_ref() == busybox_record().id);
  CHECK(store.last_credentials.username == "alice");
  CHECK(store.last_credentials.password == "secret");
  CHECK(store.last_credentials.registry_token == "tok");
}

TEST_CASE("PullImage errors keep their code and message") {
  zoned::testing::FakeImageStore store;
  store.pull_error = zoned::Error(zoned::ErrorCode::kPermissionDenied, "pulling x from r: 401 unauthorized");
  zoned::cri::ImageService service(store);
  v1::PullImageRequest request;
  request.mutable_image()->set_image("x");
  v1::PullImageResponse response;
  auto status = service.PullImage(nullptr, &request, &response);
  CHECK(status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
  CHECK_THAT(status.error_message(), ContainsSubstring("401 unauthorized"));

  request.mutable_image()->set_image("");
  CHECK(service.PullImage(nullptr, &request, &response).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_CASE("ImageStatus: present image with user and verbose info; absent image is not an error") {
  zoned::testing::FakeImageStore store;
  store.images.push_back(busybox_record());
  zoned::cri::ImageService service(store);
  v1::ImageStatusRequest request;
  request.mutable_image()->set_image("docker.io/library/busybox:1.36");
  request.set_verbose(true);
  v1::ImageStatusResponse response;
  REQUIRE(service.ImageStatus(nullptr, &request, &response).ok());
  REQUIRE(response.has_image());
  CHECK(response.image().id() == busybox_record().id);
  CHECK(response.image().uid().value() == 1000);
  CHECK(response.image().username().empty());
  CHECK(response.image().size() == 1234);
  CHECK(response.image().spec().annotations().at("org.example") == "yes");
  auto info = nlohmann::json::parse(response.info().at("info"));
  CHECK(info["manifestDigest"] == busybox_record().manifest_digest);

  v1::ImageStatusRequest absent;
  absent.mutable_image()->set_image("nginx");
  v1::ImageStatusResponse absent_response;
  REQUIRE(service.ImageStatus(nullptr, &absent, &absent_response).ok());
  CHECK_FALSE(absent_response.has_image());
}

TEST_CASE("named users are reported as username") {
  auto record = busybox_record();
  record.config.user = "nginx:nginx";
  v1::Image image;
  zoned::cri::fill_cri_image(record, &image);
  CHECK(image.username() == "nginx");
  CHECK_FALSE(image.has_uid());
}

TEST_CASE("ListImages with and without a filter") {
  zoned::testing::FakeImageStore store;
  store.images.push_back(busybox_record());
  auto other = busybox_record();
  other.id = zoned::oci::sha256_of("other").str();
  other.repo_tags = {"docker.io/library/nginx:latest"};
  store.images.push_back(other);
  zoned::cri::ImageService service(store);
  v1::ListImagesRequest all;
  v1::ListImagesResponse all_response;
  REQUIRE(service.ListImages(nullptr, &all, &all_response).ok());
  CHECK(all_response.images_size() == 2);

  v1::ListImagesRequest filtered;
  filtered.mutable_filter()->mutable_image()->set_image("docker.io/library/nginx:latest");
  v1::ListImagesResponse filtered_response;
  REQUIRE(service.ListImages(nullptr, &filtered, &filtered_response).ok());
  REQUIRE(filtered_response.images_size() == 1);
  CHECK(filtered_response.images(0).id() == other.id);

  filtered.mutable_filter()->mutable_image()->set_image("absent");
  v1::ListImagesResponse none;
  REQUIRE(service.ListImages(nullptr, &filtered, &none).ok());
  CHECK(none.images_size() == 0);
}

TEST_CASE("RemoveImage: absent is fine, in use is refused") {
  zoned::testing::FakeImageStore store;
  store.images.push_back(busybox_record());
  zoned::cri::ImageService service(store);
  v1::RemoveImageRequest request;
  v1::RemoveImageResponse response;
  request.mutable_image()->set_image("docker.io/library/busybox:1.36");
  REQUIRE(service.RemoveImage(nullptr, &request, &response).ok());
  CHECK(store.images.empty());
  REQUIRE(service.RemoveImage(nullptr, &request, &response).ok());

  store.images.push_back(busybox_record());
  store.remove_error = zoned::Error(zoned::ErrorCode::kFailedPrecondition, "image is in use by zone z1");
  auto status = service.RemoveImage(nullptr, &request, &response);
  CHECK(status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK_THAT(status.error_message(), ContainsSubstring("in use"));
}

TEST_CASE("ImageFsInfo reports the store's usage") {
  zoned::testing::FakeImageStore store;
  store.usage_value = {"/var/lib/zoned/data", 4096, 7, 123};
  zoned::cri::ImageService service(store);
  v1::ImageFsInfoRequest request;
  v1::ImageFsInfoResponse response;
  REQUIRE(service.ImageFsInfo(nullptr, &request, &response).ok());
  REQUIRE(response.image_filesystems_size() == 1);
  const auto& fs = response.image_filesystems(0);
  CHECK(fs.fs_id().mountpoint() == "/var/lib/zoned/data");
  CHECK(fs.used_bytes().value() == 4096);
  CHECK(fs.inodes_used().value() == 7);
  CHECK(fs.timestamp() == 123);
}
