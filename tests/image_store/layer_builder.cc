#include "layer_builder.h"

#include <archive.h>
#include <archive_entry.h>

#include <stdexcept>

namespace zoned::testing {
namespace {

la_ssize_t append_to_string(struct archive*, void* out, const void* data, size_t size) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(data), size);
  return static_cast<la_ssize_t>(size);
}

void check(struct archive* a, int rc, const char* what) {
  if (rc < ARCHIVE_WARN) {
    const char* detail = archive_error_string(a);
    throw std::runtime_error(std::string(what) + ": " + (detail != nullptr ? detail : "?"));
  }
}

void write_item(struct archive* a, const TarItem& item) {
  archive_entry* entry = archive_entry_new();
  archive_entry_set_pathname(entry, item.path.c_str());
  archive_entry_set_filetype(entry, item.type);
  archive_entry_set_perm(entry, item.mode);
  archive_entry_set_uid(entry, item.uid);
  archive_entry_set_gid(entry, item.gid);
  archive_entry_set_mtime(entry, item.mtime, 0);
  if (!item.hardlink.empty()) {
    archive_entry_set_filetype(entry, AE_IFREG);
    archive_entry_set_hardlink(entry, item.hardlink.c_str());
  } else if (item.type == S_IFLNK) {
    archive_entry_set_symlink(entry, item.link.c_str());
  } else if (item.type == S_IFCHR || item.type == S_IFBLK) {
    archive_entry_set_rdevmajor(entry, item.dev_major);
    archive_entry_set_rdevminor(entry, item.dev_minor);
  }
  if (item.type == S_IFREG && item.hardlink.empty()) {
    archive_entry_set_size(entry, static_cast<la_int64_t>(item.data.size()));
  }
  for (const auto& [name, value] : item.xattrs) {
    archive_entry_xattr_add_entry(entry, name.c_str(), value.data(), value.size());
  }
  check(a, archive_write_header(a, entry), "writing header");
  if (!item.data.empty() && item.hardlink.empty()) {
    if (archive_write_data(a, item.data.data(), item.data.size()) < 0) check(a, ARCHIVE_FATAL, "writing data");
  }
  archive_entry_free(entry);
}

}  // namespace

TarItem file(std::string path, std::string data, mode_t mode) {
  TarItem item;
  item.path = std::move(path);
  item.data = std::move(data);
  item.mode = mode;
  return item;
}

TarItem directory(std::string path, mode_t mode) {
  TarItem item;
  item.path = std::move(path);
  item.type = S_IFDIR;
  item.mode = mode;
  return item;
}

TarItem symlink(std::string path, std::string target) {
  TarItem item;
  item.path = std::move(path);
  item.type = S_IFLNK;
  item.mode = 0777;
  item.link = std::move(target);
  return item;
}

TarItem hardlink(std::string path, std::string target) {
  TarItem item;
  item.path = std::move(path);
  item.hardlink = std::move(target);
  return item;
}

TarItem whiteout(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return file(".wh." + path, "");
  return file(path.substr(0, slash + 1) + ".wh." + path.substr(slash + 1), "");
}

TarItem opaque(const std::string& dir_path) {
  return file(dir_path + "/.wh..wh..opq", "");
}

TarItem fifo(std::string path) {
  TarItem item;
  item.path = std::move(path);
  item.type = S_IFIFO;
  return item;
}

TarItem device(std::string path, mode_t type, unsigned major, unsigned minor) {
  TarItem item;
  item.path = std::move(path);
  item.type = type;
  item.dev_major = major;
  item.dev_minor = minor;
  return item;
}

std::string make_tar(const std::vector<TarItem>& items) {
  std::string out;
  struct archive* a = archive_write_new();
  archive_write_set_format_pax(a);
  archive_write_add_filter_none(a);
  archive_write_set_bytes_in_last_block(a, 1);
  check(a, archive_write_open(a, &out, nullptr, append_to_string, nullptr), "opening tar writer");
  for (const TarItem& item : items) write_item(a, item);
  check(a, archive_write_close(a), "closing tar writer");
  archive_write_free(a);
  return out;
}

std::string compress(const std::string& data, Compression compression) {
  if (compression == Compression::kNone) return data;
  std::string out;
  struct archive* a = archive_write_new();
  archive_write_set_format_raw(a);
  check(a, compression == Compression::kGzip ? archive_write_add_filter_gzip(a) : archive_write_add_filter_zstd(a),
        "adding filter");
  archive_write_set_bytes_in_last_block(a, 1);
  check(a, archive_write_open(a, &out, nullptr, append_to_string, nullptr), "opening compressor");
  archive_entry* entry = archive_entry_new();
  archive_entry_set_filetype(entry, AE_IFREG);
  check(a, archive_write_header(a, entry), "raw header");
  if (!data.empty() && archive_write_data(a, data.data(), data.size()) < 0) check(a, ARCHIVE_FATAL, "compressing");
  archive_entry_free(entry);
  check(a, archive_write_close(a), "closing compressor");
  archive_write_free(a);
  return out;
}

Layer layer_from_tar(const std::string& tar, Compression compression) {
  std::string blob = compress(tar, compression);
  std::string_view media_type = oci::media_type::kOciLayer;
  if (compression == Compression::kGzip) media_type = oci::media_type::kOciLayerGzip;
  if (compression == Compression::kZstd) media_type = oci::media_type::kOciLayerZstd;
  oci::Descriptor descriptor{std::string(media_type), oci::sha256_of(blob), static_cast<int64_t>(blob.size()), {}, {}};
  return Layer{std::move(blob), std::move(descriptor), oci::sha256_of(tar)};
}

Layer make_layer(const std::vector<TarItem>& items, Compression compression) {
  return layer_from_tar(make_tar(items), compression);
}

}  // namespace zoned::testing
