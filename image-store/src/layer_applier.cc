#include "layer_applier.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

#include "zoned/common/file_ops.h"
#include "zoned/common/log.h"
#include "zoned/common/unique_fd.h"

namespace zoned::image_store {
namespace {

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";
constexpr std::string_view kAufsMetaPrefix = ".wh..wh.";

Error too_many_entries(uint64_t max) {
  return Error(ErrorCode::kResourceExhausted,
               "the image has more than " + std::to_string(max) + " entries (max_entries); decompression bomb?");
}

bool is_device(mode_t type) {
  return type == S_IFCHR || type == S_IFBLK;
}

}  // namespace

Result<LayerStats> LayerApplier::apply(int fd, const std::optional<oci::Digest>& expected_diff_id) {
  layer_paths_.clear();
  auto reader = LayerReader::open(fd, limits_.max_unpacked_bytes, bytes_before_layer_);
  if (!reader.ok()) return std::move(reader).take_error();
  LayerStats stats;
  ZONED_TRY(apply_entries(**reader, stats));
  auto diff_id = (*reader)->finish();
  if (!diff_id.ok()) return std::move(diff_id).take_error();
  stats.uncompressed_bytes = (*reader)->stream_bytes();
  stats.diff_id = *diff_id;
  bytes_before_layer_ += stats.uncompressed_bytes;
  if (expected_diff_id && *expected_diff_id != *diff_id) {
    return Error(ErrorCode::kInvalidArgument, "uncompressed layer does not match the config's diff_id: expected " +
                                                  expected_diff_id->str() + ", got " + diff_id->str());
  }
  if (stats.skipped_devices > 0) {
    log::warn("skipped device nodes in layer",
              {{"diff_id", diff_id->str()}, {"count", stats.skipped_devices}, {"first", stats.first_skipped_device}});
  }
  return stats;
}

Status LayerApplier::apply_entries(LayerReader& reader, LayerStats& stats) {
  for (;;) {
    auto raw = reader.next();
    if (!raw.ok()) return std::move(raw).take_error();
    if (*raw == nullptr) return ok_status();
    auto entry = read_tar_entry(*raw);
    if (!entry.ok()) return std::move(entry).take_error();
    ++stats.entries;
    if (auto applied = apply_entry(*entry, reader, stats); !applied.ok()) {
      return std::move(applied).take_error().wrap("entry '" + printable(entry->raw_name) + "'");
    }
  }
}

Status LayerApplier::check_limits(const TarEntry& entry, const LayerReader& reader) {
  if (++entries_ > limits_.max_entries) return too_many_entries(limits_.max_entries);
  uint64_t used = bytes_before_layer_ + reader.stream_bytes();
  uint64_t left = limits_.max_unpacked_bytes > used ? limits_.max_unpacked_bytes - used : 0;
  if (entry.type == S_IFREG && !entry.is_hardlink() && entry.size > left) {
    return Error(ErrorCode::kResourceExhausted,
                 "size of " + std::to_string(entry.size) + " bytes would take the image past " +
                     std::to_string(limits_.max_unpacked_bytes) + " bytes (max_unpacked_bytes); decompression bomb?");
  }
  return ok_status();
}

Status LayerApplier::apply_entry(const TarEntry& entry, LayerReader& reader, LayerStats& stats) {
  ZONED_TRY(check_limits(entry, reader));
  auto whiteout_handled = handle_whiteout(entry);
  if (!whiteout_handled.ok()) return std::move(whiteout_handled).take_error();
  if (*whiteout_handled) return ok_status();
  if (entry.path.is_root()) {
    if (entry.type != S_IFDIR || entry.is_hardlink()) {
      return Error(ErrorCode::kInvalidArgument, "the root can only be a directory");
    }
    dir_mtimes_[""] = entry.mtime;
    return writer_.update_dir(root_.fd(), entry);
  }
  if (is_device(entry.type) && !entry.is_hardlink()) {
    if (stats.skipped_devices++ == 0) stats.first_skipped_device = printable(entry.raw_name);
    return ok_status();
  }
  std::vector<std::string> created;
  auto parent = root_.open_parent(entry.path, true, &created);
  for (const std::string& path : created) remember(path);
  if (!parent.ok()) return std::move(parent).take_error();
  remember(entry.path.str());
  return write_entry(entry, parent->get(), reader);
}

// Returns true when the entry was a whiteout (handled; nothing to create).
Result<bool> LayerApplier::handle_whiteout(const TarEntry& entry) {
  if (entry.path.is_root() || entry.is_hardlink()) return false;
  const std::string& name = entry.path.name();
  EntryPath dir{{entry.path.components.begin(), entry.path.components.end() - 1}};
  if (name == kOpaqueMarker) {
    ZONED_TRY(make_opaque(dir));
    return true;
  }
  if (name.starts_with(kAufsMetaPrefix)) return true;  // AUFS bookkeeping: never part of the image
  if (name.starts_with(kWhiteoutPrefix)) {
    std::string hidden = name.substr(kWhiteoutPrefix.size());
    if (hidden.empty() || hidden == "." || hidden == "..") {
      return Error(ErrorCode::kInvalidArgument, "malformed whiteout");
    }
    ZONED_TRY(whiteout(dir, hidden));
    return true;
  }
  if (entry.type == S_IFCHR && entry.dev_major == 0 && entry.dev_minor == 0) {
    ZONED_TRY(whiteout(dir, name));  // overlayfs-style whiteout
    return true;
  }
  return false;
}

Status LayerApplier::whiteout(const EntryPath& dir, const std::string& name) {
  if (layer_paths_.contains(dir.child(name))) return ok_status();  // same layer: not hidden
  auto parent = root_.open_dir(dir, dir.components.size(), false);
  if (!parent.ok()) {
    ErrorCode code = parent.error().code();
    // Nothing below a missing directory or a file to delete. A symlink on the way is an error.
    if (code == ErrorCode::kNotFound || code == ErrorCode::kFailedPrecondition) return ok_status();
    return std::move(parent).take_error();
  }
  return fs::remove_tree_at(parent->get(), name);
}

Status LayerApplier::make_opaque(const EntryPath& dir) {
  std::vector<std::string> created;
  auto fd = root_.open_dir(dir, dir.components.size(), true, &created);
  for (const std::string& path : created) remember(path);
  if (!fd.ok()) return std::move(fd).take_error();
  if (!dir.is_root()) remember(dir.str());
  return clear_lower(fd->get(), dir.str());
}

// Removes everything below the directory that the current layer did not write.
Status LayerApplier::clear_lower(int dirfd, const std::string& dir_path) {
  auto names = fs::list_dir(dirfd);
  if (!names.ok()) return std::move(names).take_error();
  for (const std::string& name : *names) {
    std::string child = dir_path.empty() ? name : dir_path + "/" + name;
    if (!layer_paths_.contains(child)) {
      ZONED_TRY(fs::remove_tree_at(dirfd, name));
      continue;
    }
    struct stat st {};
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return sys_error("stat " + child);
    if (!S_ISDIR(st.st_mode)) continue;
    UniqueFd sub(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!sub.valid()) return sys_error("opening " + child);
    ZONED_TRY(clear_lower(sub.get(), child));
  }
  return ok_status();
}

void LayerApplier::remember(const std::string& path) {
  std::string current = path;
  while (!current.empty() && layer_paths_.insert(current).second) {
    auto slash = current.rfind('/');
    current.resize(slash == std::string::npos ? 0 : slash);
  }
}

Status LayerApplier::make_room(int parent, const TarEntry& entry) {
  return fs::remove_tree_at(parent, entry.path.name());
}

Status LayerApplier::write_entry(const TarEntry& entry, int parent, LayerReader& reader) {
  if (entry.is_hardlink()) return write_hardlink(entry, parent);
  const std::string& name = entry.path.name();
  switch (entry.type) {
    case S_IFDIR: {
      struct stat st {};
      bool is_dir = ::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
      if (!is_dir) ZONED_TRY(make_room(parent, entry));  // a file or symlink from below is replaced
      dir_mtimes_[entry.path.str()] = entry.mtime;
      return writer_.write_dir(parent, entry);
    }
    case S_IFREG: ZONED_TRY(make_room(parent, entry)); return writer_.write_file(parent, entry, reader);
    case S_IFLNK: ZONED_TRY(make_room(parent, entry)); return writer_.write_symlink(parent, entry);
    case S_IFIFO: ZONED_TRY(make_room(parent, entry)); return writer_.write_fifo(parent, entry);
    default: return Error(ErrorCode::kInvalidArgument, "unsupported entry type " + std::to_string(entry.type));
  }
}

Status LayerApplier::write_hardlink(const TarEntry& entry, int parent) {
  const EntryPath& target = *entry.hardlink_target;
  std::string shown = "hard link target '" + printable(target.str()) + "'";
  if (target.str() == entry.path.str()) return Error(ErrorCode::kInvalidArgument, "hard link to itself");
  const Error missing(ErrorCode::kInvalidArgument, shown + " does not exist (it must come earlier in the layers)");
  auto target_parent = root_.open_parent(target, false);
  if (!target_parent.ok()) {
    if (target_parent.error().code() == ErrorCode::kNotFound) return missing;
    return std::move(target_parent).take_error().wrap(shown);
  }
  struct stat st {};
  if (::fstatat(target_parent->get(), target.name().c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return errno == ENOENT ? missing : sys_error(shown);
  }
  if (S_ISDIR(st.st_mode)) return Error(ErrorCode::kInvalidArgument, shown + " is a directory");
  ZONED_TRY(make_room(parent, entry));
  return writer_.write_hardlink(parent, entry, target_parent->get(), target.name());
}

Status LayerApplier::finish() {
  for (const auto& [path, mtime] : dir_mtimes_) {
    auto parsed = sanitize_path(path);
    if (!parsed.ok()) continue;
    auto fd = root_.open_dir(*parsed, parsed->components.size(), false);
    if (!fd.ok()) continue;  // removed or replaced by a later layer
    timespec times[2] = {mtime, mtime};
    if (::futimens(fd->get(), times) != 0) return sys_error("setting mtime of '" + printable(path) + "'");
  }
  return ok_status();
}

}  // namespace zoned::image_store
