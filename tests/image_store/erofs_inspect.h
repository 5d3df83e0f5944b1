// Looks inside an EROFS image without mounting it: fsck.erofs (integrity, extraction) and
// dump.erofs (inode details). erofs-utils 1.5 prints and extracts only the low 9 permission
// bits, so the full mode (setuid, setgid, sticky) is read from the on-disk inode, located by
// the NID dump.erofs reports: i_format (u16), i_xattr_icount (u16), i_mode (u16), little-endian.
#pragma once

#include <cstdint>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>

#include "zoned/common/process.h"

namespace zoned::testing {

// Runs a program; returns its output, or nothing if it failed.
inline std::optional<std::string> output_of(std::vector<std::string> argv) {
  auto outcome = process::run({std::move(argv), std::chrono::seconds(60)});
  if (!outcome.ok() || !outcome->success()) return std::nullopt;
  return outcome->output;
}

inline bool erofs_fsck(const std::string& image) {
  return output_of({"fsck.erofs", image}).has_value();
}

// Extracts the image into `dir` (which must not exist), keeping owners and permissions.
inline bool erofs_extract(const std::string& image, const std::string& dir) {
  return output_of({"fsck.erofs", "--extract=" + dir, "--preserve", image}).has_value();
}

// The value after "<key>:" in dump.erofs output ("Uid: 1000   Gid: 1001 ...").
inline std::optional<std::string> dump_field(const std::string& dump, const std::string& key) {
  auto pos = dump.find(key + ":");
  if (pos == std::string::npos) return std::nullopt;
  std::istringstream in(dump.substr(pos + key.size() + 1));
  std::string value;
  in >> value;
  return value;
}

inline std::optional<std::string> erofs_dump(const std::string& image, const std::string& path) {
  return output_of({"dump.erofs", "--path=" + path, image});
}

inline std::optional<uint16_t> erofs_raw_mode(const std::string& image, const std::string& path) {
  auto dump = erofs_dump(image, path);
  auto super = output_of({"dump.erofs", "-s", image});
  if (!dump || !super) return std::nullopt;
  auto nid = dump_field(*dump, "NID");
  auto meta = dump_field(*super, "Filesystem inode metadata start block");
  if (!nid || !meta) return std::nullopt;
  std::ifstream in(image, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(std::stoull(*meta) * 4096 + std::stoull(*nid) * 32 + 4));
  unsigned char bytes[2] = {0, 0};
  if (!in.read(reinterpret_cast<char*>(bytes), 2)) return std::nullopt;
  return static_cast<uint16_t>(bytes[0] | (bytes[1] << 8));
}

}  // namespace zoned::testing
