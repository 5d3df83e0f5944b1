// Manifests, indexes and image configs (OCI and Docker v2 schema 2), parsed defensively.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "zoned/common/result.h"
#include "zoned/oci/descriptor.h"

namespace zoned::oci {

struct Manifest {
  std::string media_type;
  Descriptor config;
  std::vector<Descriptor> layers;
};

struct Index {
  std::string media_type;
  std::vector<Descriptor> manifests;
};

// The parts of an image config the runtime uses.
struct ImageConfig {
  std::string os;
  std::string architecture;
  std::string variant;
  std::string user;
  std::vector<std::string> env;
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::string working_dir;
  std::vector<std::string> exposed_ports;  // "80/tcp"
  std::map<std::string, std::string> labels;
  std::string stop_signal;
  std::vector<Digest> diff_ids;  // uncompressed layer digests, in order
};

// `media_type` is the Content-Type the registry sent (or the descriptor's); the document's own
// mediaType field is used when present and must agree.
Result<Manifest> parse_manifest(std::string_view json, std::string_view media_type);
Result<Index> parse_index(std::string_view json, std::string_view media_type);
Result<ImageConfig> parse_image_config(std::string_view json);

bool is_index_media_type(std::string_view media_type);
bool is_manifest_media_type(std::string_view media_type);

// The platform this host runs zones for (linux/amd64).
Platform host_platform();
// Picks the best manifest for `want` from an index (exact variant first, then no variant);
// NotFound naming the platforms that were available.
Result<Descriptor> select_platform(const Index& index, const Platform& want);

}  // namespace zoned::oci
