// Builds OCI layers in memory with libarchive's writers, for the image-store tests: plain,
// gzip or zstd tar streams with any entries, including hostile ones.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "zoned/oci/descriptor.h"
#include "zoned/oci/digest.h"

namespace zoned::testing {

struct TarItem {
  std::string path;
  mode_t type = S_IFREG;
  mode_t mode = 0644;
  uint32_t uid = 0;
  uint32_t gid = 0;
  int64_t mtime = 1'700'000'000;
  std::string data;      // regular files
  std::string link;      // symlink target
  std::string hardlink;  // hard link target (type ignored)
  unsigned dev_major = 0;
  unsigned dev_minor = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;
};

TarItem file(std::string path, std::string data, mode_t mode = 0644);
TarItem directory(std::string path, mode_t mode = 0755);
TarItem symlink(std::string path, std::string target);
TarItem hardlink(std::string path, std::string target);
TarItem whiteout(const std::string& path);  // "a/b" -> "a/.wh.b"
TarItem opaque(const std::string& dir);     // "a" -> "a/.wh..wh..opq"
TarItem fifo(std::string path);
TarItem device(std::string path, mode_t type, unsigned major, unsigned minor);

enum class Compression { kNone, kGzip, kZstd };

struct Layer {
  std::string blob;            // what the registry serves
  oci::Descriptor descriptor;  // media type, digest and size of `blob`
  oci::Digest diff_id;         // digest of the uncompressed tar
};

// The uncompressed tar (pax format, so xattrs and long names are kept).
std::string make_tar(const std::vector<TarItem>& items);
// Compresses `data` as a single stream (gzip or zstd), or returns it unchanged.
std::string compress(const std::string& data, Compression compression);
Layer make_layer(const std::vector<TarItem>& items, Compression compression = Compression::kGzip);
// A layer from a ready-made (maybe broken) tar.
Layer layer_from_tar(const std::string& tar, Compression compression);

}  // namespace zoned::testing
