// Applies in-memory layers to a directory through LayerApplier, as the image store does.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <vector>

#include "layer_applier.h"
#include "layer_builder.h"
#include "zoned/common/file_ops.h"
#include "zoned/common/unique_fd.h"

namespace zoned::testing {

inline UniqueFd memory_file(const std::string& data) {
  UniqueFd fd(::memfd_create("layer", MFD_CLOEXEC));
  if (!fd.valid() || !fs::write_all(fd.get(), data.data(), data.size()).ok() || ::lseek(fd.get(), 0, SEEK_SET) != 0) {
    return UniqueFd();
  }
  return fd;
}

// Applies `layers` in order to `root` (an existing directory), checking diff_ids.
inline Status apply_layers(const std::string& root, const std::vector<Layer>& layers,
                           image_store::ApplyLimits limits = {}) {
  auto dir = image_store::RootDir::open(root);
  if (!dir.ok()) return std::move(dir).take_error();
  image_store::LayerApplier applier(*dir, limits);
  for (const Layer& layer : layers) {
    UniqueFd fd = memory_file(layer.blob);
    auto applied = applier.apply(fd.get(), layer.diff_id);
    if (!applied.ok()) return std::move(applied).take_error();
  }
  return applier.finish();
}

}  // namespace zoned::testing
