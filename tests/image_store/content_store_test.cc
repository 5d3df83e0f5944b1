#include "content_store.h"

#include <atomic>
#include <catch2/catch_test_macros.hpp>
#include <thread>
#include <vector>

#include "fs_inspect.h"
#include "support/temp_dir.h"

namespace zoned::image_store {
namespace {

using testing::TempDir;

oci::Descriptor descriptor_for(const std::string& data) {
  return oci::Descriptor{
      std::string(oci::media_type::kOciLayer), oci::sha256_of(data), static_cast<int64_t>(data.size()), {}, {}};
}

ContentStore::Fetch serve(const std::string& data, std::atomic<int>* calls = nullptr) {
  return [data, calls](oci::BlobSink& sink) {
    if (calls != nullptr) ++*calls;
    return sink.write(data.data(), data.size());
  };
}

std::unique_ptr<ContentStore> open_store(const TempDir& dir) {
  auto store = ContentStore::open(dir.path());
  REQUIRE(store.ok());
  return std::move(*store);
}

TEST_CASE("content store ingests a verified blob and stores it by digest") {
  TempDir dir;
  auto store = open_store(dir);
  std::string data = "hello layer";
  auto desc = descriptor_for(data);
  auto result = store->ingest(desc, serve(data));
  REQUIRE(result.ok());
  CHECK(result->fetched);
  CHECK(result->bytes == data.size());
  std::string path = dir.path() + "/blobs/sha256/" + std::string(desc.digest.hex());
  CHECK(store->path(desc.digest) == path);
  CHECK(testing::read_text(path) == data);
  CHECK((testing::lstat_of(path)->st_mode & 0777) == 0444);
  CHECK(store->contains(desc));
  CHECK(testing::names_in(dir.path() + "/tmp").empty());
  auto read = store->read_blob(desc.digest, 100);
  REQUIRE(read.ok());
  CHECK(*read == data);
  CHECK(store->read_blob(desc.digest, 3).error().code() == ErrorCode::kResourceExhausted);
}

TEST_CASE("content store rejects a digest mismatch and leaves nothing behind") {
  TempDir dir;
  auto store = open_store(dir);
  auto desc = descriptor_for("the real content");
  auto result = store->ingest(desc, serve("fake content!!!!"));  // same size, other bytes
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().message().find("digest mismatch: expected " + desc.digest.str() + ", got sha256:") !=
        std::string::npos);
  CHECK_FALSE(store->contains(desc));
  CHECK(testing::names_in(dir.path() + "/tmp").empty());
  CHECK(testing::names_in(dir.path() + "/blobs/sha256").empty());
}

TEST_CASE("content store checks the size against the descriptor") {
  TempDir dir;
  auto store = open_store(dir);
  std::string data = "0123456789";
  auto desc = descriptor_for(data);
  SECTION("longer") {
    auto result = store->ingest(desc, serve(data + "extra"));
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().message().find("larger than its descriptor") != std::string::npos);
  }
  SECTION("shorter") {
    auto result = store->ingest(desc, serve(data.substr(0, 4)));
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().message().find("size mismatch: expected 10 bytes, received 4") != std::string::npos);
  }
  CHECK(testing::names_in(dir.path() + "/tmp").empty());
  CHECK_FALSE(store->contains(desc));
}

TEST_CASE("content store passes on a failed transfer and cleans up") {
  TempDir dir;
  auto store = open_store(dir);
  std::string data = "abcdefgh";
  auto result = store->ingest(descriptor_for(data), [&](oci::BlobSink& sink) -> Status {
    ZONED_TRY(sink.write(data.data(), 3));
    return Error(ErrorCode::kUnavailable, "connection reset");
  });
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().code() == ErrorCode::kUnavailable);
  CHECK(testing::names_in(dir.path() + "/tmp").empty());
}

TEST_CASE("content store handles a restarted transfer") {
  TempDir dir;
  auto store = open_store(dir);
  std::string data = "restart me please";
  auto desc = descriptor_for(data);
  auto result = store->ingest(desc, [&](oci::BlobSink& sink) -> Status {
    ZONED_TRY(sink.write("garbage", 7));
    ZONED_TRY(sink.restart());
    return sink.write(data.data(), data.size());
  });
  REQUIRE(result.ok());
  CHECK(testing::read_text(store->path(desc.digest)) == data);
}

TEST_CASE("content store does not fetch a blob it already has") {
  TempDir dir;
  auto store = open_store(dir);
  std::string data = "dedup";
  auto desc = descriptor_for(data);
  std::atomic<int> calls = 0;
  REQUIRE(store->ingest(desc, serve(data, &calls)).ok());
  auto again = store->ingest(desc, serve(data, &calls));
  REQUIRE(again.ok());
  CHECK_FALSE(again->fetched);
  CHECK(calls == 1);
}

TEST_CASE("concurrent ingests of one digest share a single transfer") {
  TempDir dir;
  auto store = open_store(dir);
  std::string data(1 << 20, 'x');
  auto desc = descriptor_for(data);
  std::atomic<int> calls = 0;
  auto slow_fetch = [&](oci::BlobSink& sink) -> Status {
    ++calls;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    return sink.write(data.data(), data.size());
  };
  std::vector<std::thread> threads;
  std::atomic<int> succeeded = 0;
  std::atomic<int> fetched = 0;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      auto result = store->ingest(desc, slow_fetch);
      if (result.ok()) ++succeeded;
      if (result.ok() && result->fetched) ++fetched;
    });
  }
  for (auto& t : threads) t.join();
  CHECK(calls == 1);
  CHECK(succeeded == 8);
  CHECK(fetched == 1);
}

TEST_CASE("concurrent ingests share a failure too") {
  TempDir dir;
  auto store = open_store(dir);
  auto desc = descriptor_for("x");
  std::atomic<int> calls = 0;
  auto failing = [&](oci::BlobSink&) -> Status {
    ++calls;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    return Error(ErrorCode::kUnavailable, "registry down");
  };
  std::vector<std::thread> threads;
  std::atomic<int> failed = 0;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      if (!store->ingest(desc, failing).ok()) ++failed;
    });
  }
  for (auto& t : threads) t.join();
  CHECK(calls == 1);
  CHECK(failed == 4);
}

TEST_CASE("a lease keeps a blob from being removed") {
  TempDir dir;
  auto store = open_store(dir);
  std::string data = "leased";
  auto desc = descriptor_for(data);
  REQUIRE(store->ingest(desc, serve(data)).ok());
  {
    auto lease = store->lease(desc.digest);
    auto removed = store->remove(desc.digest.str());
    REQUIRE(removed.ok());
    CHECK_FALSE(*removed);
    CHECK(store->contains(desc));
  }
  auto removed = store->remove(desc.digest.str());
  REQUIRE(removed.ok());
  CHECK(*removed);
  CHECK_FALSE(store->contains(desc));
  auto listed = store->list();
  REQUIRE(listed.ok());
  CHECK(listed->empty());
}

}  // namespace
}  // namespace zoned::image_store
