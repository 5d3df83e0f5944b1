// Image config parsing: the runtime-relevant parts of the OCI / Docker image config JSON.
#include "json_fields.h"
#include "zoned/oci/manifest.h"

namespace zoned::oci {
namespace {

using json_fields::Json;

constexpr size_t kMaxDiffIds = 1000;

template <typename T>
Status assign(T& out, Result<T> r) {
  if (!r.ok()) return std::move(r).take_error();
  out = std::move(*r);
  return ok_status();
}

Status read_exposed_ports(const Json& cfg, ImageConfig& out) {
  auto ports = json_fields::optional_object(cfg, "ExposedPorts", "config");
  if (!ports.ok()) return std::move(ports).take_error();
  if (*ports == nullptr) return ok_status();
  for (const auto& item : (*ports)->items()) out.exposed_ports.push_back(item.key());
  return ok_status();
}

Status read_runtime_config(const Json& doc, ImageConfig& out) {
  auto cfg_ptr = json_fields::optional_object(doc, "config", "");
  if (!cfg_ptr.ok()) return std::move(cfg_ptr).take_error();
  if (*cfg_ptr == nullptr) return ok_status();
  const Json& cfg = **cfg_ptr;
  ZONED_TRY(assign(out.user, json_fields::optional_string(cfg, "User", "config")));
  ZONED_TRY(assign(out.env, json_fields::optional_string_array(cfg, "Env", "config")));
  ZONED_TRY(assign(out.entrypoint, json_fields::optional_string_array(cfg, "Entrypoint", "config")));
  ZONED_TRY(assign(out.cmd, json_fields::optional_string_array(cfg, "Cmd", "config")));
  ZONED_TRY(assign(out.working_dir, json_fields::optional_string(cfg, "WorkingDir", "config")));
  ZONED_TRY(assign(out.labels, json_fields::optional_string_map(cfg, "Labels", "config")));
  ZONED_TRY(assign(out.stop_signal, json_fields::optional_string(cfg, "StopSignal", "config")));
  return read_exposed_ports(cfg, out);
}

Status read_rootfs(const Json& doc, ImageConfig& out) {
  auto rootfs = json_fields::required_object(doc, "rootfs", "");
  if (!rootfs.ok()) return std::move(rootfs).take_error();
  auto type = json_fields::required_string(**rootfs, "type", "rootfs");
  if (!type.ok()) return std::move(type).take_error();
  if (*type != "layers") {
    return Error(ErrorCode::kInvalidArgument,
                 "field 'rootfs.type' must be \"layers\", not \"" + type->substr(0, 100) + "\"");
  }
  auto ids = json_fields::optional_string_array(**rootfs, "diff_ids", "rootfs");
  if (!ids.ok()) return std::move(ids).take_error();
  if (ids->size() > kMaxDiffIds) return Error(ErrorCode::kInvalidArgument, "too many entries in 'rootfs.diff_ids'");
  for (size_t i = 0; i < ids->size(); ++i) {
    auto d = Digest::parse((*ids)[i]);
    if (!d.ok()) return std::move(d).take_error().wrap("field '" + json_fields::element("rootfs.diff_ids", i) + "'");
    out.diff_ids.push_back(std::move(*d));
  }
  return ok_status();
}

Status read_image_config(const Json& doc, ImageConfig& out) {
  if (!doc.is_object()) return json_fields::wrong_type("(document)", "an object", doc);
  ZONED_TRY(assign(out.os, json_fields::optional_string(doc, "os", "")));
  ZONED_TRY(assign(out.architecture, json_fields::optional_string(doc, "architecture", "")));
  ZONED_TRY(assign(out.variant, json_fields::optional_string(doc, "variant", "")));
  ZONED_TRY(read_runtime_config(doc, out));
  return read_rootfs(doc, out);
}

}  // namespace

Result<ImageConfig> parse_image_config(std::string_view json) {
  auto doc = json_fields::parse_document(json, "image config");
  if (!doc.ok()) return std::move(doc).take_error();
  ImageConfig config;
  Status s = read_image_config(*doc, config);
  if (!s.ok()) return std::move(s).take_error().wrap("image config");
  return config;
}

}  // namespace zoned::oci
