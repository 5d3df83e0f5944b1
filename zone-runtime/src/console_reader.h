// ConsoleReader: copies a zone's PV console (the pty xenconsoled offers in dom0) into a file
// the daemon keeps (<zone dir>/console.log), bounded: when the file passes `max_bytes` its
// older half is dropped. The guest writes whatever it likes there: it is stored as bytes and
// only ever shown to an administrator or quoted (sanitised) in error messages.
#pragma once

#include <atomic>
#include <cstddef>
#include <string>
#include <thread>

#include "zoned/common/result.h"
#include "zoned/common/unique_fd.h"

namespace zoned::zone_runtime {

class ConsoleReader {
 public:
  // Starts a thread reading `pty_path` into `log_path` (appending).
  static Result<std::unique_ptr<ConsoleReader>> start(const std::string& pty_path, std::string log_path,
                                                      size_t max_bytes);
  ~ConsoleReader();  // stops the thread (reads what is pending first)
  ConsoleReader(const ConsoleReader&) = delete;
  ConsoleReader& operator=(const ConsoleReader&) = delete;

 private:
  ConsoleReader(UniqueFd pty, UniqueFd stop, std::string log_path, size_t max_bytes);
  void run();
  void append(const char* data, size_t size);

  UniqueFd pty_;
  UniqueFd stop_;  // eventfd
  std::string log_path_;
  size_t max_bytes_;
  std::thread thread_;
};

// The last `max_bytes` of a console log, with control characters other than newline and tab
// replaced, for quoting in messages.
std::string console_tail(const std::string& log_path, size_t max_bytes, bool sanitise);

}  // namespace zoned::zone_runtime
