#include "image_db.h"

#include <catch2/catch_test_macros.hpp>

#include "sqlite.h"
#include "support/temp_dir.h"

namespace zoned::image_store {
namespace {

using testing::TempDir;

std::string id_of(char c) {
  return "sha256:" + std::string(64, c);
}

StoredImage image(char c, std::vector<StoredRef> refs, std::vector<StoredBlob> blobs) {
  StoredImage img;
  img.id = id_of(c);
  img.manifest_digest = id_of('f');
  img.size = 42;
  img.config_json = "{}";
  img.root_image = "roots/" + std::string(64, c) + ".erofs";
  img.pulled_at_unix = 1000;
  img.refs = std::move(refs);
  img.blobs = std::move(blobs);
  return img;
}

std::unique_ptr<ImageDb> open_db(const TempDir& dir) {
  auto db = ImageDb::open(dir.file("images.db"));
  REQUIRE(db.ok());
  return std::move(*db);
}

TEST_CASE("image db records images with refs and blobs, and finds them again after reopening") {
  TempDir dir;
  {
    auto db = open_db(dir);
    auto committed = db->commit_image(image('a',
                                            {{"docker.io/library/busybox:latest", RefKind::kTag},
                                             {"docker.io/library/busybox@" + id_of('f'), RefKind::kDigest}},
                                            {{id_of('1'), 10}, {id_of('2'), 20}}));
    REQUIRE(committed.ok());
  }
  auto db = open_db(dir);
  auto found = db->get(id_of('a'));
  REQUIRE(found.ok());
  REQUIRE(found->has_value());
  const StoredImage& img = **found;
  CHECK(img.root_image == "roots/" + std::string(64, 'a') + ".erofs");
  CHECK(img.refs.size() == 2);
  CHECK(img.blobs.size() == 2);
  CHECK(db->lookup_ref("docker.io/library/busybox:latest")->value() == id_of('a'));
  CHECK_FALSE(db->lookup_ref("docker.io/library/other:latest")->has_value());
  CHECK(*db->ids_with_prefix(std::string(12, 'a')) == std::vector<std::string>{id_of('a')});
  CHECK(db->ids_with_prefix("%")->empty());
  CHECK(db->used_blobs()->size() == 2);
  CHECK(db->root_images()->contains(img.root_image));
}

TEST_CASE("image db moves a tag to the image that now has it") {
  TempDir dir;
  auto db = open_db(dir);
  REQUIRE(db->commit_image(image('a', {{"r:latest", RefKind::kTag}, {"r@1", RefKind::kDigest}}, {})).ok());
  REQUIRE(db->commit_image(image('b', {{"r:latest", RefKind::kTag}}, {})).ok());
  CHECK(db->lookup_ref("r:latest")->value() == id_of('b'));
  CHECK(db->unreferenced_images()->empty());  // a keeps its digest ref
  REQUIRE(db->commit_image(image('b', {{"r@1", RefKind::kDigest}}, {})).ok());
  CHECK(*db->unreferenced_images() == std::vector<std::string>{id_of('a')});
}

TEST_CASE("image db removal reports the blobs nothing uses any more") {
  TempDir dir;
  auto db = open_db(dir);
  REQUIRE(db->commit_image(image('a', {{"a:1", RefKind::kTag}}, {{id_of('1'), 1}, {id_of('2'), 2}})).ok());
  REQUIRE(db->commit_image(image('b', {{"b:1", RefKind::kTag}}, {{id_of('2'), 2}, {id_of('3'), 3}})).ok());
  auto unused = db->remove_image(id_of('a'));
  REQUIRE(unused.ok());
  CHECK(*unused == std::vector<std::string>{id_of('1')});
  CHECK_FALSE(db->lookup_ref("a:1")->has_value());
  CHECK_FALSE(db->get(id_of('a'))->has_value());
  CHECK(db->remove_image(id_of('a')).error().code() == ErrorCode::kNotFound);
  CHECK(db->list()->size() == 1);
}

TEST_CASE("image db refuses a schema newer than it knows") {
  TempDir dir;
  {
    auto raw = sqlite::Database::open(dir.file("images.db"));
    REQUIRE(raw.ok());
    REQUIRE(raw->exec("PRAGMA user_version = 99").ok());
  }
  auto db = ImageDb::open(dir.file("images.db"));
  REQUIRE_FALSE(db.ok());
  CHECK(db.error().code() == ErrorCode::kFailedPrecondition);
  CHECK(db.error().message().find("schema version 99 is newer") != std::string::npos);
}

TEST_CASE("image db uses WAL and records its schema version") {
  TempDir dir;
  { auto db = open_db(dir); }
  auto raw = sqlite::Database::open(dir.file("images.db"));
  REQUIRE(raw.ok());
  CHECK(*raw->query_int("PRAGMA user_version") == ImageDb::kSchemaVersion);
  auto mode = raw->prepare("PRAGMA journal_mode");
  REQUIRE(mode.ok());
  REQUIRE(*mode->step());
  CHECK(mode->text(0) == "wal");
}

}  // namespace
}  // namespace zoned::image_store
