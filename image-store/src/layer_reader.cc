#include "layer_reader.h"

#include <archive.h>
#include <archive_entry.h>

#include <cerrno>

namespace zoned::image_store {

LayerReader::LayerReader(uint64_t max_total_bytes, uint64_t already_used)
    : max_total_bytes_(max_total_bytes),
      max_stream_bytes_(max_total_bytes > already_used ? max_total_bytes - already_used : 0),
      hash_(std::make_unique<oci::Sha256>()),
      buffer_(std::make_unique<std::array<char, 128 * 1024>>()) {}

LayerReader::~LayerReader() {
  if (inner_ != nullptr) archive_read_free(inner_);
  if (outer_ != nullptr) archive_read_free(outer_);
}

Error LayerReader::archive_failure(struct archive* a, std::string_view what) const {
  if (stream_error_) return *stream_error_;
  const char* detail = archive_error_string(a);
  return Error(ErrorCode::kInvalidArgument,
               std::string(what) + ": " + (detail != nullptr ? detail : "malformed archive"));
}

Result<std::unique_ptr<LayerReader>> LayerReader::open(int fd, uint64_t max_total_bytes, uint64_t already_used) {
  std::unique_ptr<LayerReader> reader(new LayerReader(max_total_bytes, already_used));
  reader->outer_ = archive_read_new();
  reader->inner_ = archive_read_new();
  if (reader->outer_ == nullptr || reader->inner_ == nullptr) {
    return Error(ErrorCode::kResourceExhausted, "libarchive: out of memory");
  }
  // Outer: decompression only. "raw" hands the (decompressed) bytes over as one entry.
  archive_read_support_filter_gzip(reader->outer_);
  archive_read_support_filter_zstd(reader->outer_);
  archive_read_support_format_raw(reader->outer_);
  if (archive_read_open_fd(reader->outer_, fd, 128 * 1024) != ARCHIVE_OK) {
    return reader->archive_failure(reader->outer_, "opening layer");
  }
  archive_entry* raw = nullptr;
  if (archive_read_next_header(reader->outer_, &raw) != ARCHIVE_OK) {
    return reader->archive_failure(reader->outer_, "decompressing layer");
  }
  // Inner: tar (ustar, pax, GNU) over the bytes our callback passes on.
  archive_read_support_format_tar(reader->inner_);
  if (archive_read_open(reader->inner_, reader.get(), nullptr, &LayerReader::pull_uncompressed, nullptr) !=
      ARCHIVE_OK) {
    return reader->archive_failure(reader->inner_, "reading tar");
  }
  return reader;
}

ssize_t LayerReader::pull_uncompressed(struct archive*, void* self, const void** buffer) {
  auto* reader = static_cast<LayerReader*>(self);
  *buffer = reader->buffer_->data();
  return reader->pull();
}

ssize_t LayerReader::pull() {
  la_ssize_t n = archive_read_data(outer_, buffer_->data(), buffer_->size());
  if (n < 0) {
    const char* detail = archive_error_string(outer_);
    stream_error_ = Error(ErrorCode::kInvalidArgument,
                          std::string("decompressing layer: ") + (detail != nullptr ? detail : "corrupt data"));
    archive_set_error(inner_, EIO, "decompression failed");
    return ARCHIVE_FATAL;
  }
  stream_bytes_ += static_cast<uint64_t>(n);
  if (stream_bytes_ > max_stream_bytes_) {
    stream_error_ =
        Error(ErrorCode::kResourceExhausted, "the image unpacks to more than " + std::to_string(max_total_bytes_) +
                                                 " bytes (max_unpacked_bytes); decompression bomb?");
    archive_set_error(inner_, EIO, "size limit");
    return ARCHIVE_FATAL;
  }
  hash_->update(buffer_->data(), static_cast<size_t>(n));
  return n;
}

Result<archive_entry*> LayerReader::next() {
  archive_entry* entry = nullptr;
  int rc = archive_read_next_header(inner_, &entry);
  if (rc == ARCHIVE_EOF) return static_cast<archive_entry*>(nullptr);
  // ARCHIVE_WARN (e.g. an unknown pax keyword) still yields a usable entry.
  if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) return archive_failure(inner_, "reading tar header");
  return entry;
}

Result<size_t> LayerReader::read_data(char* buf, size_t size) {
  la_ssize_t n = archive_read_data(inner_, buf, size);
  if (n < 0) return archive_failure(inner_, "reading tar entry data");
  return static_cast<size_t>(n);
}

Result<oci::Digest> LayerReader::finish() {
  // The tar reader stops at the end-of-archive marker; the diff_id covers the padding after it.
  for (;;) {
    ssize_t n = pull();
    if (n < 0) return *stream_error_;
    if (n == 0) break;
  }
  return hash_->finish();
}

}  // namespace zoned::image_store
