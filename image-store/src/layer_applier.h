// Applies an image's layers, in order, to one directory: the image's root filesystem.
//
// OCI whiteouts: ".wh.<name>" deletes <name> of lower layers; ".wh..wh..opq" empties its
// directory of lower layers' contents (this layer's entries stay, wherever they come in the
// tar); whiteouts never appear in the result. A name present in the same layer is not hidden
// by that layer's whiteouts (OCI image spec). Other ".wh..wh." (AUFS metadata) are skipped.
// Character device 0:0 is the overlayfs whiteout and is treated like ".wh.<name>"; other device
// nodes are skipped with a warning (containers get /dev from the runtime).
//
// Confinement: see root_dir.h. Hostile entries fail the layer with an error naming them:
// names escaping with "..", writes through symlinks (symlinks are created verbatim and never
// followed), hard links to missing or outside targets or to directories, overlong names.
// Absolute names are made relative, as tar does.
//
// Bounds, per image (all layers): uncompressed tar bytes (max_unpacked_bytes) and entries
// (max_entries): exceeding either fails with ResourceExhausted.
//
// Verification: each layer's uncompressed tar stream is hashed and compared with its diff_id
// from the image config (the compressed blob's digest is verified by the content store).
#pragma once

#include <time.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_set>

#include "entry_writer.h"
#include "root_dir.h"
#include "tar_entry.h"
#include "zoned/common/result.h"
#include "zoned/oci/digest.h"

namespace zoned::image_store {

struct ApplyLimits {
  uint64_t max_unpacked_bytes = 64ull << 30;
  uint64_t max_entries = 2'000'000;
};

struct LayerStats {
  uint64_t entries = 0;
  uint64_t uncompressed_bytes = 0;
  uint64_t skipped_devices = 0;
  std::string first_skipped_device;
  std::optional<oci::Digest> diff_id;  // of the uncompressed tar stream
};

class LayerApplier {
 public:
  // `root` must outlive the applier; normally an empty directory.
  LayerApplier(const RootDir& root, ApplyLimits limits) : root_(root), limits_(limits) {}

  // Applies one layer read from `fd` (a blob: gzip, zstd or plain tar). When `expected_diff_id`
  // is given, the uncompressed stream must hash to it.
  Result<LayerStats> apply(int fd, const std::optional<oci::Digest>& expected_diff_id);

  // Restores directory mtimes, which entries written later changed. Call after the last layer.
  Status finish();

 private:
  Status apply_entries(LayerReader& reader, LayerStats& stats);
  Status apply_entry(const TarEntry& entry, LayerReader& reader, LayerStats& stats);
  Status check_limits(const TarEntry& entry, const LayerReader& reader);
  Result<bool> handle_whiteout(const TarEntry& entry);
  Status whiteout(const EntryPath& dir, const std::string& name);
  Status make_opaque(const EntryPath& dir);
  Status clear_lower(int dirfd, const std::string& dir_path);
  Status write_entry(const TarEntry& entry, int parent, LayerReader& reader);
  Status make_room(int parent, const TarEntry& entry);
  Status write_hardlink(const TarEntry& entry, int parent);
  // Records a path (and its ancestors) as written by the current layer.
  void remember(const std::string& path);

  const RootDir& root_;
  ApplyLimits limits_;
  EntryWriter writer_;
  uint64_t bytes_before_layer_ = 0;  // uncompressed bytes of the layers already applied
  uint64_t entries_ = 0;
  std::unordered_set<std::string> layer_paths_;  // written by the current layer, with ancestors
  std::map<std::string, timespec> dir_mtimes_;
};

}  // namespace zoned::image_store
