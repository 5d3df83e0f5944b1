// Structured logging: one line per event, as logfmt text or JSON, to stderr by default.
//   log::info("cri server listening", {{"socket", path}, {"pid", getpid()}});
#pragma once

#include <concepts>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace zoned::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class Format { kText, kJson };

std::optional<Level> parse_level(std::string_view name);
std::optional<Format> parse_format(std::string_view name);
std::string_view level_name(Level level);

// One key/value pair of a log line. Numbers and booleans are kept unquoted in JSON.
struct Field {
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(v) {}
  Field(std::string_view k, bool v) : key(k), value(v ? "true" : "false"), raw(true) {}
  template <typename N>
  requires(std::integral<N> && !std::same_as<N, bool>) Field(std::string_view k, N v)
      : key(k), value(std::to_string(v)), raw(true) {}
  Field(std::string_view k, double v);

  std::string key;
  std::string value;
  bool raw = false;  // emit without quotes in JSON
};
using Fields = std::initializer_list<Field>;

// Receives each formatted line (without the trailing newline).
using Sink = std::function<void(std::string_view line)>;

// Process-wide settings; safe to call at any time from any thread.
void configure(Level min_level, Format format);
void set_sink(Sink sink);  // nullptr restores stderr
bool enabled(Level level);

void write(Level level, std::string_view message, Fields fields = {});
inline void debug(std::string_view m, Fields f = {}) {
  write(Level::kDebug, m, f);
}
inline void info(std::string_view m, Fields f = {}) {
  write(Level::kInfo, m, f);
}
inline void warn(std::string_view m, Fields f = {}) {
  write(Level::kWarn, m, f);
}
inline void error(std::string_view m, Fields f = {}) {
  write(Level::kError, m, f);
}

// Formatting, exposed for tests.
std::string format_line(Format format, std::string_view timestamp, Level level, std::string_view message,
                        Fields fields);

}  // namespace zoned::log
