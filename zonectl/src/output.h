// What zonectl prints: JSON for --json (the API's messages with their proto field names, 64-bit
// numbers as numbers), aligned tables, and human forms of ids, sizes, ages and times.
#pragma once

#include <google/protobuf/message.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace zoned::zonectl {

nlohmann::json message_json(const google::protobuf::Message& message);
// Pretty JSON with a trailing newline; bytes that are not UTF-8 are replaced, never fatal.
std::string json_text(const nlohmann::json& value);

class Table {
 public:
  explicit Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  // Columns padded to their widest cell, two spaces apart; the last column is not padded.
  std::string render() const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

std::string short_id(std::string_view id);                 // the first 12 characters
std::string format_age(int64_t since_ns, int64_t now_ns);  // "42s", "5m", "3h", "2d"; "-" when unset
std::string format_mib(uint64_t mib);                      // "256MiB", "2GiB"
std::string format_bytes(uint64_t bytes);                  // "512B", "1.5KiB", "256.0MiB"
std::string format_seconds(uint64_t ns);                   // "12.345s"
std::string format_time(int64_t unix_ns);                  // "2025-01-01T12:00:00Z"; "-" when unset
int64_t now_ns();

}  // namespace zoned::zonectl
