// FakeImageStore: an in-memory ImageStore for testing the CRI translation layer. Pulls of
// references listed in `available` succeed; everything else fails with `pull_error`.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "zoned/image_store/image_store.h"

namespace zoned::testing {

class FakeImageStore final : public image_store::ImageStore {
 public:
  std::map<std::string, image_store::ImageRecord> available;  // reference -> image it pulls
  std::vector<image_store::ImageRecord> images;               // what is "in the store"
  std::optional<Error> pull_error;
  std::optional<Error> remove_error;
  oci::Credentials last_credentials;
  image_store::StoreUsage usage_value;

  Result<image_store::ImageRecord> pull(std::string_view reference, const oci::Credentials& creds) override {
    last_credentials = creds;
    if (pull_error) return *pull_error;
    auto it = available.find(std::string(reference));
    if (it == available.end()) return Error(ErrorCode::kNotFound, "fake: no such image " + std::string(reference));
    images.push_back(it->second);
    return it->second;
  }
  Result<image_store::ImageRecord> find(std::string_view ref_or_id) override {
    for (const auto& image : images) {
      if (image.id == ref_or_id) return image;
      for (const auto& t : image.repo_tags) {
        if (t == ref_or_id) return image;
      }
    }
    return Error(ErrorCode::kNotFound, "fake: image " + std::string(ref_or_id) + " not found");
  }
  std::vector<image_store::ImageRecord> list() override { return images; }
  Status remove(std::string_view ref_or_id) override {
    if (remove_error) return *remove_error;
    auto found = find(ref_or_id);
    if (!found.ok()) return std::move(found).take_error();
    std::erase_if(images, [&](const auto& i) { return i.id == found->id; });
    return ok_status();
  }
  Result<image_store::StoreUsage> usage() override { return usage_value; }
  void set_in_use_check(std::function<bool(const std::string&)>) override {}
};

}  // namespace zoned::testing
