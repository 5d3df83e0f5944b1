// Builds a read-only EROFS image from a directory with erofs-utils' mkfs.erofs, run as a child
// process (argv only, output captured, bounded time). Ownership, modes, xattrs and per-file
// mtimes are kept (no --all-root, --preserve-mtime); data is stored uncompressed so any guest
// kernel with EROFS can read it.
#pragma once

#include <chrono>
#include <string>

#include "zoned/common/result.h"

namespace zoned::image_store {

struct ErofsOptions {
  std::string mkfs_erofs = "mkfs.erofs";
  std::chrono::milliseconds timeout{std::chrono::minutes(30)};
};

// Writes `output` (created or overwritten) from `source_dir` and fsyncs it.
Status build_erofs(const ErofsOptions& options, const std::string& source_dir, const std::string& output);

}  // namespace zoned::image_store
