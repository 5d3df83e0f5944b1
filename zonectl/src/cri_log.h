// Reading CRI-format container logs ("<RFC3339Nano time> <stdout|stderr> <P|F> <text>\n"), as
// the daemon streams them in chunks that may end inside a line.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zoned::zonectl {

struct LogRecord {
  std::string time;
  int fd = 1;            // 1: stdout, 2: stderr
  std::string text;      // without the newline
  bool partial = false;  // "P": the line continues in the next record of the stream
};

// One line without its newline. A line that is not in CRI format is kept whole as stdout text.
LogRecord parse_cri_line(std::string_view line);

class CriLogParser {
 public:
  // Returns the records of the lines completed by `data`.
  std::vector<LogRecord> feed(std::string_view data);
  // A last line without a newline, if any.
  std::optional<LogRecord> finish();

 private:
  static constexpr size_t kMaxLineBytes = 1024 * 1024;  // longer "lines" are cut, not buffered
  std::string pending_;
};

}  // namespace zoned::zonectl
