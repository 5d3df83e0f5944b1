#include "cri_log.h"

namespace zoned::zonectl {

LogRecord parse_cri_line(std::string_view line) {
  LogRecord record;
  auto first = line.find(' ');
  auto second = first == std::string_view::npos ? first : line.find(' ', first + 1);
  auto third = second == std::string_view::npos ? second : line.find(' ', second + 1);
  std::string_view stream = second == std::string_view::npos ? "" : line.substr(first + 1, second - first - 1);
  std::string_view tag = third == std::string_view::npos ? "" : line.substr(second + 1, third - second - 1);
  if ((stream != "stdout" && stream != "stderr") || (tag != "P" && tag != "F")) {
    record.text = std::string(line);
    return record;
  }
  record.time = std::string(line.substr(0, first));
  record.fd = stream == "stderr" ? 2 : 1;
  record.partial = tag == "P";
  record.text = std::string(line.substr(third + 1));
  return record;
}

std::vector<LogRecord> CriLogParser::feed(std::string_view data) {
  std::vector<LogRecord> out;
  while (!data.empty()) {
    auto newline = data.find('\n');
    if (newline == std::string_view::npos) {
      pending_.append(data);
      if (pending_.size() > kMaxLineBytes) {
        out.push_back(parse_cri_line(pending_));
        pending_.clear();
      }
      break;
    }
    pending_.append(data.substr(0, newline));
    out.push_back(parse_cri_line(pending_));
    pending_.clear();
    data.remove_prefix(newline + 1);
  }
  return out;
}

std::optional<LogRecord> CriLogParser::finish() {
  if (pending_.empty()) return std::nullopt;
  LogRecord record = parse_cri_line(pending_);
  pending_.clear();
  return record;
}

}  // namespace zoned::zonectl
