// Low-level file operations for durable, confined writes: full writes, fsync of directories
// (so renames survive a crash), and removal of trees that never follows symlinks.
#pragma once

#include <fcntl.h>

#include <cstddef>
#include <string>
#include <vector>

#include "zoned/common/result.h"

namespace zoned::fs {

// write(2) until everything is written (retries EINTR and short writes).
Status write_all(int fd, const void* data, size_t size);

// Opens `path` (a directory) and fsyncs it.
Status fsync_dir(const std::string& path);

// Names in the directory open at `dirfd`, without "." and "..".
Result<std::vector<std::string>> list_dir(int dirfd);

// Removes `name` relative to `dirfd` (or AT_FDCWD) with everything under it. Symlinks are
// removed, never followed: each directory is opened with O_NOFOLLOW. A missing entry is fine.
Status remove_tree_at(int dirfd, const std::string& name);
inline Status remove_tree(const std::string& path) {
  return remove_tree_at(AT_FDCWD, path);
}

// Reads a whole file, failing with ResourceExhausted when it is larger than `max_bytes`.
Result<std::string> read_file(const std::string& path, size_t max_bytes);

}  // namespace zoned::fs
