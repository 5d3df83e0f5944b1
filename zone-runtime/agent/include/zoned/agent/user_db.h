// Resolving user and group names in a container's root filesystem (/etc/passwd, /etc/group),
// the way container runtimes do before handing numeric ids to crun.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "zoned/common/result.h"

namespace zoned::agent {

struct ResolvedUser {
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::vector<std::uint32_t> additional_gids;  // supplementary groups from /etc/group
};

// Parses passwd/group text (exposed for tests).
struct PasswdEntry {
  std::string name;
  std::uint32_t uid;
  std::uint32_t gid;
};
struct GroupEntry {
  std::string name;
  std::uint32_t gid;
  std::vector<std::string> members;
};
std::vector<PasswdEntry> parse_passwd(std::string_view text);
std::vector<GroupEntry> parse_group(std::string_view text);

// Resolves `user` ("name", "uid", "uid:gid", "name:group") and an optional separate `group`
// against the files under `rootfs` (read without leaving the root: symlinks resolve inside it).
// `default_uid`/`default_gid` apply when `user` is empty. Unknown names: kNotFound
// "user X not found in the image" / "group X not found in the image".
Result<ResolvedUser> resolve_user(const std::string& rootfs, std::string_view user, std::string_view group,
                                  std::uint32_t default_uid, std::uint32_t default_gid);

// Reads a file under `rootfs` (path relative to it), resolving symlinks inside the root.
// A missing file is kNotFound.
Result<std::string> read_file_in_root(const std::string& rootfs, const std::string& relative, std::size_t max_bytes);

}  // namespace zoned::agent
