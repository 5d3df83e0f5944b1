// Test images and helpers shared by the registry client tests: a small image (config, one
// layer, an OCI manifest, and an index with linux/amd64 and linux/arm64 entries), served by a
// FakeRegistryServer, and a sink that collects blob bytes.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "fake_registry_server.h"
#include "zoned/oci/registry_client.h"

namespace zoned::oci::testing {

struct TestImage {
  std::string config;
  std::string layer;
  std::string manifest;  // OCI manifest for linux/amd64
  std::string index;     // OCI index: amd64 -> manifest, arm64 -> arm_manifest, plus an attestation
  std::string arm_manifest;
  Descriptor config_desc;
  Descriptor layer_desc;
  Digest manifest_digest;
  Digest index_digest;
  Digest arm_manifest_digest;
};

TestImage make_test_image();

// Options for tests: every given host speaks plain HTTP; retries back off for ~1 ms.
RegistryClientOptions test_options(const std::vector<std::string>& plain_http_hosts);

// "<host>/<repository>:<tag>" parsed.
Reference test_ref(const FakeRegistryServer& server, const std::string& repository_and_tag);

// Returns a response to send instead (e.g. a 401 challenge), or nullopt to serve the content.
using Guard = std::function<std::optional<FakeResponse>(const FakeRequest&)>;

// Serves the image under /v2/<repository>/: the index by tag `tag` and by digest, the manifests
// by digest (and the amd64 manifest by tag "single"), the config and layer blobs.
void serve_test_image(FakeRegistryServer& server, const TestImage& image, const std::string& repository,
                      const std::string& tag, Guard guard = {});

FakeResponse manifest_response(const std::string& body, std::string_view media_type);

// Collects blob bytes; counts restarts.
struct CollectingSink {
  std::string data;
  int restarts = 0;
  BlobSink sink();
};

}  // namespace zoned::oci::testing
