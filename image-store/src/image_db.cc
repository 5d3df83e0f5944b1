#include "image_db.h"

namespace zoned::image_store {
namespace {

// Runs a query whose rows have one text column and collects that column.
template <typename Container>
Result<Container> text_column(sqlite::Database& db, std::string_view sql) {
  auto stmt = db.prepare(sql);
  if (!stmt.ok()) return std::move(stmt).take_error();
  Container out;
  for (;;) {
    auto row = stmt->step();
    if (!row.ok()) return std::move(row).take_error();
    if (!*row) return out;
    out.insert(out.end(), stmt->text(0));
  }
}

constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE images (
  id TEXT PRIMARY KEY,              -- config digest, "sha256:<hex>"
  manifest_digest TEXT NOT NULL,
  size INTEGER NOT NULL,            -- config + compressed layers, bytes
  config_json TEXT NOT NULL,        -- the image config document as pulled
  root_image TEXT NOT NULL,         -- EROFS file, relative to data_dir
  pulled_at INTEGER NOT NULL        -- unix seconds
) STRICT;
CREATE TABLE refs (
  ref TEXT PRIMARY KEY,             -- normalised "name:tag" or "name@sha256:<manifest>"
  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  kind TEXT NOT NULL CHECK (kind IN ('tag', 'digest'))
) STRICT;
CREATE INDEX refs_image ON refs(image_id);
-- Which blobs each image uses; a blob's reference count is the number of rows naming it.
CREATE TABLE image_blobs (
  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  digest TEXT NOT NULL,
  size INTEGER NOT NULL,
  PRIMARY KEY (image_id, digest)
) STRICT;
CREATE INDEX image_blobs_digest ON image_blobs(digest);
PRAGMA user_version = 1;
)sql";

constexpr std::string_view kSelectImage =
    "SELECT id, manifest_digest, size, config_json, root_image, pulled_at FROM images ";

std::string_view kind_name(RefKind kind) {
  return kind == RefKind::kTag ? "tag" : "digest";
}

}  // namespace

Result<std::unique_ptr<ImageDb>> ImageDb::open(const std::string& path) {
  auto db = sqlite::Database::open(path);
  if (!db.ok()) return std::move(db).take_error();
  std::unique_ptr<ImageDb> image_db(new ImageDb(std::move(*db)));
  ZONED_TRY(image_db->db_.exec("PRAGMA journal_mode = WAL"));
  ZONED_TRY(image_db->db_.exec("PRAGMA synchronous = FULL"));
  ZONED_TRY(image_db->db_.exec("PRAGMA foreign_keys = ON"));
  auto migrated = image_db->migrate();
  if (!migrated.ok()) return std::move(migrated).take_error().wrap("image database " + path);
  return image_db;
}

Status ImageDb::migrate() {
  auto tx = sqlite::Transaction::begin(db_);
  if (!tx.ok()) return std::move(tx).take_error();
  auto version = db_.query_int("PRAGMA user_version");
  if (!version.ok()) return std::move(version).take_error();
  if (*version > kSchemaVersion) {
    return Error(ErrorCode::kFailedPrecondition, "schema version " + std::to_string(*version) +
                                                     " is newer than this zoned supports (" +
                                                     std::to_string(kSchemaVersion) + ")");
  }
  if (*version == 0) ZONED_TRY(db_.exec(kSchemaV1));
  return tx->commit();
}

Result<std::vector<StoredImage>> ImageDb::select_images(std::string_view where, const std::string& arg) {
  auto stmt = db_.prepare(std::string(kSelectImage) + std::string(where));
  if (!stmt.ok()) return std::move(stmt).take_error();
  if (!arg.empty()) stmt->bind(1, arg);
  std::vector<StoredImage> images;
  for (;;) {
    auto row = stmt->step();
    if (!row.ok()) return std::move(row).take_error();
    if (!*row) break;
    images.push_back(StoredImage{
        stmt->text(0), stmt->text(1), stmt->int64(2), stmt->text(3), stmt->text(4), stmt->int64(5), {}, {}});
  }
  for (StoredImage& image : images) ZONED_TRY(load_refs_and_blobs(image));
  return images;
}

Status ImageDb::load_refs_and_blobs(StoredImage& image) {
  auto refs = db_.prepare("SELECT ref, kind FROM refs WHERE image_id = ?1 ORDER BY ref");
  if (!refs.ok()) return std::move(refs).take_error();
  refs->bind(1, image.id);
  for (;;) {
    auto row = refs->step();
    if (!row.ok()) return std::move(row).take_error();
    if (!*row) break;
    image.refs.push_back({refs->text(0), refs->text(1) == "tag" ? RefKind::kTag : RefKind::kDigest});
  }
  auto blobs = db_.prepare("SELECT digest, size FROM image_blobs WHERE image_id = ?1 ORDER BY digest");
  if (!blobs.ok()) return std::move(blobs).take_error();
  blobs->bind(1, image.id);
  for (;;) {
    auto row = blobs->step();
    if (!row.ok()) return std::move(row).take_error();
    if (!*row) break;
    image.blobs.push_back({blobs->text(0), blobs->int64(1)});
  }
  return ok_status();
}

Result<std::optional<StoredImage>> ImageDb::get(const std::string& id) {
  std::lock_guard lock(mu_);
  auto images = select_images("WHERE id = ?1", id);
  if (!images.ok()) return std::move(images).take_error();
  if (images->empty()) return std::optional<StoredImage>();
  return std::optional<StoredImage>(std::move(images->front()));
}

Result<std::vector<StoredImage>> ImageDb::list() {
  std::lock_guard lock(mu_);
  return select_images("ORDER BY pulled_at, id", "");
}

Result<std::optional<std::string>> ImageDb::lookup_ref(const std::string& ref) {
  std::lock_guard lock(mu_);
  auto stmt = db_.prepare("SELECT image_id FROM refs WHERE ref = ?1");
  if (!stmt.ok()) return std::move(stmt).take_error();
  stmt->bind(1, ref);
  auto row = stmt->step();
  if (!row.ok()) return std::move(row).take_error();
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(stmt->text(0));
}

Result<std::vector<std::string>> ImageDb::ids_with_prefix(const std::string& hex_prefix) {
  std::lock_guard lock(mu_);
  // substr instead of LIKE: the prefix is matched literally, whatever characters it holds.
  auto stmt = db_.prepare("SELECT id FROM images WHERE substr(id, 1, ?2) = ?1 ORDER BY id");
  if (!stmt.ok()) return std::move(stmt).take_error();
  std::string prefix = "sha256:" + hex_prefix;
  stmt->bind(1, prefix).bind(2, static_cast<int64_t>(prefix.size()));
  std::vector<std::string> ids;
  for (;;) {
    auto row = stmt->step();
    if (!row.ok()) return std::move(row).take_error();
    if (!*row) return ids;
    ids.push_back(stmt->text(0));
  }
}

Status ImageDb::commit_image(const StoredImage& image) {
  std::lock_guard lock(mu_);
  auto tx = sqlite::Transaction::begin(db_);
  if (!tx.ok()) return std::move(tx).take_error();
  auto insert = db_.prepare(
      "INSERT INTO images (id, manifest_digest, size, config_json, root_image, pulled_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO UPDATE SET "
      "manifest_digest = excluded.manifest_digest, root_image = excluded.root_image, "
      "pulled_at = excluded.pulled_at");
  if (!insert.ok()) return std::move(insert).take_error();
  insert->bind(1, image.id).bind(2, image.manifest_digest).bind(3, image.size).bind(4, image.config_json);
  ZONED_TRY(insert->bind(5, image.root_image).bind(6, image.pulled_at_unix).run());
  for (const StoredBlob& blob : image.blobs) {
    auto link = db_.prepare("INSERT OR IGNORE INTO image_blobs (image_id, digest, size) VALUES (?1, ?2, ?3)");
    if (!link.ok()) return std::move(link).take_error();
    ZONED_TRY(link->bind(1, image.id).bind(2, blob.digest).bind(3, blob.size).run());
  }
  for (const StoredRef& ref : image.refs) {
    auto upsert = db_.prepare(
        "INSERT INTO refs (ref, image_id, kind) VALUES (?1, ?2, ?3) "
        "ON CONFLICT (ref) DO UPDATE SET image_id = excluded.image_id, kind = excluded.kind");
    if (!upsert.ok()) return std::move(upsert).take_error();
    ZONED_TRY(upsert->bind(1, ref.ref).bind(2, image.id).bind(3, kind_name(ref.kind)).run());
  }
  return tx->commit();
}

Result<std::vector<std::string>> ImageDb::unreferenced_images() {
  std::lock_guard lock(mu_);
  return text_column<std::vector<std::string>>(
      db_, "SELECT id FROM images WHERE id NOT IN (SELECT image_id FROM refs) ORDER BY id");
}

Result<std::vector<std::string>> ImageDb::unused_among(const std::vector<StoredBlob>& blobs) {
  std::vector<std::string> unused;
  for (const StoredBlob& blob : blobs) {
    auto stmt = db_.prepare("SELECT count(*) FROM image_blobs WHERE digest = ?1");
    if (!stmt.ok()) return std::move(stmt).take_error();
    auto row = stmt->bind(1, blob.digest).step();
    if (!row.ok()) return std::move(row).take_error();
    if (*row && stmt->int64(0) == 0) unused.push_back(blob.digest);
  }
  return unused;
}

Result<std::vector<std::string>> ImageDb::remove_image(const std::string& id) {
  std::lock_guard lock(mu_);
  auto tx = sqlite::Transaction::begin(db_);
  if (!tx.ok()) return std::move(tx).take_error();
  auto images = select_images("WHERE id = ?1", id);
  if (!images.ok()) return std::move(images).take_error();
  if (images->empty()) return Error(ErrorCode::kNotFound, "image " + id + " not found");
  auto del = db_.prepare("DELETE FROM images WHERE id = ?1");
  if (!del.ok()) return std::move(del).take_error();
  ZONED_TRY(del->bind(1, id).run());  // refs and blob links go with it (ON DELETE CASCADE)
  auto unused = unused_among(images->front().blobs);
  if (!unused.ok()) return unused;
  ZONED_TRY(tx->commit());
  return unused;
}

Result<std::set<std::string>> ImageDb::used_blobs() {
  std::lock_guard lock(mu_);
  return text_column<std::set<std::string>>(db_, "SELECT DISTINCT digest FROM image_blobs");
}

Result<std::set<std::string>> ImageDb::root_images() {
  std::lock_guard lock(mu_);
  return text_column<std::set<std::string>>(db_, "SELECT root_image FROM images");
}

}  // namespace zoned::image_store
