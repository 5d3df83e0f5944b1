// Real disk use of a directory tree (allocated blocks, inodes) and the mount it lives on.
#pragma once

#include <cstdint>
#include <string>

#include "zoned/common/result.h"

namespace zoned::image_store {

struct TreeUsage {
  uint64_t bytes = 0;   // st_blocks * 512, each inode counted once
  uint64_t inodes = 0;  // distinct inodes, including directories and `path` itself
};

// Walks `path` without following symlinks or crossing into other filesystems.
Result<TreeUsage> tree_usage(const std::string& path);

// The mount point of the filesystem holding `path` (the longest matching entry of
// /proc/self/mountinfo for its real path).
Result<std::string> mount_point_of(const std::string& path);

}  // namespace zoned::image_store
