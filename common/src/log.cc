#include "zoned/common/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace zoned::log {
namespace {

struct State {
  std::mutex mutex;
  std::atomic<int> min_level{static_cast<int>(Level::kInfo)};
  Format format = Format::kText;
  Sink sink;
};

State& state() {
  static State s;
  return s;
}

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

bool needs_quotes(std::string_view s) {
  if (s.empty()) return true;
  for (char c : s) {
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20) {
      return true;
    }
  }
  return false;
}

void append_logfmt_value(std::string& out, std::string_view s) {
  if (needs_quotes(s)) {
    append_json_string(out, s);  // JSON escaping is a valid logfmt quoting
  } else {
    out += s;
  }
}

std::string now_rfc3339() {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() % 1000000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(micros));
  return buf;
}

}  // namespace

Field::Field(std::string_view k, double v) : key(k), raw(true) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  value = buf;
}

std::optional<Level> parse_level(std::string_view name) {
  if (name == "debug") return Level::kDebug;
  if (name == "info") return Level::kInfo;
  if (name == "warn" || name == "warning") return Level::kWarn;
  if (name == "error") return Level::kError;
  return std::nullopt;
}

std::optional<Format> parse_format(std::string_view name) {
  if (name == "text") return Format::kText;
  if (name == "json") return Format::kJson;
  return std::nullopt;
}

std::string_view level_name(Level level) {
  switch (level) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "unknown";
}

void configure(Level min_level, Format format) {
  auto& s = state();
  std::lock_guard lock(s.mutex);
  s.min_level = static_cast<int>(min_level);
  s.format = format;
}

void set_sink(Sink sink) {
  auto& s = state();
  std::lock_guard lock(s.mutex);
  s.sink = std::move(sink);
}

bool enabled(Level level) {
  return static_cast<int>(level) >= state().min_level.load();
}

std::string format_line(Format format, std::string_view timestamp, Level level, std::string_view message,
                        Fields fields) {
  std::string out;
  out.reserve(128);
  if (format == Format::kJson) {
    out += "{\"time\":";
    append_json_string(out, timestamp);
    out += ",\"level\":";
    append_json_string(out, level_name(level));
    out += ",\"msg\":";
    append_json_string(out, message);
    for (const auto& f : fields) {
      out += ',';
      append_json_string(out, f.key);
      out += ':';
      if (f.raw) {
        out += f.value;
      } else {
        append_json_string(out, f.value);
      }
    }
    out += '}';
  } else {
    out += "time=";
    out += timestamp;
    out += " level=";
    out += level_name(level);
    out += " msg=";
    append_logfmt_value(out, message);
    for (const auto& f : fields) {
      out += ' ';
      out += f.key;
      out += '=';
      append_logfmt_value(out, f.value);
    }
  }
  return out;
}

void write(Level level, std::string_view message, Fields fields) {
  if (!enabled(level)) return;
  auto& s = state();
  std::string ts = now_rfc3339();
  std::lock_guard lock(s.mutex);
  std::string line = format_line(s.format, ts, level, message, fields);
  if (s.sink) {
    s.sink(line);
    return;
  }
  line += '\n';
  // One write(2) per line keeps lines whole when several processes share stderr.
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n <= 0) break;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace zoned::log
