#include "zoned/oci/descriptor.h"

namespace zoned::oci {

Result<Compression> layer_compression(std::string_view mt) {
  using namespace media_type;
  if (mt == kOciLayer || mt == kDockerLayer) return Compression::kNone;
  if (mt == kOciLayerGzip || mt == kDockerLayerGzip || mt == kOciLayerNondistGzip) return Compression::kGzip;
  if (mt == kOciLayerZstd) return Compression::kZstd;
  return Error(ErrorCode::kUnimplemented, "unsupported layer media type '" + std::string(mt.substr(0, 200)) + "'");
}

}  // namespace zoned::oci
