// Resource usage for StatsRequest: per container from its cgroup v2 directory, and the zone's
// from /proc. Paths are parameters so tests can use fixture files.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "zoned/common/result.h"

namespace zoned::agent {

struct CgroupUsage {
  std::uint64_t cpu_usage_ns = 0;
  std::uint64_t memory_working_set_bytes = 0;  // memory.current - inactive_file
};
// Reads <dir>/cpu.stat, memory.current and memory.stat.
Result<CgroupUsage> read_cgroup_usage(const std::string& dir);

// Whether <dir>/memory.events counts an OOM kill of one of the cgroup's processes (by the
// cgroup's limit or the zone-wide OOM killer). A missing file or key: no.
bool cgroup_oom_killed(const std::string& dir);

struct ZoneUsage {
  std::uint64_t memory_total_bytes = 0;
  std::uint64_t memory_available_bytes = 0;
  std::uint64_t cpu_usage_ns = 0;  // busy time of all CPUs (without idle and iowait)
};
// Reads <proc>/meminfo and <proc>/stat.
Result<ZoneUsage> read_zone_usage(const std::string& proc_dir);

// Parsers (exposed for tests).
Result<std::uint64_t> parse_keyed_value(std::string_view text, std::string_view key);  // "key value" lines
Result<std::uint64_t> parse_proc_stat_busy_ticks(std::string_view text);

}  // namespace zoned::agent
