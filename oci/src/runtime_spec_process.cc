// The process section of config.json: args, env, cwd, user and rlimits, as containerd's CRI
// plugin derives them from the image config and the CRI container config.
#include <algorithm>
#include <limits>
#include <map>
#include <optional>

#include "runtime_spec_internal.h"

namespace zoned::oci::spec_internal {
namespace {

constexpr std::string_view kDefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
constexpr size_t kMaxNameLength = 256;
// (uid_t)-1 means "unchanged" to the kernel's set*id calls, so it is never a valid id.
constexpr int64_t kMaxId = std::numeric_limits<uint32_t>::max() - 1;

// Environment entries in order; a later entry with the same name replaces the earlier one in
// place, an entry without '=' (from an image) removes it.
class EnvList {
 public:
  void set(std::string entry) {
    size_t eq = entry.find('=');
    std::string name = entry.substr(0, eq);
    auto it = index_.find(name);
    if (eq == std::string::npos) {
      if (it != index_.end()) entries_[it->second].reset();
      return;
    }
    if (it != index_.end() && entries_[it->second].has_value()) {
      entries_[it->second] = std::move(entry);
      return;
    }
    index_[name] = entries_.size();
    entries_.emplace_back(std::move(entry));
  }
  std::vector<std::string> take() && {
    std::vector<std::string> out;
    for (auto& e : entries_) {
      if (e.has_value()) out.push_back(std::move(*e));
    }
    return out;
  }

 private:
  std::vector<std::optional<std::string>> entries_;
  std::map<std::string, size_t, std::less<>> index_;
};

bool is_decimal(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

Result<uint32_t> parse_id(std::string_view s, std::string_view field) {
  if (s.size() > 10) return invalid(field, quote_value(s) + " is out of range");
  int64_t v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  if (v > kMaxId) return invalid(field, quote_value(s) + " is out of range");
  return static_cast<uint32_t>(v);
}

Result<uint32_t> check_id(int64_t v, std::string_view field) {
  if (v < 0 || v > kMaxId)
    return invalid(field, std::to_string(v) + " is out of range (0.." + std::to_string(kMaxId) + ")");
  return static_cast<uint32_t>(v);
}

// User and group names as passwd(5) and group(5) can hold them: printable, no ':' or '/'.
Status check_name(std::string_view name, std::string_view field) {
  if (name.empty()) return invalid(field, "empty name");
  if (name.size() > kMaxNameLength) return invalid(field, "name longer than 256 bytes");
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == ':' || c == '/') return invalid(field, "invalid name " + quote_value(name));
  }
  return ok_status();
}

// One part of "user[:group]": a number or a name.
struct IdOrName {
  std::optional<uint32_t> id;
  std::string name;
};

Result<IdOrName> parse_id_or_name(std::string_view part, std::string_view field) {
  IdOrName out;
  if (is_decimal(part)) {
    auto id = parse_id(part, field);
    if (!id.ok()) return std::move(id).take_error();
    out.id = *id;
    return out;
  }
  ZONED_TRY(check_name(part, field));
  out.name = std::string(part);
  return out;
}

// The user string containerd builds from the CRI security context (generateUserString).
struct UserSpec {
  IdOrName user;
  std::optional<IdOrName> group;
};

Result<std::optional<UserSpec>> user_from_cri(const ContainerSpecInput& input) {
  bool has_user = input.run_as_user.has_value() || !input.run_as_username.empty();
  if (input.run_as_group.has_value() && !has_user) {
    return invalid("run_as_group", "set without run_as_user or run_as_username");
  }
  if (!has_user) return std::optional<UserSpec>();
  UserSpec spec;
  if (!input.run_as_username.empty()) {
    ZONED_TRY(check_name(input.run_as_username, "run_as_username"));
    spec.user.name = input.run_as_username;
  } else {
    auto uid = check_id(*input.run_as_user, "run_as_user");
    if (!uid.ok()) return std::move(uid).take_error();
    spec.user.id = *uid;
  }
  if (input.run_as_group.has_value()) {
    auto gid = check_id(*input.run_as_group, "run_as_group");
    if (!gid.ok()) return std::move(gid).take_error();
    spec.group = IdOrName{*gid, ""};
  }
  return std::optional<UserSpec>(std::move(spec));
}

// The image's "uid", "uid:gid", "name", "name:group", "uid:group" or "name:gid".
Result<std::optional<UserSpec>> user_from_image(const std::string& user) {
  if (user.empty()) return std::optional<UserSpec>();
  constexpr std::string_view kField = "image config User";
  size_t colon = user.find(':');
  if (colon != std::string::npos && user.find(':', colon + 1) != std::string::npos) {
    return invalid(kField, quote_value(user) + " has more than one ':'");
  }
  UserSpec spec;
  auto u = parse_id_or_name(std::string_view(user).substr(0, colon), kField);
  if (!u.ok()) return std::move(u).take_error();
  spec.user = std::move(*u);
  if (colon != std::string::npos) {
    auto g = parse_id_or_name(std::string_view(user).substr(colon + 1), kField);
    if (!g.ok()) return std::move(g).take_error();
    spec.group = std::move(*g);
  }
  return std::optional<UserSpec>(std::move(spec));
}

Status check_env_name(std::string_view name, std::string_view field) {
  if (name.empty()) return invalid(field, "empty variable name");
  if (name.find('=') != std::string_view::npos)
    return invalid(field, "variable name " + quote_value(name) + " contains '='");
  if (has_nul(name)) return invalid(field, "variable name contains a NUL byte");
  return ok_status();
}

}  // namespace

Result<std::vector<std::string>> resolve_args(const ImageConfig& image, const ContainerSpecInput& input) {
  std::vector<std::string> command = input.command;
  std::vector<std::string> args = input.args;
  if (command.empty()) {
    if (args.empty()) args = image.cmd;
    bool empty_entrypoint = image.entrypoint.size() == 1 && image.entrypoint[0].empty();
    if (!empty_entrypoint) command = image.entrypoint;
  }
  if (command.empty() && args.empty()) return Error(ErrorCode::kInvalidArgument, "no command specified");
  command.insert(command.end(), args.begin(), args.end());
  if (command[0].empty()) return invalid("command", "the program (first argument) is empty");
  for (size_t i = 0; i < command.size(); ++i) {
    if (has_nul(command[i])) return invalid("command", "argument " + std::to_string(i) + " contains a NUL byte");
  }
  return command;
}

Result<std::vector<std::string>> resolve_env(const ImageConfig& image, const ContainerSpecInput& input) {
  EnvList env;
  env.set(std::string(kDefaultPath));
  if (input.tty) env.set("TERM=xterm");
  if (!input.hostname.empty()) env.set("HOSTNAME=" + input.hostname);
  for (size_t i = 0; i < image.env.size(); ++i) {
    const std::string& e = image.env[i];
    std::string field = "image config Env[" + std::to_string(i) + "]";
    ZONED_TRY(check_env_name(std::string_view(e).substr(0, e.find('=')), field));
    if (has_nul(e)) return invalid(field, "contains a NUL byte");
    env.set(e);
  }
  for (const auto& [name, value] : input.env) {
    ZONED_TRY(check_env_name(name, "env"));
    if (has_nul(value)) return invalid("env", "the value of " + quote_value(name) + " contains a NUL byte");
    env.set(name + "=" + value);
  }
  return std::move(env).take();
}

Result<std::string> resolve_cwd(const ImageConfig& image, const ContainerSpecInput& input) {
  if (!input.working_dir.empty()) {
    ZONED_TRY(check_absolute_path(input.working_dir, "working_dir"));
    return input.working_dir;
  }
  if (!image.working_dir.empty()) {
    ZONED_TRY(check_absolute_path(image.working_dir, "image config WorkingDir"));
    return image.working_dir;
  }
  return std::string("/");
}

Result<ResolvedUser> resolve_user(const ImageConfig& image, const ContainerSpecInput& input) {
  auto cri = user_from_cri(input);
  if (!cri.ok()) return std::move(cri).take_error();
  std::optional<UserSpec> spec = std::move(*cri);
  if (!spec.has_value()) {
    auto from_image = user_from_image(image.user);
    if (!from_image.ok()) return std::move(from_image).take_error();
    spec = std::move(*from_image);
  }
  ResolvedUser out;
  if (spec.has_value()) {
    if (spec->user.id.has_value()) {
      out.uid = *spec->user.id;
    } else {
      out.username = spec->user.name;
    }
    if (spec->group.has_value()) {
      if (spec->group->id.has_value()) {
        out.gid = *spec->group->id;
      } else {
        out.groupname = spec->group->name;
      }
    } else if (spec->user.id.has_value()) {
      out.gid_from_passwd = true;
    }
    out.gid_final = !out.gid_from_passwd && out.groupname.empty() && (out.username.empty() || spec->group.has_value());
  }
  for (int64_t g : input.supplemental_groups) {
    auto gid = check_id(g, "supplemental_groups");
    if (!gid.ok()) return std::move(gid).take_error();
    out.additional_gids.push_back(*gid);
  }
  std::sort(out.additional_gids.begin(), out.additional_gids.end());
  out.additional_gids.erase(std::unique(out.additional_gids.begin(), out.additional_gids.end()),
                            out.additional_gids.end());
  return out;
}

Result<Json> build_rlimits(const std::vector<Rlimit>& rlimits) {
  static const std::vector<std::string_view> kKnown = {
      "RLIMIT_AS",      "RLIMIT_CORE",     "RLIMIT_CPU",        "RLIMIT_DATA",   "RLIMIT_FSIZE", "RLIMIT_LOCKS",
      "RLIMIT_MEMLOCK", "RLIMIT_MSGQUEUE", "RLIMIT_NICE",       "RLIMIT_NOFILE", "RLIMIT_NPROC", "RLIMIT_RSS",
      "RLIMIT_RTPRIO",  "RLIMIT_RTTIME",   "RLIMIT_SIGPENDING", "RLIMIT_STACK"};
  Json out = Json::array();
  std::vector<std::string_view> seen;
  for (const Rlimit& r : rlimits) {
    if (std::find(kKnown.begin(), kKnown.end(), r.type) == kKnown.end()) {
      return invalid("rlimits", "unknown type " + quote_value(r.type));
    }
    if (std::find(seen.begin(), seen.end(), r.type) != seen.end()) {
      return invalid("rlimits", r.type + " is given twice");
    }
    if (r.soft > r.hard) return invalid("rlimits", r.type + ": soft limit above the hard limit");
    seen.push_back(r.type);
    out.push_back({{"type", r.type}, {"hard", r.hard}, {"soft", r.soft}});
  }
  return out;
}

}  // namespace zoned::oci::spec_internal
