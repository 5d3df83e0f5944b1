// The image store: pulls images from registries into a verified content store, records them in
// a database that survives restarts, and turns each into one read-only EROFS root image.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "zoned/common/result.h"
#include "zoned/oci/manifest.h"
#include "zoned/oci/registry_client.h"

namespace zoned::image_store {

struct ImageRecord {
  std::string id;                         // the config digest, "sha256:..."
  std::vector<std::string> repo_tags;     // "docker.io/library/busybox:latest"
  std::vector<std::string> repo_digests;  // "docker.io/library/busybox@sha256:<manifest digest>"
  std::string manifest_digest;
  uint64_t size = 0;            // bytes of the image's blobs (config + compressed layers)
  oci::ImageConfig config;      // user, env, entrypoint, cmd, working dir, ports, labels
  std::string root_image_path;  // the EROFS file zones boot the image from
  int64_t pulled_at_unix = 0;
};

struct StoreOptions {
  std::string data_dir;                       // blobs/, roots/, tmp/ live here
  std::string state_dir;                      // images.db lives here
  uint64_t max_unpacked_bytes = 64ull << 30;  // per image: bound against decompression bombs
  uint64_t max_entries = 2'000'000;           // per image: tar entries
  std::string mkfs_erofs = "mkfs.erofs";      // the EROFS builder (erofs-utils)
};

struct StoreUsage {
  std::string mountpoint;  // the filesystem holding data_dir
  uint64_t used_bytes = 0;
  uint64_t inodes_used = 0;
  int64_t timestamp_ns = 0;
};

class ImageStore {
 public:
  // Opens (creating if needed) the store; removes leftovers of interrupted pulls.
  static Result<std::unique_ptr<ImageStore>> open(const StoreOptions& options, oci::RegistryClient& registry);
  virtual ~ImageStore() = default;

  // Pulls `reference` (normalised like Docker: "busybox" = docker.io/library/busybox:latest).
  // Concurrent pulls of the same image or layer share the work. On failure nothing partial is
  // visible and the error names the image, the registry and the cause.
  virtual Result<ImageRecord> pull(std::string_view reference, const oci::Credentials& creds) = 0;

  // Finds an image by id ("sha256:<hex>" or "<hex>"), by tag reference or by digest reference.
  virtual Result<ImageRecord> find(std::string_view ref_or_id) = 0;
  virtual std::vector<ImageRecord> list() = 0;

  // Removes the image (with all its tags). FailedPrecondition while `in_use(id)` says a zone
  // uses it. Blobs and the root image are deleted once no image refers to them.
  virtual Status remove(std::string_view ref_or_id) = 0;

  // Real bytes and inodes used under data_dir.
  virtual Result<StoreUsage> usage() = 0;

  // Tells the store which images zones are using (set once by the daemon).
  virtual void set_in_use_check(std::function<bool(const std::string& image_id)> in_use) = 0;
};

}  // namespace zoned::image_store
