#include "terminal.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>

namespace zoned::zonectl {
namespace {

struct SignalState {
  std::mutex mutex;
  std::function<void(int)> on_interrupt;
  std::function<void()> on_resize;
  // The terminal to restore before exiting on a signal.
  int raw_fd = -1;
  termios raw_saved{};
};

SignalState& state() {
  static SignalState* s = new SignalState;  // never destroyed: the signal thread outlives main
  return *s;
}

sigset_t handled_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGWINCH}) sigaddset(&set, sig);
  return set;
}

[[noreturn]] void signal_loop() {
  sigset_t set = handled_signals();
  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    std::unique_lock lock(state().mutex);
    if (sig == SIGWINCH) {
      auto on_resize = state().on_resize;
      lock.unlock();
      if (on_resize) on_resize();
      continue;
    }
    if (state().on_interrupt) {
      auto on_interrupt = state().on_interrupt;
      lock.unlock();
      on_interrupt(sig);
      continue;
    }
    if (state().raw_fd >= 0) ::tcsetattr(state().raw_fd, TCSANOW, &state().raw_saved);
    ::_exit(128 + sig);
  }
}

}  // namespace

void install_signal_thread() {
  sigset_t set = handled_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  std::thread(signal_loop).detach();
}

SignalScope::SignalScope(std::function<void(int)> on_interrupt, std::function<void()> on_resize) {
  std::lock_guard lock(state().mutex);
  state().on_interrupt = std::move(on_interrupt);
  state().on_resize = std::move(on_resize);
}

SignalScope::~SignalScope() {
  std::lock_guard lock(state().mutex);
  state().on_interrupt = nullptr;
  state().on_resize = nullptr;
}

RawMode::RawMode(int fd) : fd_(fd) {
  if (!::isatty(fd) || ::tcgetattr(fd, &saved_) != 0) return;
  termios raw = saved_;
  ::cfmakeraw(&raw);
  if (::tcsetattr(fd, TCSANOW, &raw) != 0) return;
  active_ = true;
  std::lock_guard lock(state().mutex);
  state().raw_fd = fd;
  state().raw_saved = saved_;
}

RawMode::~RawMode() {
  if (!active_) return;
  ::tcsetattr(fd_, TCSANOW, &saved_);
  std::lock_guard lock(state().mutex);
  state().raw_fd = -1;
}

std::optional<WindowSize> window_size(int fd) {
  winsize ws{};
  if (::ioctl(fd, TIOCGWINSZ, &ws) != 0 || ws.ws_row == 0 || ws.ws_col == 0) return std::nullopt;
  return WindowSize{ws.ws_row, ws.ws_col};
}

StdinPump::StdinPump(std::function<void(std::string_view)> on_data, std::function<void()> on_eof)
    : on_data_(std::move(on_data)), on_eof_(std::move(on_eof)) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) == 0) {
    wake_read_.reset(fds[0]);
    wake_write_.reset(fds[1]);
  }
  thread_ = std::thread([this] { run(); });
}

StdinPump::~StdinPump() {
  stop();
}

void StdinPump::stop() {
  if (!thread_.joinable()) return;
  if (wake_write_.valid()) {
    char byte = 0;
    [[maybe_unused]] ssize_t n = ::write(wake_write_.get(), &byte, 1);
  }
  thread_.join();
}

void StdinPump::run() {
  char buffer[32 * 1024];
  for (;;) {
    pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {wake_read_.get(), POLLIN, 0}};
    int ready = ::poll(fds, wake_read_.valid() ? 2 : 1, -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if ((fds[1].revents & POLLIN) != 0) return;  // stopped: no EOF to report
    if (fds[0].revents == 0) continue;
    ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) break;
    on_data_(std::string_view(buffer, static_cast<size_t>(n)));
  }
  on_eof_();
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace zoned::zonectl
