#include "zoned/cri/image_service.h"

#include <nlohmann/json.hpp>

#include "zoned/cri/rpc.h"

namespace zoned::cri {

namespace v1 = runtime::v1;

namespace {

constexpr size_t kMaxImageRefBytes = 4096;

Result<std::string> image_ref(const v1::ImageSpec& spec) {
  if (spec.image().empty()) return Error(ErrorCode::kInvalidArgument, "image reference is empty");
  if (spec.image().size() > kMaxImageRefBytes) {
    return Error(ErrorCode::kInvalidArgument, "image reference is longer than 4096 bytes");
  }
  return spec.image();
}

oci::Credentials credentials(const v1::AuthConfig& auth) {
  oci::Credentials c;
  c.username = auth.username();
  c.password = auth.password();
  c.auth = auth.auth();
  c.identity_token = auth.identity_token();
  c.registry_token = auth.registry_token();
  return c;
}

// The image config's "user" is "uid[:gid]" or "name[:group]"; CRI wants the uid when numeric.
void fill_user(const std::string& user, v1::Image* out) {
  std::string name = user.substr(0, user.find(':'));
  if (name.empty()) return;
  if (name.find_first_not_of("0123456789") == std::string::npos && name.size() <= 10) {
    out->mutable_uid()->set_value(std::stoll(name));
  } else {
    out->set_username(name);
  }
}

std::string verbose_info(const image_store::ImageRecord& r) {
  const auto& c = r.config;
  nlohmann::json diff_ids = nlohmann::json::array();
  for (const auto& d : c.diff_ids) diff_ids.push_back(d.str());
  nlohmann::json j = {
      {"id", r.id},
      {"manifestDigest", r.manifest_digest},
      {"rootImage", r.root_image_path},
      {"pulledAt", r.pulled_at_unix},
      {"config",
       {{"os", c.os},
        {"architecture", c.architecture},
        {"variant", c.variant},
        {"user", c.user},
        {"env", c.env},
        {"entrypoint", c.entrypoint},
        {"cmd", c.cmd},
        {"workingDir", c.working_dir},
        {"exposedPorts", c.exposed_ports},
        {"labels", c.labels},
        {"stopSignal", c.stop_signal},
        {"diffIds", diff_ids}}},
  };
  return j.dump();
}

}  // namespace

void fill_cri_image(const image_store::ImageRecord& record, v1::Image* out) {
  out->set_id(record.id);
  for (const auto& t : record.repo_tags) out->add_repo_tags(t);
  for (const auto& d : record.repo_digests) out->add_repo_digests(d);
  out->set_size(record.size);
  fill_user(record.config.user, out);
  out->mutable_spec()->set_image(record.id);
  for (const auto& [k, v] : record.config.labels) (*out->mutable_spec()->mutable_annotations())[k] = v;
  out->set_pinned(false);
}

ImageService::ImageService(image_store::ImageStore& store) : store_(store) {}

grpc::Status ImageService::ListImages(grpc::ServerContext*, const v1::ListImagesRequest* request,
                                      v1::ListImagesResponse* response) {
  return run_rpc("ListImages", [&]() -> zoned::Status {
    const std::string& filter = request->filter().image().image();
    if (!filter.empty()) {
      auto found = store_.find(filter);
      if (found.ok())
        fill_cri_image(*found, response->add_images());
      else if (found.error().code() != ErrorCode::kNotFound && found.error().code() != ErrorCode::kInvalidArgument) {
        return std::move(found).take_error();
      }
      return ok_status();
    }
    for (const auto& record : store_.list()) fill_cri_image(record, response->add_images());
    return ok_status();
  });
}

grpc::Status ImageService::ImageStatus(grpc::ServerContext*, const v1::ImageStatusRequest* request,
                                       v1::ImageStatusResponse* response) {
  return run_rpc("ImageStatus", [&]() -> zoned::Status {
    auto ref = image_ref(request->image());
    if (!ref.ok()) return std::move(ref).take_error();
    auto found = store_.find(*ref);
    if (!found.ok()) {
      // CRI: an image that is not present is not an error; the response has no image.
      if (found.error().code() == ErrorCode::kNotFound) return ok_status();
      return std::move(found).take_error().wrap("image status of " + *ref);
    }
    fill_cri_image(*found, response->mutable_image());
    if (request->verbose()) (*response->mutable_info())["info"] = verbose_info(*found);
    return ok_status();
  });
}

grpc::Status ImageService::PullImage(grpc::ServerContext*, const v1::PullImageRequest* request,
                                     v1::PullImageResponse* response) {
  return run_rpc("PullImage", [&]() -> zoned::Status {
    auto ref = image_ref(request->image());
    if (!ref.ok()) return std::move(ref).take_error();
    auto pulled = store_.pull(*ref, credentials(request->auth()));
    if (!pulled.ok()) return std::move(pulled).take_error();
    response->set_image_ref(pulled->id);
    log::info("image pulled", {{"image", *ref}, {"id", pulled->id}, {"size", pulled->size}});
    return ok_status();
  });
}

grpc::Status ImageService::RemoveImage(grpc::ServerContext*, const v1::RemoveImageRequest* request,
                                       v1::RemoveImageResponse*) {
  return run_rpc("RemoveImage", [&]() -> zoned::Status {
    auto ref = image_ref(request->image());
    if (!ref.ok()) return std::move(ref).take_error();
    auto removed = store_.remove(*ref);
    // CRI: removing an image that does not exist succeeds (kubelet's GC may race us).
    if (!removed.ok() && removed.error().code() != ErrorCode::kNotFound) {
      return std::move(removed).take_error().wrap("removing image " + *ref);
    }
    return ok_status();
  });
}

grpc::Status ImageService::ImageFsInfo(grpc::ServerContext*, const v1::ImageFsInfoRequest*,
                                       v1::ImageFsInfoResponse* response) {
  return run_rpc("ImageFsInfo", [&]() -> zoned::Status {
    auto usage = store_.usage();
    if (!usage.ok()) return std::move(usage).take_error().wrap("image filesystem usage");
    auto* fs = response->add_image_filesystems();
    fs->set_timestamp(usage->timestamp_ns);
    fs->mutable_fs_id()->set_mountpoint(usage->mountpoint);
    fs->mutable_used_bytes()->set_value(usage->used_bytes);
    fs->mutable_inodes_used()->set_value(usage->inodes_used);
    return ok_status();
  });
}

}  // namespace zoned::cri
