// Reads a layer blob as a stream of tar entries while hashing the uncompressed tar stream.
//
// Two libarchive readers are chained: the outer one only decompresses (gzip, zstd, or none,
// detected from the data), the inner one parses tar from the outer one's output. Every
// uncompressed byte passes through our callback in between, where it is counted against a
// budget (decompression bombs) and fed to SHA-256, so the layer's diff_id can be checked
// against the image config.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "zoned/common/result.h"
#include "zoned/oci/digest.h"

struct archive;
struct archive_entry;

namespace zoned::image_store {

class LayerReader {
 public:
  // Reads from `fd` (not owned; must outlive the reader). Fails with ResourceExhausted once
  // `already_used` plus this layer's uncompressed bytes exceed `max_total_bytes`.
  static Result<std::unique_ptr<LayerReader>> open(int fd, uint64_t max_total_bytes, uint64_t already_used);
  ~LayerReader();
  LayerReader(const LayerReader&) = delete;
  LayerReader& operator=(const LayerReader&) = delete;

  // The next entry, or nullptr after the last one. Valid until the next call.
  Result<archive_entry*> next();
  // Reads the current entry's data; 0 at its end.
  Result<size_t> read_data(char* buf, size_t size);
  // Reads whatever follows the end-of-archive marker and returns the digest of the whole
  // uncompressed stream (the layer's diff_id).
  Result<oci::Digest> finish();

  uint64_t stream_bytes() const { return stream_bytes_; }

 private:
  LayerReader(uint64_t max_total_bytes, uint64_t already_used);
  static ssize_t pull_uncompressed(struct archive* inner, void* self, const void** buffer);
  ssize_t pull();
  Error archive_failure(struct archive* a, std::string_view what) const;

  struct archive* outer_ = nullptr;
  struct archive* inner_ = nullptr;
  uint64_t max_total_bytes_;
  uint64_t max_stream_bytes_;
  uint64_t stream_bytes_ = 0;
  std::unique_ptr<oci::Sha256> hash_;
  std::optional<Error> stream_error_;  // set by the callback, reported instead of libarchive's text
  std::unique_ptr<std::array<char, 128 * 1024>> buffer_;
};

}  // namespace zoned::image_store
