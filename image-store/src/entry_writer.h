// Creates one tar entry's file, directory, symlink, FIFO or hard link below an already opened
// (confined) parent directory, with its ownership, mode (setuid/setgid/sticky included),
// xattrs and mtime. Callers have removed whatever was at the name before.
#pragma once

#include <string>

#include "layer_reader.h"
#include "tar_entry.h"
#include "zoned/common/result.h"

namespace zoned::image_store {

class EntryWriter {
 public:
  // Unprivileged (tests, development), ownership and trusted.* xattrs cannot be set; the
  // resulting EPERMs are ignored instead of failing the layer.
  EntryWriter();

  Status write_file(int parent, const TarEntry& entry, LayerReader& data);
  // Creates the directory unless it exists, then applies metadata except the mtime, which
  // later entries would change again (LayerApplier restores directory mtimes at the end).
  Status write_dir(int parent, const TarEntry& entry);
  Status update_dir(int dirfd, const TarEntry& entry);
  Status write_symlink(int parent, const TarEntry& entry);
  Status write_fifo(int parent, const TarEntry& entry);
  Status write_hardlink(int parent, const TarEntry& entry, int target_parent, const std::string& target_name);

 private:
  Status tolerate_unprivileged(int rc, std::string_view what) const;
  Status apply_fd_metadata(int fd, const TarEntry& entry) const;
  Status apply_xattrs(int fd, const TarEntry& entry) const;

  bool privileged_;
  std::unique_ptr<std::array<char, 128 * 1024>> buffer_;
};

}  // namespace zoned::image_store
