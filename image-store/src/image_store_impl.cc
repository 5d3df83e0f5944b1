#include "image_store_impl.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include "disk_usage.h"
#include "tar_entry.h"
#include "zoned/common/file_ops.h"
#include "zoned/common/fs.h"
#include "zoned/common/log.h"

namespace zoned::image_store {
namespace {

bool is_hex(std::string_view text) {
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return !text.empty();
}

constexpr size_t kMinIdPrefix = 12;

}  // namespace

Result<std::unique_ptr<ImageStore>> ImageStore::open(const StoreOptions& options, oci::RegistryClient& registry) {
  if (options.data_dir.empty() || options.state_dir.empty()) {
    return Error(ErrorCode::kInvalidArgument, "image store: data_dir and state_dir are required");
  }
  ZONED_TRY(fs::make_dirs(options.data_dir + "/roots", 0700));
  ZONED_TRY(fs::make_dirs(options.state_dir, 0700));
  auto content = ContentStore::open(options.data_dir);
  if (!content.ok()) return std::move(content).take_error().wrap("opening image store");
  auto db = ImageDb::open(options.state_dir + "/images.db");
  if (!db.ok()) return std::move(db).take_error().wrap("opening image store");
  auto store = std::make_unique<ImageStoreImpl>(options, registry, std::move(*content), std::move(*db));
  if (auto recovered = store->recover(); !recovered.ok()) {
    return std::move(recovered).take_error().wrap("recovering image store");
  }
  return std::unique_ptr<ImageStore>(std::move(store));
}

ImageStoreImpl::ImageStoreImpl(const StoreOptions& options, oci::RegistryClient& registry,
                               std::unique_ptr<ContentStore> content, std::unique_ptr<ImageDb> db)
    : options_(options), registry_(registry), content_(std::move(content)), db_(std::move(db)) {
  erofs_.mkfs_erofs = options.mkfs_erofs;
}

std::string ImageStoreImpl::root_path(const std::string& image_id) const {
  return "roots/" + image_id.substr(image_id.find(':') + 1) + ".erofs";
}

// --- recovery: everything not committed to the database is an interrupted pull's leftover.

Status ImageStoreImpl::recover() {
  std::lock_guard lock(mu_);
  ZONED_TRY(remove_tmp_leftovers());
  ZONED_TRY(forget_images_without_roots());
  ZONED_TRY(remove_stray_roots());
  return remove_unused_blobs();
}

Status ImageStoreImpl::remove_tmp_leftovers() {
  std::string tmp = options_.data_dir + "/tmp";
  UniqueFd fd(::open(tmp.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return sys_error("opening " + tmp);
  auto names = fs::list_dir(fd.get());
  if (!names.ok()) return std::move(names).take_error().wrap(tmp);
  for (const std::string& name : *names) {
    log::info("removing leftover of an interrupted pull", {{"path", tmp + "/" + printable(name)}});
    ZONED_TRY(fs::remove_tree_at(fd.get(), name));
  }
  return ok_status();
}

Status ImageStoreImpl::forget_images_without_roots() {
  auto images = db_->list();
  if (!images.ok()) return std::move(images).take_error();
  for (const StoredImage& image : *images) {
    std::string path = options_.data_dir + "/" + image.root_image;
    if (::access(path.c_str(), F_OK) == 0) continue;
    log::warn("image root file is missing; forgetting the image", {{"image", image.id}, {"path", path}});
    auto removed = db_->remove_image(image.id);
    if (!removed.ok()) return std::move(removed).take_error();
  }
  return ok_status();
}

Status ImageStoreImpl::remove_stray_roots() {
  auto known = db_->root_images();
  if (!known.ok()) return std::move(known).take_error();
  std::string roots = options_.data_dir + "/roots";
  UniqueFd fd(::open(roots.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return sys_error("opening " + roots);
  auto names = fs::list_dir(fd.get());
  if (!names.ok()) return std::move(names).take_error().wrap(roots);
  for (const std::string& name : *names) {
    if (known->contains("roots/" + name)) continue;
    log::info("removing root image no image refers to", {{"path", roots + "/" + printable(name)}});
    ZONED_TRY(fs::remove_tree_at(fd.get(), name));
  }
  return ok_status();
}

Status ImageStoreImpl::remove_unused_blobs() {
  auto used = db_->used_blobs();
  if (!used.ok()) return std::move(used).take_error();
  auto present = content_->list();
  if (!present.ok()) return std::move(present).take_error();
  for (const std::string& digest : *present) {
    if (used->contains(digest)) continue;
    log::info("removing blob no image refers to", {{"digest", digest}});
    auto removed = content_->remove(digest);
    if (!removed.ok()) return std::move(removed).take_error();
  }
  return ok_status();
}

// --- lookups

ImageRecord ImageStoreImpl::to_record(const StoredImage& stored) const {
  ImageRecord record;
  record.id = stored.id;
  for (const StoredRef& ref : stored.refs) {
    (ref.kind == RefKind::kTag ? record.repo_tags : record.repo_digests).push_back(ref.ref);
  }
  record.manifest_digest = stored.manifest_digest;
  record.size = static_cast<uint64_t>(stored.size);
  if (auto config = oci::parse_image_config(stored.config_json); config.ok()) {
    record.config = std::move(*config);
  } else {
    log::error("stored image config does not parse", {{"image", stored.id}, {"error", config.error().describe()}});
  }
  record.root_image_path = options_.data_dir + "/" + stored.root_image;
  record.pulled_at_unix = stored.pulled_at_unix;
  return record;
}

Result<ImageRecord> ImageStoreImpl::record(const std::string& id) {
  auto stored = db_->get(id);
  if (!stored.ok()) return std::move(stored).take_error();
  if (!stored->has_value()) return Error(ErrorCode::kNotFound, "image " + id + " not found");
  return to_record(**stored);
}

Result<std::string> ImageStoreImpl::resolve_id(std::string_view text) {
  std::string_view hex = text.starts_with("sha256:") ? text.substr(7) : text;
  if (hex.size() == 64 && is_hex(hex)) return "sha256:" + std::string(hex);
  if (auto ref = oci::Reference::parse(text); ref.ok()) {
    std::string key = ref->digest ? ref->digest_ref(*ref->digest) : ref->tag_ref();
    auto id = db_->lookup_ref(key);
    if (!id.ok()) return std::move(id).take_error();
    if (id->has_value()) return **id;
  }
  if (hex.size() >= kMinIdPrefix && is_hex(hex)) {
    auto ids = db_->ids_with_prefix(std::string(hex));
    if (!ids.ok()) return std::move(ids).take_error();
    if (ids->size() == 1) return ids->front();
    if (ids->size() > 1) {
      return Error(ErrorCode::kInvalidArgument, "image id prefix '" + std::string(hex) + "' is ambiguous");
    }
  }
  return Error(ErrorCode::kNotFound, "image '" + printable(text) + "' not found");
}

Result<ImageRecord> ImageStoreImpl::find(std::string_view ref_or_id) {
  auto id = resolve_id(ref_or_id);
  if (!id.ok()) return std::move(id).take_error();
  auto found = record(*id);
  if (!found.ok() && found.error().code() == ErrorCode::kNotFound) {
    return Error(ErrorCode::kNotFound, "image '" + printable(ref_or_id) + "' not found");
  }
  return found;
}

std::vector<ImageRecord> ImageStoreImpl::list() {
  std::vector<ImageRecord> records;
  auto images = db_->list();
  if (!images.ok()) {
    log::error("listing images", {{"error", images.error().describe()}});
    return records;
  }
  for (const StoredImage& image : *images) records.push_back(to_record(image));
  return records;
}

// --- removal and garbage collection

void ImageStoreImpl::set_in_use_check(std::function<bool(const std::string& image_id)> in_use) {
  std::lock_guard lock(in_use_mu_);
  in_use_ = std::move(in_use);
}

bool ImageStoreImpl::in_use(const std::string& id) {
  std::lock_guard lock(in_use_mu_);
  return in_use_ && in_use_(id);
}

Status ImageStoreImpl::delete_image_locked(const std::string& id) {
  auto unused_blobs = db_->remove_image(id);
  if (!unused_blobs.ok()) return std::move(unused_blobs).take_error();
  // The database no longer knows the image; files left by a crash here are removed on open.
  std::string root = options_.data_dir + "/" + root_path(id);
  if (::unlink(root.c_str()) != 0 && errno != ENOENT) return sys_error("removing " + root);
  for (const std::string& digest : *unused_blobs) {
    auto removed = content_->remove(digest);  // kept while a running pull holds a lease
    if (!removed.ok()) return std::move(removed).take_error();
  }
  log::info("image removed", {{"image", id}});
  return ok_status();
}

void ImageStoreImpl::collect_unreferenced_locked() {
  auto ids = db_->unreferenced_images();
  if (!ids.ok()) {
    log::error("finding unreferenced images", {{"error", ids.error().describe()}});
    return;
  }
  for (const std::string& id : *ids) {
    if (in_use(id)) continue;  // collected by a later pull or removal once no zone uses it
    if (auto deleted = delete_image_locked(id); !deleted.ok()) {
      log::error("removing unreferenced image", {{"image", id}, {"error", deleted.error().describe()}});
    }
  }
}

Status ImageStoreImpl::remove(std::string_view ref_or_id) {
  auto id = resolve_id(ref_or_id);
  if (!id.ok()) return std::move(id).take_error().wrap("removing image");
  std::lock_guard lock(mu_);
  if (in_use(*id)) {
    return Error(ErrorCode::kFailedPrecondition, "removing image " + *id + ": it is in use by a zone");
  }
  if (auto deleted = delete_image_locked(*id); !deleted.ok()) {
    return std::move(deleted).take_error().wrap("removing image " + *id);
  }
  collect_unreferenced_locked();
  return ok_status();
}

Result<StoreUsage> ImageStoreImpl::usage() {
  auto tree = tree_usage(options_.data_dir);
  if (!tree.ok()) return std::move(tree).take_error().wrap("image store usage");
  auto mount = mount_point_of(options_.data_dir);
  if (!mount.ok()) return std::move(mount).take_error().wrap("image store usage");
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  StoreUsage usage;
  usage.mountpoint = *mount;
  usage.used_bytes = tree->bytes;
  usage.inodes_used = tree->inodes;
  usage.timestamp_ns = now.tv_sec * 1'000'000'000 + now.tv_nsec;
  return usage;
}

}  // namespace zoned::image_store
