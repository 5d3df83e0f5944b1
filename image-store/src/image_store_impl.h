// ImageStoreImpl: the ImageStore over the content store, the image database, the layer
// applier and mkfs.erofs. Layout under data_dir:
//   blobs/sha256/<hex>    verified blobs (configs, compressed layers)
//   roots/<hex>.erofs     one root image per image id (hex of the config digest)
//   tmp/                  blobs being fetched, directories being unpacked, images being built
//
// Locking: `mu_` serialises the steps that change what is visible (commit of a pull, removal,
// garbage collection) against each other; fetching, unpacking and building run outside it.
// Pulls of the same reference and builds of the same image id are single-flight.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "content_store.h"
#include "erofs_builder.h"
#include "image_db.h"
#include "single_flight.h"
#include "zoned/image_store/image_store.h"
#include "zoned/oci/reference.h"

namespace zoned::image_store {

class ImageStoreImpl final : public ImageStore {
 public:
  ImageStoreImpl(const StoreOptions& options, oci::RegistryClient& registry, std::unique_ptr<ContentStore> content,
                 std::unique_ptr<ImageDb> db);

  Result<ImageRecord> pull(std::string_view reference, const oci::Credentials& creds) override;
  Result<ImageRecord> find(std::string_view ref_or_id) override;
  std::vector<ImageRecord> list() override;
  Status remove(std::string_view ref_or_id) override;
  Result<StoreUsage> usage() override;
  void set_in_use_check(std::function<bool(const std::string& image_id)> in_use) override;

  // Removes what interrupted pulls left behind (called by ImageStore::open).
  Status recover();

 private:
  // pull, in image_puller.cc
  struct Pulled;
  Result<ImageRecord> pull_once(const oci::Reference& ref, const oci::Credentials& creds);
  Result<ImageRecord> pull_manifest(const oci::Reference& ref, const oci::ResolvedManifest& resolved,
                                    const oci::Credentials& creds);
  Result<Pulled> fetch_image(const oci::Reference& ref, const oci::ResolvedManifest& resolved,
                             const oci::Credentials& creds, std::vector<ContentStore::Lease>& leases,
                             std::vector<std::string>& fetched);
  Status fetch_layers(const oci::Reference& ref, const std::vector<oci::Descriptor>& layers,
                      const oci::Credentials& creds, std::vector<std::string>& fetched);
  Result<IngestResult> fetch_blob(const oci::Reference& ref, const oci::Descriptor& blob,
                                  const oci::Credentials& creds);
  Status build_root(const std::string& image_id, const Pulled& pulled);
  Status unpack_and_build(const std::string& image_id, const Pulled& pulled, const std::string& unpack_dir);
  Result<bool> commit(const oci::Reference& ref, const Pulled& pulled);
  void sweep_blobs(const std::vector<std::string>& digests);

  // the rest, in image_store_impl.cc
  Result<std::string> resolve_id(std::string_view ref_or_id);
  Result<ImageRecord> record(const std::string& id);
  ImageRecord to_record(const StoredImage& stored) const;
  Status delete_image_locked(const std::string& id);
  void collect_unreferenced_locked();
  bool in_use(const std::string& id);
  std::string root_path(const std::string& image_id) const;  // relative to data_dir
  Status remove_tmp_leftovers();
  Status remove_stray_roots();
  Status forget_images_without_roots();
  Status remove_unused_blobs();

  StoreOptions options_;
  oci::RegistryClient& registry_;
  std::unique_ptr<ContentStore> content_;
  std::unique_ptr<ImageDb> db_;
  ErofsOptions erofs_;
  std::mutex mu_;
  std::mutex in_use_mu_;
  std::function<bool(const std::string&)> in_use_;
  SingleFlight<Result<ImageRecord>> pulls_;
  SingleFlight<Status> builds_;
};

}  // namespace zoned::image_store
