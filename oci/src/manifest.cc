// Manifest and index parsing (OCI image spec v1 and Docker distribution v2 schema 2).
#include "zoned/oci/manifest.h"

#include <optional>

#include "json_fields.h"
#include "media_types.h"

namespace zoned::oci {
namespace {

using json_fields::Json;

constexpr size_t kMaxLayers = 1000;
constexpr size_t kMaxIndexEntries = 1000;

Result<Platform> parse_platform(const Json& obj, const std::string& path) {
  Platform p;
  auto os = json_fields::required_string(obj, "os", path);
  if (!os.ok()) return std::move(os).take_error();
  auto arch = json_fields::required_string(obj, "architecture", path);
  if (!arch.ok()) return std::move(arch).take_error();
  auto variant = json_fields::optional_string(obj, "variant", path);
  if (!variant.ok()) return std::move(variant).take_error();
  auto os_version = json_fields::optional_string(obj, "os.version", path);
  if (!os_version.ok()) return std::move(os_version).take_error();
  p.os = std::move(*os);
  p.architecture = std::move(*arch);
  p.variant = std::move(*variant);
  p.os_version = std::move(*os_version);
  return p;
}

Result<Digest> parse_digest_field(const Json& obj, const std::string& path) {
  auto text = json_fields::required_string(obj, "digest", path);
  if (!text.ok()) return std::move(text).take_error();
  auto digest = Digest::parse(*text);
  if (!digest.ok()) return std::move(digest).take_error().wrap("field '" + json_fields::child(path, "digest") + "'");
  return digest;
}

Result<std::optional<Platform>> parse_optional_platform(const Json& obj, const std::string& path) {
  auto platform = json_fields::optional_object(obj, "platform", path);
  if (!platform.ok()) return std::move(platform).take_error();
  if (*platform == nullptr) return std::optional<Platform>();
  auto p = parse_platform(**platform, json_fields::child(path, "platform"));
  if (!p.ok()) return std::move(p).take_error();
  return std::optional<Platform>(std::move(*p));
}

Result<Descriptor> parse_descriptor(const Json& obj, const std::string& path) {
  if (!obj.is_object()) return json_fields::wrong_type(path, "an object", obj);
  auto mt = json_fields::required_string(obj, "mediaType", path);
  if (!mt.ok()) return std::move(mt).take_error();
  auto digest = parse_digest_field(obj, path);
  if (!digest.ok()) return std::move(digest).take_error();
  auto size = json_fields::required_non_negative(obj, "size", path);
  if (!size.ok()) return std::move(size).take_error();
  auto annotations = json_fields::optional_string_map(obj, "annotations", path);
  if (!annotations.ok()) return std::move(annotations).take_error();
  auto platform = parse_optional_platform(obj, path);
  if (!platform.ok()) return std::move(platform).take_error();
  return Descriptor{std::move(*mt), std::move(*digest), *size, std::move(*platform), std::move(*annotations)};
}

Result<std::vector<Descriptor>> parse_descriptor_array(const Json& doc, std::string_view key, size_t limit) {
  auto array = json_fields::required_array(doc, key, "");
  if (!array.ok()) return std::move(array).take_error();
  const Json& items = **array;
  if (items.size() > limit) {
    return Error(ErrorCode::kInvalidArgument, "too many entries in '" + std::string(key) +
                                                  "': " + std::to_string(items.size()) + " (limit " +
                                                  std::to_string(limit) + ")");
  }
  std::vector<Descriptor> out;
  out.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    auto d = parse_descriptor(items[i], json_fields::element(key, i));
    if (!d.ok()) return std::move(d).take_error();
    out.push_back(std::move(*d));
  }
  return out;
}

Result<Manifest> manifest_from(const Json& doc, std::string_view media_type) {
  auto mt = media_types::resolve(doc, media_type, media_type::kOciManifest);
  if (!mt.ok()) return std::move(mt).take_error();
  if (is_index_media_type(*mt))
    return Error(ErrorCode::kInvalidArgument, "document is an index ('" + *mt + "'), not a manifest");
  if (!is_manifest_media_type(*mt))
    return Error(ErrorCode::kInvalidArgument, "unsupported manifest media type '" + mt->substr(0, 200) + "'");
  auto config = json_fields::required_object(doc, "config", "");
  if (!config.ok()) return std::move(config).take_error();
  auto config_desc = parse_descriptor(**config, "config");
  if (!config_desc.ok()) return std::move(config_desc).take_error();
  auto layers = parse_descriptor_array(doc, "layers", kMaxLayers);
  if (!layers.ok()) return std::move(layers).take_error();
  return Manifest{std::move(*mt), std::move(*config_desc), std::move(*layers)};
}

Result<Index> index_from(const Json& doc, std::string_view media_type) {
  auto mt = media_types::resolve(doc, media_type, media_type::kOciIndex);
  if (!mt.ok()) return std::move(mt).take_error();
  if (is_manifest_media_type(*mt))
    return Error(ErrorCode::kInvalidArgument, "document is a manifest ('" + *mt + "'), not an index");
  if (!is_index_media_type(*mt))
    return Error(ErrorCode::kInvalidArgument, "unsupported index media type '" + mt->substr(0, 200) + "'");
  auto manifests = parse_descriptor_array(doc, "manifests", kMaxIndexEntries);
  if (!manifests.ok()) return std::move(manifests).take_error();
  return Index{std::move(*mt), std::move(*manifests)};
}

}  // namespace

bool is_index_media_type(std::string_view mt) {
  return mt == media_type::kOciIndex || mt == media_type::kDockerManifestList;
}

bool is_manifest_media_type(std::string_view mt) {
  return mt == media_type::kOciManifest || mt == media_type::kDockerManifest;
}

Result<Manifest> parse_manifest(std::string_view json, std::string_view media_type) {
  auto doc = json_fields::parse_document(json, "manifest");
  if (!doc.ok()) return std::move(doc).take_error();
  auto m = manifest_from(*doc, media_type);
  if (!m.ok()) return std::move(m).take_error().wrap("manifest");
  return m;
}

Result<Index> parse_index(std::string_view json, std::string_view media_type) {
  auto doc = json_fields::parse_document(json, "index");
  if (!doc.ok()) return std::move(doc).take_error();
  auto index = index_from(*doc, media_type);
  if (!index.ok()) return std::move(index).take_error().wrap("index");
  return index;
}

Result<std::string> detect_manifest_media_type(std::string_view json, std::string_view content_type) {
  if (media_types::is_docker_schema1(media_types::bare(content_type))) return media_types::schema1_error();
  auto doc = json_fields::parse_document(json, "manifest");
  if (!doc.ok()) return std::move(doc).take_error();
  bool looks_like_index = doc->is_object() && doc->contains("manifests") && !doc->contains("layers");
  auto mt =
      media_types::resolve(*doc, content_type, looks_like_index ? media_type::kOciIndex : media_type::kOciManifest);
  if (!mt.ok()) return std::move(mt).take_error().wrap("manifest");
  if (!is_index_media_type(*mt) && !is_manifest_media_type(*mt)) {
    return Error(ErrorCode::kInvalidArgument, "unsupported manifest media type '" + mt->substr(0, 200) + "'");
  }
  return mt;
}

}  // namespace zoned::oci
