// ImageStoreImpl::pull: resolve, fetch config and layers into the content store, unpack and
// build the root image (once per image id), then commit everything in one transaction.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>

#include "image_store_impl.h"
#include "layer_applier.h"
#include "root_dir.h"
#include "tar_entry.h"
#include "zoned/common/file_ops.h"
#include "zoned/common/log.h"
#include "zoned/common/scope_guard.h"

namespace zoned::image_store {
namespace {

constexpr size_t kMaxConfigBytes = 16 * 1024 * 1024;
constexpr size_t kParallelLayerFetches = 3;

using Clock = std::chrono::steady_clock;

int64_t ms_since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

// "https://mirror.example:5000/v2" -> "mirror.example:5000"
std::string endpoint_host(std::string_view endpoint) {
  if (auto scheme = endpoint.find("://"); scheme != std::string_view::npos) endpoint.remove_prefix(scheme + 3);
  return std::string(endpoint.substr(0, endpoint.find('/')));
}

Status check_sizes(const oci::Manifest& manifest, uint64_t max_unpacked) {
  if (manifest.config.size < 0 || static_cast<uint64_t>(manifest.config.size) > kMaxConfigBytes) {
    return Error(ErrorCode::kInvalidArgument, "config size " + std::to_string(manifest.config.size) +
                                                  " is out of range (max " + std::to_string(kMaxConfigBytes) + ")");
  }
  uint64_t total = 0;
  for (const oci::Descriptor& layer : manifest.layers) {
    if (layer.size < 0) return Error(ErrorCode::kInvalidArgument, "layer " + layer.digest.str() + ": negative size");
    total += static_cast<uint64_t>(layer.size);
    if (total > max_unpacked) {
      return Error(ErrorCode::kResourceExhausted,
                   "layers are larger than " + std::to_string(max_unpacked) + " bytes (max_unpacked_bytes)");
    }
    auto compression = oci::layer_compression(layer.media_type);
    if (!compression.ok()) return std::move(compression).take_error().wrap("layer " + layer.digest.str());
  }
  return ok_status();
}

}  // namespace

struct ImageStoreImpl::Pulled {
  std::string image_id;  // the config digest
  oci::Digest manifest_digest;
  oci::Manifest manifest;
  std::string config_json;
  oci::ImageConfig config;
  uint64_t size = 0;
};

Result<ImageRecord> ImageStoreImpl::pull(std::string_view reference, const oci::Credentials& creds) {
  auto ref = oci::Reference::parse(reference);
  if (!ref.ok()) return std::move(ref).take_error().wrap("pulling '" + printable(reference) + "'");
  // Callers pulling the same reference at once share one pull (and the first caller's creds).
  return pulls_.run(ref->str(), [&] { return pull_once(*ref, creds); });
}

Result<ImageRecord> ImageStoreImpl::pull_once(const oci::Reference& ref, const oci::Credentials& creds) {
  auto start = Clock::now();
  std::string context = "pulling " + ref.str() + " from " + ref.registry;
  auto resolved = registry_.resolve(ref, creds, oci::host_platform());
  if (!resolved.ok()) return std::move(resolved).take_error().wrap(context);
  if (!resolved->endpoint.empty()) context = "pulling " + ref.str() + " from " + endpoint_host(resolved->endpoint);
  auto record = pull_manifest(ref, *resolved, creds);
  if (!record.ok()) return std::move(record).take_error().wrap(context);
  log::info("image pulled", {{"image", ref.str()}, {"id", record->id}, {"ms", ms_since(start)}});
  return record;
}

Result<ImageRecord> ImageStoreImpl::pull_manifest(const oci::Reference& ref, const oci::ResolvedManifest& resolved,
                                                  const oci::Credentials& creds) {
  std::vector<ContentStore::Lease> leases;  // our blobs survive concurrent removals until committed
  std::vector<std::string> fetched;         // blobs this pull brought in: removed again on failure
  auto result = [&]() -> Result<ImageRecord> {
    auto pulled = fetch_image(ref, resolved, creds, leases, fetched);
    if (!pulled.ok()) return std::move(pulled).take_error();
    const std::string& id = pulled->image_id;
    for (int attempt = 0; attempt < 2; ++attempt) {
      Status built = builds_.run(id, [&] { return build_root(id, *pulled); });
      if (!built.ok()) return std::move(built).take_error();
      auto committed = commit(ref, *pulled);
      if (!committed.ok()) return std::move(committed).take_error().wrap("recording image " + id);
      if (*committed) return record(id);
      // The image was removed between our build and our commit: build it again.
    }
    return Error(ErrorCode::kUnavailable, "image " + id + " kept being removed while it was pulled");
  }();
  leases.clear();
  if (!result.ok()) sweep_blobs(fetched);
  return result;
}

Result<ImageStoreImpl::Pulled> ImageStoreImpl::fetch_image(const oci::Reference& ref,
                                                           const oci::ResolvedManifest& resolved,
                                                           const oci::Credentials& creds,
                                                           std::vector<ContentStore::Lease>& leases,
                                                           std::vector<std::string>& fetched) {
  if (ref.digest && *ref.digest != resolved.digest) {
    return Error(ErrorCode::kInvalidArgument, "registry returned manifest " + resolved.digest.str());
  }
  std::string manifest_context = "manifest " + resolved.digest.str();
  auto manifest = oci::parse_manifest(resolved.bytes, resolved.media_type);
  if (!manifest.ok()) return std::move(manifest).take_error().wrap(manifest_context);
  if (auto sizes = check_sizes(*manifest, options_.max_unpacked_bytes); !sizes.ok()) {
    return std::move(sizes).take_error().wrap(manifest_context);
  }
  Pulled pulled{manifest->config.digest.str(), resolved.digest, std::move(*manifest), {}, {}, 0};
  leases.push_back(content_->lease(pulled.manifest.config.digest));
  for (const oci::Descriptor& layer : pulled.manifest.layers) leases.push_back(content_->lease(layer.digest));

  const oci::Descriptor& config_blob = pulled.manifest.config;
  std::string config_context = "config " + config_blob.digest.str();
  auto ingested = fetch_blob(ref, config_blob, creds);
  if (!ingested.ok()) return std::move(ingested).take_error().wrap(config_context);
  if (ingested->fetched) fetched.push_back(config_blob.digest.str());
  auto json = content_->read_blob(config_blob.digest, kMaxConfigBytes);
  if (!json.ok()) return std::move(json).take_error().wrap(config_context);
  auto config = oci::parse_image_config(*json);
  if (!config.ok()) return std::move(config).take_error().wrap(config_context);
  if (config->diff_ids.size() != pulled.manifest.layers.size()) {
    return Error(ErrorCode::kInvalidArgument, config_context + ": " + std::to_string(config->diff_ids.size()) +
                                                  " diff_ids for " + std::to_string(pulled.manifest.layers.size()) +
                                                  " layers");
  }
  pulled.config_json = std::move(*json);
  pulled.config = std::move(*config);
  pulled.size = static_cast<uint64_t>(config_blob.size);
  for (const oci::Descriptor& layer : pulled.manifest.layers) pulled.size += static_cast<uint64_t>(layer.size);
  ZONED_TRY(fetch_layers(ref, pulled.manifest.layers, creds, fetched));
  return pulled;
}

Result<IngestResult> ImageStoreImpl::fetch_blob(const oci::Reference& ref, const oci::Descriptor& blob,
                                                const oci::Credentials& creds) {
  return content_->ingest(blob, [&](oci::BlobSink& sink) { return registry_.fetch_blob(ref, blob, creds, sink); });
}

// Fetches layers on a few threads; the first failure (in layer order) is reported.
Status ImageStoreImpl::fetch_layers(const oci::Reference& ref, const std::vector<oci::Descriptor>& layers,
                                    const oci::Credentials& creds, std::vector<std::string>& fetched) {
  std::mutex mu;
  std::atomic<size_t> next{0};
  std::optional<Error> failure;
  size_t failed_at = layers.size();
  auto work = [&] {
    for (size_t i = next++; i < layers.size(); i = next++) {
      {
        std::lock_guard lock(mu);
        if (failure) return;
      }
      auto start = Clock::now();
      auto ingested = fetch_blob(ref, layers[i], creds);
      std::lock_guard lock(mu);
      if (!ingested.ok()) {
        if (i < failed_at) failure = ingested.error().wrap("layer " + layers[i].digest.str());
        failed_at = std::min(failed_at, i);
        continue;
      }
      if (ingested->fetched) fetched.push_back(layers[i].digest.str());
      log::info("layer pulled", {{"image", ref.str()},
                                 {"layer", layers[i].digest.str()},
                                 {"bytes", ingested->bytes},
                                 {"ms", ms_since(start)},
                                 {"cached", !ingested->fetched}});
    }
  };
  {
    std::vector<std::jthread> helpers;
    for (size_t n = 1; n < std::min(kParallelLayerFetches, layers.size()); ++n) helpers.emplace_back(work);
    work();
  }
  if (failure) return *failure;
  return ok_status();
}

Status ImageStoreImpl::build_root(const std::string& image_id, const Pulled& pulled) {
  std::string final_path = options_.data_dir + "/" + root_path(image_id);
  if (::access(final_path.c_str(), F_OK) == 0) return ok_status();  // built before: shared
  std::string hex = image_id.substr(image_id.find(':') + 1);
  std::string unpack_dir = options_.data_dir + "/tmp/unpack-" + hex + "-XXXXXX";
  if (::mkdtemp(unpack_dir.data()) == nullptr) return sys_error("creating " + unpack_dir);
  ScopeGuard remove_unpacked([&] {
    if (auto removed = fs::remove_tree(unpack_dir); !removed.ok()) {
      log::error("removing unpacked image", {{"path", unpack_dir}, {"error", removed.error().describe()}});
    }
  });
  return unpack_and_build(image_id, pulled, unpack_dir);
}

Status ImageStoreImpl::unpack_and_build(const std::string& image_id, const Pulled& pulled,
                                        const std::string& unpack_dir) {
  auto start = Clock::now();
  if (::chmod(unpack_dir.c_str(), 0755) != 0) return sys_error("chmod " + unpack_dir);
  auto root = RootDir::open(unpack_dir);
  if (!root.ok()) return std::move(root).take_error();
  LayerApplier applier(*root, ApplyLimits{options_.max_unpacked_bytes, options_.max_entries});
  for (size_t i = 0; i < pulled.manifest.layers.size(); ++i) {
    const oci::Descriptor& layer = pulled.manifest.layers[i];
    auto fd = content_->open_blob(layer.digest);
    if (!fd.ok()) return std::move(fd).take_error().wrap("layer " + layer.digest.str());
    auto applied = applier.apply(fd->get(), pulled.config.diff_ids[i]);
    if (!applied.ok()) return std::move(applied).take_error().wrap("layer " + layer.digest.str());
  }
  ZONED_TRY(applier.finish());

  std::string hex = image_id.substr(image_id.find(':') + 1);
  std::string tmp_image = options_.data_dir + "/tmp/root-" + hex + "-XXXXXX";
  UniqueFd reserved(::mkostemp(tmp_image.data(), O_CLOEXEC));
  if (!reserved.valid()) return sys_error("creating " + tmp_image);
  reserved.reset();
  ScopeGuard remove_tmp_image([&] { ::unlink(tmp_image.c_str()); });
  ZONED_TRY(build_erofs(erofs_, unpack_dir, tmp_image));
  if (::chmod(tmp_image.c_str(), 0444) != 0) return sys_error("chmod " + tmp_image);
  std::string final_path = options_.data_dir + "/" + root_path(image_id);
  if (::rename(tmp_image.c_str(), final_path.c_str()) != 0) return sys_error("renaming to " + final_path);
  remove_tmp_image.dismiss();
  ZONED_TRY(fs::fsync_dir(options_.data_dir + "/roots"));
  log::info("root image built", {{"image", image_id}, {"path", final_path}, {"ms", ms_since(start)}});
  return ok_status();
}

// False when the root image vanished (the image was removed meanwhile); nothing is recorded then.
Result<bool> ImageStoreImpl::commit(const oci::Reference& ref, const Pulled& pulled) {
  std::lock_guard lock(mu_);
  StoredImage image;
  image.id = pulled.image_id;
  image.root_image = root_path(image.id);
  if (::access((options_.data_dir + "/" + image.root_image).c_str(), F_OK) != 0) return false;
  image.manifest_digest = pulled.manifest_digest.str();
  image.size = static_cast<int64_t>(pulled.size);
  image.config_json = pulled.config_json;
  image.pulled_at_unix = ::time(nullptr);
  if (!ref.digest && !ref.tag.empty()) image.refs.push_back({ref.tag_ref(), RefKind::kTag});
  image.refs.push_back({ref.digest_ref(pulled.manifest_digest), RefKind::kDigest});
  image.blobs.push_back({pulled.manifest.config.digest.str(), pulled.manifest.config.size});
  for (const oci::Descriptor& layer : pulled.manifest.layers) image.blobs.push_back({layer.digest.str(), layer.size});
  ZONED_TRY(db_->commit_image(image));
  collect_unreferenced_locked();  // a tag may have moved away from another image
  return true;
}

void ImageStoreImpl::sweep_blobs(const std::vector<std::string>& digests) {
  if (digests.empty()) return;
  std::lock_guard lock(mu_);
  auto used = db_->used_blobs();
  if (!used.ok()) {
    log::error("cleaning up after a failed pull", {{"error", used.error().describe()}});
    return;
  }
  for (const std::string& digest : digests) {
    if (used->contains(digest)) continue;
    if (auto removed = content_->remove(digest); !removed.ok()) {
      log::error("removing blob after a failed pull", {{"digest", digest}, {"error", removed.error().describe()}});
    }
  }
}

}  // namespace zoned::image_store
