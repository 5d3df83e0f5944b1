// The content store: verified blobs at <data_dir>/blobs/sha256/<hex>.
//
// A blob is streamed into <data_dir>/tmp/, hashed and counted as it arrives, checked against
// its descriptor (size and SHA-256), fsynced and renamed into place, so a file under blobs/ is
// always complete and verified. A mismatch deletes the temporary file. Concurrent ingests of
// one digest share a single transfer. Leases keep blobs that a running pull is about to use
// from being deleted by removal of another image.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "single_flight.h"
#include "zoned/common/result.h"
#include "zoned/common/unique_fd.h"
#include "zoned/oci/descriptor.h"
#include "zoned/oci/registry_client.h"

namespace zoned::image_store {

struct IngestResult {
  bool fetched = false;  // false: the blob was already there (or another caller fetched it)
  uint64_t bytes = 0;    // bytes received when fetched
};

class ContentStore {
 public:
  // Streams the blob into the sink; typically wraps RegistryClient::fetch_blob.
  using Fetch = std::function<Status(oci::BlobSink& sink)>;

  // Creates <data_dir>/blobs/sha256 and <data_dir>/tmp when missing.
  static Result<std::unique_ptr<ContentStore>> open(const std::string& data_dir);

  // Makes sure the blob is present and verified, fetching it unless it already is.
  Result<IngestResult> ingest(const oci::Descriptor& blob, const Fetch& fetch);

  bool contains(const oci::Descriptor& blob) const;
  std::string path(const oci::Digest& digest) const;
  Result<UniqueFd> open_blob(const oci::Digest& digest) const;
  Result<std::string> read_blob(const oci::Digest& digest, size_t max_bytes) const;

  // Digests of all blobs on disk ("sha256:<hex>").
  Result<std::set<std::string>> list() const;
  // Deletes a blob unless a lease holds it. Returns whether it was deleted.
  Result<bool> remove(const std::string& digest);

  class Lease {
   public:
    Lease(ContentStore* store, std::string digest) : store_(store), digest_(std::move(digest)) {}
    Lease(Lease&& other) noexcept : store_(std::exchange(other.store_, nullptr)), digest_(std::move(other.digest_)) {}
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() {
      if (store_ != nullptr) store_->release(digest_);
    }

   private:
    ContentStore* store_;
    std::string digest_;
  };
  // Protects the digest from remove() until the lease is dropped.
  Lease lease(const oci::Digest& digest);

 private:
  explicit ContentStore(std::string data_dir);
  Result<IngestResult> fetch_into_place(const oci::Descriptor& blob, const Fetch& fetch);
  void release(const std::string& digest);

  std::string data_dir_;
  std::string blob_dir_;
  std::string tmp_dir_;
  SingleFlight<Result<IngestResult>> in_flight_;
  std::mutex lease_mu_;
  std::map<std::string, int> leases_;
};

}  // namespace zoned::image_store
