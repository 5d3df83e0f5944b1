#include "zoned/agent/user_db.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <optional>

#include "zoned/common/unique_fd.h"

namespace zoned::agent {

namespace {

constexpr std::size_t kMaxDbBytes = 4 * 1024 * 1024;

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (;;) {
    const std::size_t end = text.find(sep, start);
    parts.push_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return parts;
}

std::optional<std::uint32_t> parse_id(std::string_view text) {
  std::uint32_t value = 0;
  if (text.empty()) return std::nullopt;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

template <typename F>
void for_each_line(std::string_view text, F f) {
  for (auto line : split(text, '\n')) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    f(line);
  }
}

Result<std::string> read_db(const std::string& rootfs, const char* name) {
  auto text = read_file_in_root(rootfs, name, kMaxDbBytes);
  if (!text.ok() && text.error().code() == ErrorCode::kNotFound) return std::string();
  return text;
}

}  // namespace

std::vector<PasswdEntry> parse_passwd(std::string_view text) {
  std::vector<PasswdEntry> entries;
  for_each_line(text, [&](std::string_view line) {
    const auto fields = split(line, ':');
    if (fields.size() < 4) return;
    const auto uid = parse_id(fields[2]);
    const auto gid = parse_id(fields[3]);
    if (!uid || !gid || fields[0].empty()) return;
    entries.push_back({std::string(fields[0]), *uid, *gid});
  });
  return entries;
}

std::vector<GroupEntry> parse_group(std::string_view text) {
  std::vector<GroupEntry> entries;
  for_each_line(text, [&](std::string_view line) {
    const auto fields = split(line, ':');
    if (fields.size() < 3) return;
    const auto gid = parse_id(fields[2]);
    if (!gid || fields[0].empty()) return;
    GroupEntry entry{std::string(fields[0]), *gid, {}};
    if (fields.size() >= 4 && !fields[3].empty()) {
      for (auto member : split(fields[3], ',')) {
        if (!member.empty()) entry.members.emplace_back(member);
      }
    }
    entries.push_back(std::move(entry));
  });
  return entries;
}

Result<std::string> read_file_in_root(const std::string& rootfs, const std::string& relative, std::size_t max_bytes) {
  UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return sys_error("opening " + rootfs);
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  const long rc = ::syscall(SYS_openat2, root.get(), relative.c_str(), &how, sizeof how);
  if (rc < 0) return sys_error(rootfs + ": " + relative);
  UniqueFd file(static_cast<int>(rc));
  std::string text;
  char buf[16384];
  for (;;) {
    const ssize_t n = ::read(file.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("reading " + rootfs + ": " + relative);
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > max_bytes) {
      return Error(ErrorCode::kResourceExhausted,
                   rootfs + ": " + relative + " is larger than " + std::to_string(max_bytes) + " bytes");
    }
  }
  return text;
}

Result<ResolvedUser> resolve_user(const std::string& rootfs, std::string_view user, std::string_view group,
                                  std::uint32_t default_uid, std::uint32_t default_gid) {
  ResolvedUser resolved{default_uid, default_gid, {}};
  std::string_view user_part = user;
  std::string_view group_part = group;
  if (const auto colon = user.find(':'); colon != std::string_view::npos) {
    user_part = user.substr(0, colon);
    if (group_part.empty()) group_part = user.substr(colon + 1);
  }
  std::vector<PasswdEntry> passwd;
  std::vector<GroupEntry> groups;
  bool loaded = false;
  auto load = [&]() -> Status {
    if (loaded) return ok_status();
    auto passwd_text = read_db(rootfs, "etc/passwd");
    if (!passwd_text.ok()) return std::move(passwd_text).take_error();
    auto group_text = read_db(rootfs, "etc/group");
    if (!group_text.ok()) return std::move(group_text).take_error();
    passwd = parse_passwd(*passwd_text);
    groups = parse_group(*group_text);
    loaded = true;
    return ok_status();
  };

  std::string user_name;  // for supplementary groups
  if (!user_part.empty()) {
    if (auto uid = parse_id(user_part)) {
      resolved.uid = *uid;
      ZONED_TRY(load());
      auto it = std::find_if(passwd.begin(), passwd.end(), [&](const PasswdEntry& e) { return e.uid == *uid; });
      if (it != passwd.end()) {
        user_name = it->name;
        resolved.gid = it->gid;
      } else {
        resolved.gid = 0;  // like runc: an unknown numeric uid gets gid 0 unless one is given
      }
    } else {
      ZONED_TRY(load());
      auto it = std::find_if(passwd.begin(), passwd.end(), [&](const PasswdEntry& e) { return e.name == user_part; });
      if (it == passwd.end()) {
        return Error(ErrorCode::kNotFound, "user " + std::string(user_part) + " not found in the image");
      }
      user_name = it->name;
      resolved.uid = it->uid;
      resolved.gid = it->gid;
    }
  }
  if (!group_part.empty()) {
    if (auto gid = parse_id(group_part)) {
      resolved.gid = *gid;
    } else {
      ZONED_TRY(load());
      auto it = std::find_if(groups.begin(), groups.end(), [&](const GroupEntry& e) { return e.name == group_part; });
      if (it == groups.end()) {
        return Error(ErrorCode::kNotFound, "group " + std::string(group_part) + " not found in the image");
      }
      resolved.gid = it->gid;
    }
  }
  if (!user_name.empty()) {
    for (const auto& entry : groups) {
      if (std::find(entry.members.begin(), entry.members.end(), user_name) == entry.members.end()) continue;
      if (entry.gid == resolved.gid) continue;
      if (std::find(resolved.additional_gids.begin(), resolved.additional_gids.end(), entry.gid) ==
          resolved.additional_gids.end()) {
        resolved.additional_gids.push_back(entry.gid);
      }
    }
  }
  return resolved;
}

}  // namespace zoned::agent
