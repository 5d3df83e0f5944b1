// The terminal and signals: raw mode for `exec -t`, the window size, SIGWINCH, Ctrl-C while a
// stream runs, and a stdin reader that can be stopped.
//
// Signals: install_signal_thread() (first thing in main, before gRPC starts threads) blocks
// SIGINT, SIGTERM, SIGHUP and SIGWINCH everywhere and takes them on a thread of its own. While
// a SignalScope lives, they call its handlers; otherwise an interrupt restores the terminal and
// exits with 128 + the signal, as if zonectl had not caught it.
#pragma once

#include <termios.h>

#include <functional>
#include <optional>
#include <string_view>
#include <thread>

#include "zoned/common/unique_fd.h"

namespace zoned::zonectl {

void install_signal_thread();

class SignalScope {
 public:
  SignalScope(std::function<void(int sig)> on_interrupt, std::function<void()> on_resize = {});
  ~SignalScope();
  SignalScope(const SignalScope&) = delete;
  SignalScope& operator=(const SignalScope&) = delete;
};

// Puts a terminal into raw mode (no echo, no line editing, no signal keys) until destroyed.
class RawMode {
 public:
  explicit RawMode(int fd);  // does nothing when fd is not a terminal
  ~RawMode();
  RawMode(const RawMode&) = delete;
  RawMode& operator=(const RawMode&) = delete;
  bool active() const { return active_; }

 private:
  int fd_;
  bool active_ = false;
  termios saved_{};
};

struct WindowSize {
  uint32_t rows = 0, cols = 0;
};
std::optional<WindowSize> window_size(int fd);

// Reads stdin on a thread and hands each chunk to `on_data`, then calls `on_eof` once at end of
// input. stop() ends it early (it does not close stdin).
class StdinPump {
 public:
  StdinPump(std::function<void(std::string_view)> on_data, std::function<void()> on_eof);
  ~StdinPump();
  StdinPump(const StdinPump&) = delete;
  StdinPump& operator=(const StdinPump&) = delete;
  void stop();

 private:
  void run();

  std::function<void(std::string_view)> on_data_;
  std::function<void()> on_eof_;
  UniqueFd wake_read_, wake_write_;
  std::thread thread_;
};

// Writes all of `data` to `fd` (retrying short writes); false on failure (a closed pipe).
bool write_all(int fd, std::string_view data);

}  // namespace zoned::zonectl
