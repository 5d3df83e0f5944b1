// CRI ImageService. Every RPC answers UNIMPLEMENTED (the generated base class) until the image
// store lands; the service is registered so clients get a clear answer rather than no service.
#pragma once

#include "api.grpc.pb.h"

namespace zoned::cri {

class ImageService final : public runtime::v1::ImageService::Service {};

}  // namespace zoned::cri
