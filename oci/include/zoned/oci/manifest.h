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
// mediaType field is used when present and must agree (a generic Content-Type such as
// application/json or an empty one defers to the document). Errors are InvalidArgument naming
// the field ("manifest: field 'layers[2].size' must be a non-negative integer, not string");
// schemaVersion must be 2; Docker schema 1 is Unimplemented. At most 1000 layers / entries.
Result<Manifest> parse_manifest(std::string_view json, std::string_view media_type);
Result<Index> parse_index(std::string_view json, std::string_view media_type);
// Unknown fields are ignored; null arrays and objects (as Docker writes them) are empty.
// rootfs.type must be "layers".
Result<ImageConfig> parse_image_config(std::string_view json);

// The media type of a fetched manifest document, for deciding between parse_index and
// parse_manifest: the Content-Type when it is specific, else the document's mediaType, else
// inferred (a "manifests" array means an OCI index, otherwise an OCI manifest).
// Docker schema 1 is Unimplemented; other unknown types are InvalidArgument.
Result<std::string> detect_manifest_media_type(std::string_view json, std::string_view content_type);

bool is_index_media_type(std::string_view media_type);
bool is_manifest_media_type(std::string_view media_type);

// The platform this host runs zones for (linux/amd64; linux/arm64/v8 on arm64 builds).
Platform host_platform();
// Picks the best manifest for `want` from an index (exact variant first, then no variant, then
// older ARM variants; an entry without a platform only as a last resort). Architecture names
// and variants are normalised as containerd does (x86_64 = amd64, arm64 = arm64/v8).
// Attestation manifests (annotation vnd.docker.reference.type, or platform unknown/unknown) and
// nested indexes are skipped. NotFound names the platforms that were available.
Result<Descriptor> select_platform(const Index& index, const Platform& want);

}  // namespace zoned::oci
