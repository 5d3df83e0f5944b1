// Images pulled by zoned inside dom0 from a registry on the host's loopback (10.0.2.2), through
// a registry.k8s.io mirror, into an EROFS root image in dom0. Set up by e2e/run.
#include <grpcpp/grpcpp.h>

#include <array>
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "api.grpc.pb.h"

namespace v1 = runtime::v1;
using Catch::Matchers::ContainsSubstring;
using namespace std::chrono_literals;

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr) FAIL(std::string(name) + " is not set (run through e2e/run)");
  return v;
}

std::unique_ptr<v1::ImageService::Stub> image_client() {
  return v1::ImageService::NewStub(
      grpc::CreateChannel("unix:" + env("ZONED_E2E_SOCKET"), grpc::InsecureChannelCredentials()));
}

// Runs a command in dom0 through scripts/devbox exec; returns {exit status, output}.
std::pair<int, std::string> dom0(const std::string& command) {
  std::string full = env("ZONED_E2E_DEVBOX") + " exec -- " + command + " 2>&1";
  FILE* pipe = ::popen(full.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace

TEST_CASE("PullImage in dom0 through a registry.k8s.io mirror on the host, then remove") {
  std::ifstream env_file(env("ZONED_E2E_REGISTRY_ENV"));
  auto registry = nlohmann::json::parse(env_file);
  std::string id = registry["images"]["busybox"]["config_digest"];
  auto images = image_client();

  v1::PullImageRequest pull;
  pull.mutable_image()->set_image("registry.k8s.io/busybox:1.36");
  v1::PullImageResponse pulled;
  grpc::ClientContext pull_ctx;
  pull_ctx.set_deadline(std::chrono::system_clock::now() + 300s);
  auto s = images->PullImage(&pull_ctx, pull, &pulled);
  INFO(s.error_message());
  REQUIRE(s.ok());
  CHECK(pulled.image_ref() == id);

  v1::ImageStatusRequest status;
  status.mutable_image()->set_image("registry.k8s.io/busybox:1.36");
  status.set_verbose(true);
  v1::ImageStatusResponse image;
  grpc::ClientContext status_ctx;
  status_ctx.set_deadline(std::chrono::system_clock::now() + 30s);
  REQUIRE(images->ImageStatus(&status_ctx, status, &image).ok());
  REQUIRE(image.has_image());
  CHECK(image.image().id() == id);
  std::string root_image = nlohmann::json::parse(image.info().at("info"))["rootImage"];
  INFO("root image " << root_image);

  // The EROFS root image exists in dom0 and starts with the EROFS superblock magic at 1024.
  auto [rc, magic] = dom0("sh -c 'dd if=" + root_image + " bs=1 skip=1024 count=4 2>/dev/null | od -An -tx1'");
  CHECK(rc == 0);
  CHECK_THAT(magic, ContainsSubstring("e2 e1 f5 e0"));

  v1::RemoveImageRequest remove;
  remove.mutable_image()->set_image(id);
  v1::RemoveImageResponse removed;
  grpc::ClientContext remove_ctx;
  remove_ctx.set_deadline(std::chrono::system_clock::now() + 30s);
  REQUIRE(images->RemoveImage(&remove_ctx, remove, &removed).ok());
  auto [gone_rc, gone] = dom0("test -e " + root_image);
  CHECK(gone_rc == 1);
}
