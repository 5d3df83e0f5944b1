// Streaming a container's log (ContainerLogs) as parsed records; used by `logs` and `run`.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "client.h"
#include "cri_log.h"

namespace zoned::zonectl {

// Reads the log from the daemon, calling `on_record` for each record in order. `cc` lets the
// caller cancel a followed stream (Ctrl-C).
grpc::Status stream_logs(Client& client, grpc::ClientContext& cc, const std::string& container, uint64_t tail_bytes,
                         bool follow, const std::function<void(const LogRecord&)>& on_record);

// Writes the record's text to stdout or stderr, with its newline unless it is partial.
void print_record(const LogRecord& record);

// Collects records as whole lines (partial records joined) for --json:
// [{"time": ..., "stream": "stdout", "log": "text"}...]
class LogCollector {
 public:
  void add(const LogRecord& record);
  nlohmann::json lines() const;
  // The text of one stream, lines ended by newlines (for `run --json`).
  std::string text(int fd) const;

 private:
  struct Line {
    std::string time;
    int fd;
    std::string text;
    bool open;  // the last record was partial
  };
  std::vector<Line> lines_;
};

}  // namespace zoned::zonectl
