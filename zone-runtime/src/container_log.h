// ContainerLog: writes a container's output to its log file in the CRI format kubelet reads:
//   <RFC3339Nano timestamp> <stdout|stderr> <P|F> <text>\n
// One record per line; a line longer than kMaxRecordBytes, or a partial line still pending
// when flush() is called, is written as partial ("P") records followed later by the final
// ("F") one. stdout and stderr are buffered apart so their lines never interleave mid-line.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <memory>
#include <string_view>

#include "zoned/common/result.h"
#include "zoned/common/unique_fd.h"

namespace zoned::zone_runtime {

class ContainerLog {
 public:
  static constexpr size_t kMaxRecordBytes = 16 * 1024;

  // Opens (creating, appending) the file; its directory must exist.
  static Result<std::unique_ptr<ContainerLog>> open(const std::string& path);

  // `fd` 1 = stdout, 2 = stderr. Thread-safe.
  Status write(int fd, std::string_view data);
  // Writes pending partial lines as "P" records (before an exit is reported, nothing waits).
  Status flush();
  // Reopens the path (after kubelet rotated the file).
  Status reopen();
  const std::string& path() const { return path_; }

  // The record prefix for a timestamp (exposed for tests).
  static std::string format_timestamp(int64_t unix_ns);

 private:
  explicit ContainerLog(std::string path, UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}
  Status emit(int fd, std::string_view text, bool partial);
  Status write_stream(int fd, std::string& pending, std::string_view data);

  std::mutex mu_;
  std::string path_;
  UniqueFd fd_;
  std::string pending_out_, pending_err_;
};

}  // namespace zoned::zone_runtime
