#include "content_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <memory>

#include "zoned/common/file_ops.h"
#include "zoned/common/fs.h"
#include "zoned/common/scope_guard.h"
#include "zoned/oci/digest.h"

namespace zoned::image_store {
namespace {

// Receives a blob into an open temporary file, hashing and counting as it goes.
class VerifyingWriter {
 public:
  VerifyingWriter(int fd, const oci::Descriptor& blob) : fd_(fd), blob_(blob) {}

  oci::BlobSink sink() {
    return oci::BlobSink{[this](const char* data, size_t size) { return write(data, size); },
                         [this] { return restart(); }};
  }

  uint64_t received() const { return received_; }

  Status verify() {
    if (received_ != static_cast<uint64_t>(blob_.size)) {
      return Error(ErrorCode::kInvalidArgument, "size mismatch: expected " + std::to_string(blob_.size) +
                                                    " bytes, received " + std::to_string(received_));
    }
    oci::Digest actual = hash_->finish();
    if (actual != blob_.digest) {
      return Error(ErrorCode::kInvalidArgument,
                   "digest mismatch: expected " + blob_.digest.str() + ", got " + actual.str());
    }
    return ok_status();
  }

 private:
  Status write(const char* data, size_t size) {
    if (received_ + size > static_cast<uint64_t>(blob_.size)) {
      return Error(ErrorCode::kInvalidArgument,
                   "blob is larger than its descriptor's size of " + std::to_string(blob_.size) + " bytes");
    }
    hash_->update(data, size);
    ZONED_TRY(fs::write_all(fd_, data, size));
    received_ += size;
    return ok_status();
  }

  Status restart() {
    if (::ftruncate(fd_, 0) != 0 || ::lseek(fd_, 0, SEEK_SET) != 0) return sys_error("rewinding blob file");
    hash_ = std::make_unique<oci::Sha256>();
    received_ = 0;
    return ok_status();
  }

  int fd_;
  const oci::Descriptor& blob_;
  std::unique_ptr<oci::Sha256> hash_ = std::make_unique<oci::Sha256>();
  uint64_t received_ = 0;
};

bool is_hex64(std::string_view name) {
  if (name.size() != 64) return false;
  for (char c : name) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

ContentStore::ContentStore(std::string data_dir)
    : data_dir_(std::move(data_dir)), blob_dir_(data_dir_ + "/blobs/sha256"), tmp_dir_(data_dir_ + "/tmp") {}

Result<std::unique_ptr<ContentStore>> ContentStore::open(const std::string& data_dir) {
  std::unique_ptr<ContentStore> store(new ContentStore(data_dir));
  ZONED_TRY(fs::make_dirs(store->blob_dir_, 0700));
  ZONED_TRY(fs::make_dirs(store->tmp_dir_, 0700));
  return store;
}

std::string ContentStore::path(const oci::Digest& digest) const {
  return blob_dir_ + "/" + std::string(digest.hex());
}

bool ContentStore::contains(const oci::Descriptor& blob) const {
  struct stat st {};
  if (::stat(path(blob.digest).c_str(), &st) != 0) return false;
  return S_ISREG(st.st_mode) && st.st_size == blob.size;
}

Result<IngestResult> ContentStore::ingest(const oci::Descriptor& blob, const Fetch& fetch) {
  if (blob.size < 0) return Error(ErrorCode::kInvalidArgument, "negative blob size");
  if (contains(blob)) return IngestResult{};
  bool shared = false;
  auto result = in_flight_.run(
      blob.digest.str(),
      [&]() -> Result<IngestResult> {
        if (contains(blob)) return IngestResult{};
        return fetch_into_place(blob, fetch);
      },
      &shared);
  if (!result.ok() || !shared) return result;
  // Another caller did the transfer, for its own descriptor: ours must agree on the size.
  if (!contains(blob)) {
    return Error(ErrorCode::kInvalidArgument, "blob " + blob.digest.str() + " does not have the expected size of " +
                                                  std::to_string(blob.size) + " bytes");
  }
  return IngestResult{};
}

Result<IngestResult> ContentStore::fetch_into_place(const oci::Descriptor& blob, const Fetch& fetch) {
  std::string tmp_path = tmp_dir_ + "/blob-" + std::string(blob.digest.hex()) + "-XXXXXX";
  UniqueFd fd(::mkostemp(tmp_path.data(), O_CLOEXEC));
  if (!fd.valid()) return sys_error("creating temporary file in " + tmp_dir_);
  ScopeGuard remove_tmp([&] { ::unlink(tmp_path.c_str()); });

  VerifyingWriter writer(fd.get(), blob);
  oci::BlobSink sink = writer.sink();
  ZONED_TRY(fetch(sink));
  ZONED_TRY(writer.verify());
  if (::fchmod(fd.get(), 0444) != 0) return sys_error("chmod " + tmp_path);
  if (::fsync(fd.get()) != 0) return sys_error("fsync " + tmp_path);
  std::string final_path = path(blob.digest);
  if (::rename(tmp_path.c_str(), final_path.c_str()) != 0) return sys_error("renaming blob to " + final_path);
  remove_tmp.dismiss();
  ZONED_TRY(fs::fsync_dir(blob_dir_));
  return IngestResult{true, writer.received()};
}

Result<UniqueFd> ContentStore::open_blob(const oci::Digest& digest) const {
  UniqueFd fd(::open(path(digest).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) return sys_error("opening blob " + digest.str());
  return fd;
}

Result<std::string> ContentStore::read_blob(const oci::Digest& digest, size_t max_bytes) const {
  auto data = fs::read_file(path(digest), max_bytes);
  if (!data.ok()) return std::move(data).take_error().wrap("blob " + digest.str());
  return data;
}

Result<std::set<std::string>> ContentStore::list() const {
  DIR* dir = ::opendir(blob_dir_.c_str());
  if (dir == nullptr) return sys_error("opening " + blob_dir_);
  std::set<std::string> digests;
  while (dirent* entry = ::readdir(dir)) {
    if (is_hex64(entry->d_name)) digests.insert("sha256:" + std::string(entry->d_name));
  }
  ::closedir(dir);
  return digests;
}

Result<bool> ContentStore::remove(const std::string& digest) {
  auto parsed = oci::Digest::parse(digest);
  if (!parsed.ok()) return std::move(parsed).take_error();
  std::lock_guard lock(lease_mu_);
  if (leases_.contains(digest)) return false;
  if (::unlink(path(*parsed).c_str()) != 0 && errno != ENOENT) return sys_error("removing blob " + digest);
  return true;
}

ContentStore::Lease ContentStore::lease(const oci::Digest& digest) {
  std::lock_guard lock(lease_mu_);
  ++leases_[digest.str()];
  return Lease(this, digest.str());
}

void ContentStore::release(const std::string& digest) {
  std::lock_guard lock(lease_mu_);
  auto it = leases_.find(digest);
  if (it != leases_.end() && --it->second == 0) leases_.erase(it);
}

}  // namespace zoned::image_store
