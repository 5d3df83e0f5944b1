#include "translate.h"

#include <charconv>
#include <limits>

#include "zoned/common/zone_annotations.h"

namespace zoned::admin {
namespace {

namespace zr = zone_runtime;

Error invalid(std::string_view field, std::string_view what) {
  return Error(ErrorCode::kInvalidArgument, std::string(field) + ": " + std::string(what));
}

template <typename Repeated>
std::vector<std::string> to_vector(const Repeated& repeated) {
  return {repeated.begin(), repeated.end()};
}

// A uid or gid: a decimal number below 2^32 - 1 (which is "no id" to the kernel).
std::optional<int64_t> parse_id(std::string_view text) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  if (value >= std::numeric_limits<uint32_t>::max()) return std::nullopt;
  return static_cast<int64_t>(value);
}

// A user name as /etc/passwd allows it: no separators, whitespace or control characters.
bool valid_user_name(std::string_view name) {
  if (name.empty() || name.size() > 32 || name[0] == '-') return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
              c == '.' || c == '$';
    if (!ok) return false;
  }
  return true;
}

Status check_env(const std::vector<std::string>& env, std::string_view field) {
  for (const auto& entry : env) {
    auto eq = entry.find('=');
    if (eq == std::string::npos || eq == 0) {
      return invalid(field, "entries must be KEY=value, got '" + entry + "'");
    }
  }
  return ok_status();
}

Result<std::vector<std::pair<std::string, std::string>>> env_pairs(const std::vector<std::string>& env,
                                                                   std::string_view field) {
  ZONED_TRY(check_env(env, field));
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& entry : env) {
    auto eq = entry.find('=');
    out.emplace_back(entry.substr(0, eq), entry.substr(eq + 1));
  }
  return out;
}

Status check_exec_args(const std::vector<std::string>& args, std::string_view field) {
  if (args.empty() || args[0].empty()) return invalid(field, "the command to run is missing");
  return ok_status();
}

}  // namespace

std::string_view domain_type_name(zr::DomainType type) {
  switch (type) {
    case zr::DomainType::kPv: return "pv";
    case zr::DomainType::kPvh: return "pvh";
  }
  return "unknown";
}

void to_proto(const zr::ZoneRecord& record, v1::Zone* out) {
  out->set_id(record.id);
  out->set_name(record.spec.name);
  out->set_state(std::string(zr::zone_state_name(record.state)));
  out->set_type(std::string(domain_type_name(record.type)));
  out->set_domid(record.domid);
  out->set_domain_name(record.domain_name);
  out->set_uuid(record.uuid);
  out->set_memory_mib(record.spec.memory_mib);
  out->set_vcpus(record.spec.vcpus);
  out->set_hostname(record.spec.hostname);
  for (const auto& image : record.spec.images) out->add_images(image);
  for (const auto& [key, value] : record.spec.labels) (*out->mutable_labels())[key] = value;
  for (const auto& disk : record.disks) {
    auto* d = out->add_disks();
    d->set_image_id(disk.image_id);
    d->set_vdev(disk.vdev);
    d->set_loop_device(disk.loop_device);
  }
  for (const auto& id : record.container_ids) out->add_container_ids(id);
  out->set_created_at_ns(record.created_at_ns);
  out->set_started_at_ns(record.started_at_ns);
  out->set_finished_at_ns(record.finished_at_ns);
  out->set_reason(record.reason);
  out->set_message(record.message);
  out->set_agent_connected(record.agent_connected);
}

void to_proto(const zr::ContainerSpec& spec, v1::ContainerSpec* out) {
  out->set_name(spec.name);
  out->set_image(spec.image);
  for (const auto& c : spec.oci.command) out->add_command(c);
  for (const auto& a : spec.oci.args) out->add_args(a);
  for (const auto& [key, value] : spec.oci.env) out->add_env(key + "=" + value);
  out->set_working_dir(spec.oci.working_dir);
  out->set_user(format_user(spec.oci));
  out->set_tty(spec.oci.tty);
  out->set_stdin(spec.oci.stdin);
  out->set_readonly_rootfs(spec.oci.readonly_rootfs);
  out->set_privileged(spec.oci.privileged);
  for (const auto& [key, value] : spec.labels) (*out->mutable_labels())[key] = value;
  out->set_log_path(spec.log_path);
}

void to_proto(const zr::ContainerRecord& record, v1::Container* out) {
  out->set_id(record.id);
  out->set_zone_id(record.zone_id);
  to_proto(record.spec, out->mutable_spec());
  out->set_image_id(record.image_id);
  out->set_state(std::string(zr::container_state_name(record.state)));
  out->set_pid(record.pid);
  out->set_exit_code(record.exit_code);
  out->set_signal(record.signal);
  out->set_created_at_ns(record.created_at_ns);
  out->set_started_at_ns(record.started_at_ns);
  out->set_finished_at_ns(record.finished_at_ns);
  out->set_reason(record.reason);
  out->set_message(record.message);
  out->set_log_path(record.log_path);
}

void to_proto(const zr::ZoneStats& stats, const std::string& zone_id, v1::ZoneStatsResponse* out) {
  out->set_zone_id(zone_id);
  out->set_timestamp_ns(stats.timestamp_ns);
  out->set_memory_total_bytes(stats.memory_total_bytes);
  out->set_memory_available_bytes(stats.memory_available_bytes);
  out->set_cpu_usage_ns(stats.cpu_usage_ns);
  for (const auto& c : stats.containers) {
    auto* s = out->add_containers();
    s->set_id(c.id);
    s->set_cpu_usage_ns(c.cpu_usage_ns);
    s->set_memory_working_set_bytes(c.memory_working_set_bytes);
  }
}

Result<zr::ZoneSpec> from_proto(const v1::ZoneSpec& spec) {
  zr::ZoneSpec out;
  out.name = spec.name();
  if (spec.type() == "pv") {
    out.type = zr::DomainType::kPv;
  } else if (spec.type() == "pvh") {
    out.type = zr::DomainType::kPvh;
  } else if (!spec.type().empty()) {
    return invalid("spec.type", "must be 'pv' or 'pvh', got '" + spec.type() + "'");
  }
  out.memory_mib = spec.memory_mib();
  out.vcpus = spec.vcpus();
  out.hostname = spec.hostname();
  out.images = to_vector(spec.images());
  for (const auto& image : out.images) {
    if (image.empty()) return invalid("spec.images", "an image reference is empty");
  }
  out.labels = {spec.labels().begin(), spec.labels().end()};
  for (const auto& [key, value] : out.labels) {
    if (key.rfind(kReservedLabelPrefix, 0) == 0) {
      return invalid("spec.labels",
                     "'" + key + "' is reserved: labels under '" + kReservedLabelPrefix + "' are set by zoned itself");
    }
  }
  return out;
}

Result<zr::ContainerSpec> from_proto(const v1::ContainerSpec& spec) {
  zr::ContainerSpec out;
  out.name = spec.name();
  out.image = spec.image();
  if (out.image.empty()) return invalid("spec.image", "the image is missing");
  out.oci.command = to_vector(spec.command());
  out.oci.args = to_vector(spec.args());
  auto env = env_pairs(to_vector(spec.env()), "spec.env");
  if (!env.ok()) return std::move(env).take_error();
  out.oci.env = std::move(*env);
  out.oci.working_dir = spec.working_dir();
  if (!out.oci.working_dir.empty() && out.oci.working_dir[0] != '/') {
    return invalid("spec.working_dir", "must be an absolute path, got '" + out.oci.working_dir + "'");
  }
  auto user = parse_user(spec.user(), out.oci);
  if (!user.ok()) return std::move(user).take_error().wrap("spec.user");
  out.oci.tty = spec.tty();
  out.oci.stdin = spec.stdin();
  out.oci.readonly_rootfs = spec.readonly_rootfs();
  out.oci.privileged = spec.privileged();
  out.labels = {spec.labels().begin(), spec.labels().end()};
  out.log_path = spec.log_path();
  if (!out.log_path.empty() && out.log_path[0] != '/') {
    return invalid("spec.log_path", "must be an absolute path, got '" + out.log_path + "'");
  }
  return out;
}

Result<zr::ExecRequest> from_proto(const v1::ExecStart& start) {
  zr::ExecRequest out;
  out.container_id = start.container();
  out.args = to_vector(start.args());
  ZONED_TRY(check_exec_args(out.args, "start.args"));
  out.env = to_vector(start.env());
  ZONED_TRY(check_env(out.env, "start.env"));
  out.cwd = start.working_dir();
  out.user = start.user();
  out.tty = start.tty();
  out.stdin = start.stdin();
  return out;
}

Result<zr::ExecRequest> from_proto(const v1::ExecSyncRequest& request) {
  zr::ExecRequest out;
  out.container_id = request.container();
  out.args = to_vector(request.args());
  ZONED_TRY(check_exec_args(out.args, "args"));
  out.env = to_vector(request.env());
  ZONED_TRY(check_env(out.env, "env"));
  out.cwd = request.working_dir();
  out.user = request.user();
  return out;
}

Status parse_user(std::string_view user, oci::ContainerSpecInput& out) {
  if (user.empty()) return ok_status();
  std::string_view name = user;
  std::string_view group;
  if (auto colon = user.find(':'); colon != std::string_view::npos) {
    name = user.substr(0, colon);
    group = user.substr(colon + 1);
    auto gid = parse_id(group);
    if (!gid) {
      return Error(ErrorCode::kInvalidArgument,
                   "the group must be a numeric gid (group names are not supported), got '" + std::string(group) + "'");
    }
    out.run_as_group = *gid;
  }
  bool numeric = !name.empty() && name.find_first_not_of("0123456789") == std::string_view::npos;
  if (auto uid = parse_id(name)) {
    out.run_as_user = *uid;
  } else if (numeric) {
    return Error(ErrorCode::kInvalidArgument, "uid " + std::string(name) + " is out of range");
  } else if (valid_user_name(name)) {
    out.run_as_username = std::string(name);
  } else {
    return Error(ErrorCode::kInvalidArgument,
                 "must be uid, uid:gid, name or name:gid, got '" + std::string(user) + "'");
  }
  return ok_status();
}

std::string format_user(const oci::ContainerSpecInput& spec) {
  std::string out;
  if (!spec.run_as_username.empty()) {
    out = spec.run_as_username;
  } else if (spec.run_as_user) {
    out = std::to_string(*spec.run_as_user);
  } else {
    return out;
  }
  if (spec.run_as_group) out += ":" + std::to_string(*spec.run_as_group);
  return out;
}

Result<std::chrono::seconds> grace_from_proto(int64_t grace_seconds, std::string_view field) {
  if (grace_seconds < 0 || grace_seconds > kMaxGraceSeconds) {
    return invalid(field, "must be between 0 and " + std::to_string(kMaxGraceSeconds) + " seconds");
  }
  return std::chrono::seconds(grace_seconds);
}

}  // namespace zoned::admin
