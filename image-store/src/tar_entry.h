// One tar entry's header, copied out of libarchive and validated: the path is confined
// (sanitize_path), ids are in range, names decode. The rest of the applier never sees libarchive.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "root_dir.h"
#include "zoned/common/result.h"

struct archive_entry;

namespace zoned::image_store {

struct TarEntry {
  std::string raw_name;  // as in the archive, for messages (see printable())
  EntryPath path;
  mode_t type = 0;         // S_IFREG, S_IFDIR, S_IFLNK, S_IFIFO, S_IFCHR, S_IFBLK, S_IFSOCK
  mode_t permissions = 0;  // including setuid, setgid and sticky bits
  uid_t uid = 0;
  gid_t gid = 0;
  timespec mtime{};
  uint64_t size = 0;           // data bytes for regular files
  std::string symlink_target;  // kept verbatim: resolved in the zone, never by us
  std::optional<EntryPath> hardlink_target;
  unsigned dev_major = 0;
  unsigned dev_minor = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;  // only the kinds we apply

  bool is_hardlink() const { return hardlink_target.has_value(); }
};

Result<TarEntry> read_tar_entry(archive_entry* entry);

// The name with control characters and non-ASCII escaped, cut at `max` bytes: safe for logs.
std::string printable(std::string_view name, size_t max = 256);

// Whether an xattr is one we restore: user.*, trusted.*, security.capability.
bool is_applied_xattr(std::string_view name);

}  // namespace zoned::image_store
