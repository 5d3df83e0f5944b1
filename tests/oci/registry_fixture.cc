#include "registry_fixture.h"

#include "zoned/oci/reference.h"

namespace zoned::oci::testing {
namespace {

std::string descriptor_json(std::string_view media_type, const Digest& digest, size_t size,
                            const std::string& extra = "") {
  return R"({"mediaType":")" + std::string(media_type) + R"(","digest":")" + digest.str() + R"(","size":)" +
         std::to_string(size) + extra + "}";
}

std::string manifest_json(const std::string& config, const std::string& layer) {
  return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":)" +
         descriptor_json(media_type::kOciConfig, sha256_of(config), config.size()) + R"(,"layers":[)" +
         descriptor_json(media_type::kOciLayerGzip, sha256_of(layer), layer.size()) + "]}";
}

Descriptor descriptor(std::string_view media_type, const std::string& content) {
  return Descriptor{std::string(media_type), sha256_of(content), static_cast<int64_t>(content.size()), {}, {}};
}

}  // namespace

TestImage make_test_image() {
  std::string config = R"({"architecture":"amd64","os":"linux","config":{"Cmd":["sh"]},)"
                       R"("rootfs":{"type":"layers","diff_ids":["sha256:)" +
                       std::string(64, 'a') + R"("]}})";
  std::string layer;
  for (int i = 0; i < 50000; ++i) layer += static_cast<char>('a' + i % 26);
  std::string manifest = manifest_json(config, layer);
  std::string arm_manifest = manifest_json(config + " ", layer);
  std::string index = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)" +
                      descriptor_json(media_type::kOciManifest, sha256_of(arm_manifest), arm_manifest.size(),
                                      R"(,"platform":{"os":"linux","architecture":"arm64","variant":"v8"})") +
                      "," +
                      descriptor_json(media_type::kOciManifest, sha256_of(manifest), manifest.size(),
                                      R"(,"platform":{"os":"linux","architecture":"amd64"})") +
                      "," +
                      descriptor_json(media_type::kOciManifest, sha256_of("attestation"), 11,
                                      R"(,"platform":{"os":"unknown","architecture":"unknown"},)"
                                      R"("annotations":{"vnd.docker.reference.type":"attestation-manifest"})") +
                      "]}";
  return TestImage{config,
                   layer,
                   manifest,
                   index,
                   arm_manifest,
                   descriptor(media_type::kOciConfig, config),
                   descriptor(media_type::kOciLayerGzip, layer),
                   sha256_of(manifest),
                   sha256_of(index),
                   sha256_of(arm_manifest)};
}

RegistryClientOptions test_options(const std::vector<std::string>& plain_http_hosts) {
  RegistryClientOptions options;
  for (const std::string& h : plain_http_hosts) options.hosts[h].plain_http = true;
  options.retry_base_delay_ms = 1;
  options.retry_max_delay_ms = 2;
  options.connect_timeout_seconds = 2;
  options.low_speed_timeout_seconds = 5;
  options.request_timeout_seconds = 10;
  return options;
}

Reference test_ref(const FakeRegistryServer& server, const std::string& repository_and_tag) {
  return *Reference::parse(server.host() + "/" + repository_and_tag);
}

FakeResponse manifest_response(const std::string& body, std::string_view media_type) {
  FakeResponse r;
  r.body = body;
  r.with_header("Content-Type", std::string(media_type));
  r.with_header("Docker-Content-Digest", sha256_of(body).str());
  return r;
}

void serve_test_image(FakeRegistryServer& server, const TestImage& image, const std::string& repository,
                      const std::string& tag, Guard guard) {
  auto serve = [&server, guard](const std::string& path, FakeResponse response) {
    server.route(path, [guard, response](const FakeRequest& request) {
      if (guard) {
        if (auto denied = guard(request)) return *denied;
      }
      return response;
    });
  };
  std::string base = "/v2/" + repository;
  FakeResponse index = manifest_response(image.index, media_type::kOciIndex);
  FakeResponse manifest = manifest_response(image.manifest, media_type::kOciManifest);
  serve(base + "/manifests/" + tag, index);
  serve(base + "/manifests/" + image.index_digest.str(), index);
  serve(base + "/manifests/single", manifest);
  serve(base + "/manifests/" + image.manifest_digest.str(), manifest);
  serve(base + "/manifests/" + image.arm_manifest_digest.str(),
        manifest_response(image.arm_manifest, media_type::kOciManifest));
  FakeResponse config;
  config.body = image.config;
  serve(base + "/blobs/" + image.config_desc.digest.str(), config);
  FakeResponse layer;
  layer.body = image.layer;
  serve(base + "/blobs/" + image.layer_desc.digest.str(), layer);
}

BlobSink CollectingSink::sink() {
  return BlobSink{[this](const char* p, size_t n) {
                    data.append(p, n);
                    return ok_status();
                  },
                  [this] {
                    ++restarts;
                    data.clear();
                    return ok_status();
                  }};
}

}  // namespace zoned::oci::testing
