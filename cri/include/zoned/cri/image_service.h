// CRI ImageService: translates CRI image requests into ImageStore calls.
#pragma once

#include "api.grpc.pb.h"
#include "zoned/image_store/image_store.h"

namespace zoned::cri {

class ImageService final : public runtime::v1::ImageService::Service {
 public:
  explicit ImageService(image_store::ImageStore& store);

  grpc::Status ListImages(grpc::ServerContext* context, const runtime::v1::ListImagesRequest* request,
                          runtime::v1::ListImagesResponse* response) override;
  grpc::Status ImageStatus(grpc::ServerContext* context, const runtime::v1::ImageStatusRequest* request,
                           runtime::v1::ImageStatusResponse* response) override;
  grpc::Status PullImage(grpc::ServerContext* context, const runtime::v1::PullImageRequest* request,
                         runtime::v1::PullImageResponse* response) override;
  grpc::Status RemoveImage(grpc::ServerContext* context, const runtime::v1::RemoveImageRequest* request,
                           runtime::v1::RemoveImageResponse* response) override;
  grpc::Status ImageFsInfo(grpc::ServerContext* context, const runtime::v1::ImageFsInfoRequest* request,
                           runtime::v1::ImageFsInfoResponse* response) override;

 private:
  image_store::ImageStore& store_;
};

// Fills a CRI Image from a record (exposed for tests).
void fill_cri_image(const image_store::ImageRecord& record, runtime::v1::Image* out);

}  // namespace zoned::cri
