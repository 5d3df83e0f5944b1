#include "zoned/agent/stats.h"

#include <unistd.h>

#include <charconv>
#include <vector>

#include "zoned/common/file_ops.h"

namespace zoned::agent {

namespace {

constexpr std::size_t kMaxStatFileBytes = 1024 * 1024;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

Result<std::uint64_t> parse_u64(std::string_view text, std::string_view what) {
  text = trim(text);
  std::uint64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    return Error(ErrorCode::kInternal, "cannot parse " + std::string(what) + ": '" + std::string(text) + "'");
  }
  return value;
}

Result<std::string> read(const std::string& path) {
  auto text = fs::read_file(path, kMaxStatFileBytes);
  if (!text.ok()) return std::move(text).take_error().wrap("reading " + path);
  return text;
}

}  // namespace

Result<std::uint64_t> parse_keyed_value(std::string_view text, std::string_view key) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.size() <= key.size() || line.substr(0, key.size()) != key) continue;
    const char sep = line[key.size()];
    if (sep != ' ' && sep != ':' && sep != '\t') continue;
    std::string_view value = trim(line.substr(key.size() + 1));
    if (value.size() > 3 && value.substr(value.size() - 3) == " kB") {
      auto kb = parse_u64(value.substr(0, value.size() - 3), key);
      if (!kb.ok()) return kb;
      return *kb * 1024;
    }
    return parse_u64(value, key);
  }
  return Error(ErrorCode::kNotFound, "no '" + std::string(key) + "' entry");
}

Result<std::uint64_t> parse_proc_stat_busy_ticks(std::string_view text) {
  if (text.substr(0, 4) != "cpu ") return Error(ErrorCode::kInternal, "/proc/stat does not start with the cpu line");
  std::string_view line =
      text.substr(4, text.find('\n') == std::string_view::npos ? std::string_view::npos : text.find('\n') - 4);
  // user nice system idle iowait irq softirq steal (guest time is already inside user/nice)
  std::vector<std::uint64_t> fields;
  std::size_t pos = 0;
  while (pos < line.size() && fields.size() < 8) {
    while (pos < line.size() && line[pos] == ' ') ++pos;
    std::size_t end = line.find(' ', pos);
    if (end == std::string_view::npos) end = line.size();
    if (end == pos) break;
    auto value = parse_u64(line.substr(pos, end - pos), "/proc/stat cpu field");
    if (!value.ok()) return value;
    fields.push_back(*value);
    pos = end;
  }
  if (fields.size() < 4) return Error(ErrorCode::kInternal, "/proc/stat cpu line is too short");
  std::uint64_t busy = 0;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i == 3 || i == 4) continue;  // idle, iowait
    busy += fields[i];
  }
  return busy;
}

Result<CgroupUsage> read_cgroup_usage(const std::string& dir) {
  CgroupUsage usage;
  auto cpu = read(dir + "/cpu.stat");
  if (!cpu.ok()) return std::move(cpu).take_error();
  auto usec = parse_keyed_value(*cpu, "usage_usec");
  if (!usec.ok()) return std::move(usec).take_error().wrap(dir + "/cpu.stat");
  usage.cpu_usage_ns = *usec * 1000;

  auto current_text = read(dir + "/memory.current");
  if (!current_text.ok()) return std::move(current_text).take_error();
  auto current = parse_u64(*current_text, dir + "/memory.current");
  if (!current.ok()) return std::move(current).take_error();
  auto stat = read(dir + "/memory.stat");
  if (!stat.ok()) return std::move(stat).take_error();
  auto inactive = parse_keyed_value(*stat, "inactive_file");
  const std::uint64_t inactive_bytes = inactive.ok() ? *inactive : 0;
  usage.memory_working_set_bytes = *current > inactive_bytes ? *current - inactive_bytes : 0;
  return usage;
}

bool cgroup_oom_killed(const std::string& dir) {
  auto events = read(dir + "/memory.events");
  if (!events.ok()) return false;
  auto kills = parse_keyed_value(*events, "oom_kill");
  return kills.ok() && *kills > 0;
}

Result<ZoneUsage> read_zone_usage(const std::string& proc_dir) {
  ZoneUsage usage;
  auto meminfo = read(proc_dir + "/meminfo");
  if (!meminfo.ok()) return std::move(meminfo).take_error();
  auto total = parse_keyed_value(*meminfo, "MemTotal");
  if (!total.ok()) return std::move(total).take_error().wrap("meminfo");
  auto available = parse_keyed_value(*meminfo, "MemAvailable");
  if (!available.ok()) return std::move(available).take_error().wrap("meminfo");
  usage.memory_total_bytes = *total;
  usage.memory_available_bytes = *available;

  auto stat = read(proc_dir + "/stat");
  if (!stat.ok()) return std::move(stat).take_error();
  auto ticks = parse_proc_stat_busy_ticks(*stat);
  if (!ticks.ok()) return std::move(ticks).take_error();
  const long hz = ::sysconf(_SC_CLK_TCK);
  const std::uint64_t ns_per_tick = hz > 0 ? 1000000000ull / static_cast<std::uint64_t>(hz) : 10000000ull;
  usage.cpu_usage_ns = *ticks * ns_per_tick;
  return usage;
}

}  // namespace zoned::agent
