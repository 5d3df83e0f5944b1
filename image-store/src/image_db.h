// The image database: which images exist, their references (tags and digests) and the blobs
// they use. SQLite in WAL mode at <state_dir>/images.db, schema versioned with user_version.
// Every change is one transaction, so a pull becomes visible all at once or not at all.
// Thread-safe (one connection behind a mutex).
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sqlite.h"
#include "zoned/common/result.h"

namespace zoned::image_store {

enum class RefKind { kTag, kDigest };

struct StoredRef {
  std::string ref;  // "docker.io/library/busybox:latest" or "...@sha256:<manifest digest>"
  RefKind kind = RefKind::kTag;
};

struct StoredBlob {
  std::string digest;
  int64_t size = 0;
};

struct StoredImage {
  std::string id;  // config digest
  std::string manifest_digest;
  int64_t size = 0;
  std::string config_json;  // the config document as pulled
  std::string root_image;   // relative to data_dir: "roots/<hex>.erofs"
  int64_t pulled_at_unix = 0;
  std::vector<StoredRef> refs;
  std::vector<StoredBlob> blobs;
};

class ImageDb {
 public:
  static constexpr int64_t kSchemaVersion = 1;

  static Result<std::unique_ptr<ImageDb>> open(const std::string& path);

  Result<std::optional<StoredImage>> get(const std::string& id);
  Result<std::vector<StoredImage>> list();
  // The image a reference points to.
  Result<std::optional<std::string>> lookup_ref(const std::string& ref);
  // Ids starting with "sha256:<hex_prefix>".
  Result<std::vector<std::string>> ids_with_prefix(const std::string& hex_prefix);

  // Inserts or updates `image` with its blobs and points its refs at it, moving tags that
  // pointed elsewhere, in one transaction.
  Status commit_image(const StoredImage& image);

  // Images no ref points to any more (their tags moved to other images).
  Result<std::vector<std::string>> unreferenced_images();

  // Deletes the image, its refs and blob links. Returns the blob digests no image uses now.
  Result<std::vector<std::string>> remove_image(const std::string& id);

  Result<std::set<std::string>> used_blobs();
  Result<std::set<std::string>> root_images();

 private:
  explicit ImageDb(sqlite::Database db) : db_(std::move(db)) {}
  Status migrate();
  Result<std::vector<StoredImage>> select_images(std::string_view where, const std::string& arg);
  Status load_refs_and_blobs(StoredImage& image);
  Result<std::vector<std::string>> unused_among(const std::vector<StoredBlob>& blobs);

  std::mutex mu_;
  sqlite::Database db_;
};

}  // namespace zoned::image_store
