#include "tar_entry.h"

#include <archive.h>
#include <archive_entry.h>

#include <limits>

namespace zoned::image_store {
namespace {

// libarchive gives names in the locale's encoding, which fails for non-ASCII names in the C
// locale the daemon runs in; the UTF-8 form (what pax headers carry) is the fallback.
const char* name_of(const char* mbs, const char* utf8) {
  return mbs != nullptr ? mbs : utf8;
}

Result<uint32_t> checked_id(la_int64_t id, std::string_view what) {
  if (id < 0 || id >= std::numeric_limits<uint32_t>::max()) {
    return Error(ErrorCode::kInvalidArgument, std::string(what) + " " + std::to_string(id) + " out of range");
  }
  return static_cast<uint32_t>(id);
}

Status read_ids(archive_entry* entry, TarEntry& out) {
  auto uid = checked_id(archive_entry_uid(entry), "uid");
  if (!uid.ok()) return std::move(uid).take_error();
  auto gid = checked_id(archive_entry_gid(entry), "gid");
  if (!gid.ok()) return std::move(gid).take_error();
  out.uid = *uid;
  out.gid = *gid;
  return ok_status();
}

Status read_links(archive_entry* entry, TarEntry& out) {
  if (const char* target = name_of(archive_entry_hardlink(entry), archive_entry_hardlink_utf8(entry))) {
    auto path = sanitize_path(target);
    if (!path.ok()) return std::move(path).take_error().wrap("hard link target '" + printable(target) + "'");
    if (path->is_root()) return Error(ErrorCode::kInvalidArgument, "hard link to the root directory");
    out.hardlink_target = std::move(*path);
    return ok_status();
  }
  if (out.type == S_IFLNK) {
    const char* target = name_of(archive_entry_symlink(entry), archive_entry_symlink_utf8(entry));
    if (target == nullptr || *target == '\0') return Error(ErrorCode::kInvalidArgument, "symlink without a target");
    out.symlink_target = target;
    if (out.symlink_target.size() >= kMaxPathBytes) {
      return Error(ErrorCode::kInvalidArgument, "symlink target longer than " + std::to_string(kMaxPathBytes));
    }
  }
  return ok_status();
}

void read_xattrs(archive_entry* entry, TarEntry& out) {
  archive_entry_xattr_reset(entry);
  const char* name = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  while (archive_entry_xattr_next(entry, &name, &value, &size) == ARCHIVE_OK) {
    if (name == nullptr || !is_applied_xattr(name)) continue;
    out.xattrs.emplace_back(name, std::string(static_cast<const char*>(value), size));
  }
}

}  // namespace

std::string printable(std::string_view name, size_t max) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char c : name.substr(0, max)) {
    auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f && c != '\\') {
      out += c;
    } else {
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    }
  }
  if (name.size() > max) out += "...";
  return out;
}

bool is_applied_xattr(std::string_view name) {
  return name.starts_with("user.") || name.starts_with("trusted.") || name == "security.capability";
}

Result<TarEntry> read_tar_entry(archive_entry* entry) {
  TarEntry out;
  const char* name = name_of(archive_entry_pathname(entry), archive_entry_pathname_utf8(entry));
  if (name == nullptr) return Error(ErrorCode::kInvalidArgument, "entry without a usable name");
  out.raw_name = name;
  auto path = sanitize_path(name);
  if (!path.ok()) return std::move(path).take_error().wrap("entry '" + printable(name) + "'");
  out.path = std::move(*path);
  out.type = archive_entry_filetype(entry);
  out.permissions = archive_entry_perm(entry) & 07777;
  if (auto ids = read_ids(entry, out); !ids.ok()) {
    return std::move(ids).take_error().wrap("entry '" + printable(name) + "'");
  }
  out.mtime.tv_sec = archive_entry_mtime(entry);
  out.mtime.tv_nsec = archive_entry_mtime_nsec(entry);
  la_int64_t size = archive_entry_size(entry);
  out.size = size > 0 ? static_cast<uint64_t>(size) : 0;
  out.dev_major = static_cast<unsigned>(archive_entry_rdevmajor(entry));
  out.dev_minor = static_cast<unsigned>(archive_entry_rdevminor(entry));
  if (auto links = read_links(entry, out); !links.ok()) {
    return std::move(links).take_error().wrap("entry '" + printable(name) + "'");
  }
  read_xattrs(entry, out);
  return out;
}

}  // namespace zoned::image_store
