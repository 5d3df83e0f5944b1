// Confined access to the directory a layer is applied to. Every path is opened one component
// at a time relative to the root's directory fd with O_NOFOLLOW, after '..' has been resolved
// lexically (and rejected if it would leave the root), so no symlink is ever followed and
// nothing outside the root can be reached. (A hand-rolled walk rather than openat2's
// RESOLVE_BENEATH: it behaves the same on every kernel, and we are the only writer of the tree.)
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "zoned/common/result.h"
#include "zoned/common/unique_fd.h"

namespace zoned::image_store {

inline constexpr size_t kMaxPathBytes = 4096;  // PATH_MAX
inline constexpr size_t kMaxNameBytes = 255;   // NAME_MAX
inline constexpr size_t kMaxPathDepth = 256;   // components; bounds fds held while removing trees

// A validated path below the root: components without '', '.', '..' or '/'.
struct EntryPath {
  std::vector<std::string> components;  // empty: the root itself

  bool is_root() const { return components.empty(); }
  const std::string& name() const { return components.back(); }
  std::string str() const;                         // "a/b/c", "" for the root
  std::string parent_str() const;                  // "a/b"
  std::string child(std::string_view name) const;  // str() + "/" + name
};

// Turns a tar member name into an EntryPath. Absolute names are made relative (as tar does);
// '.' and empty components are dropped; '..' removes the previous component and is an error
// when there is none (the name escapes the root). Overlong names and components are errors.
Result<EntryPath> sanitize_path(std::string_view raw);

class RootDir {
 public:
  static Result<RootDir> open(const std::string& path);

  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }

  // Opens the directory made of the first `depth` components of `path`. With `create`,
  // missing directories are made (mode 0755) and their paths appended to `created`. A symlink
  // or a non-directory on the way is an error naming it.
  Result<UniqueFd> open_dir(const EntryPath& path, size_t depth, bool create,
                            std::vector<std::string>* created = nullptr) const;
  Result<UniqueFd> open_parent(const EntryPath& path, bool create, std::vector<std::string>* created = nullptr) const {
    return open_dir(path, path.components.size() - 1, create, created);
  }

 private:
  RootDir(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  UniqueFd fd_;
  std::string path_;
};

}  // namespace zoned::image_store
