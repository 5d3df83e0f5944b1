// Filesystem helpers with errors that name the path.
#pragma once

#include <sys/types.h>

#include <string>

#include "zoned/common/result.h"

namespace zoned::fs {

// mkdir -p with the given mode for directories it creates; existing ones are left as they are.
Status make_dirs(const std::string& path, mode_t mode);

// Fails unless `path` is a directory where this process can create and remove a file.
// (access(2) is not enough: root passes it even where writes fail, e.g. read-only mounts.)
Status check_writable_dir(const std::string& path);

// Creates the directory (make_dirs) and then checks it is writable.
Status prepare_dir(const std::string& path, mode_t mode);

}  // namespace zoned::fs
