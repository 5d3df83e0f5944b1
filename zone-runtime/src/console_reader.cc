#include "console_reader.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>

#include "zoned/common/file_ops.h"
#include "zoned/common/log.h"

namespace zoned::zone_runtime {

using namespace zoned::fs;  // NOLINT: file helpers

Result<std::unique_ptr<ConsoleReader>> ConsoleReader::start(const std::string& pty_path, std::string log_path,
                                                            size_t max_bytes) {
  int fd = ::open(pty_path.c_str(), O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return sys_error("opening zone console " + pty_path);
  UniqueFd pty(fd);
  struct termios tio {};
  if (::tcgetattr(pty.get(), &tio) == 0) {  // raw: no echo back into the guest, no line editing
    ::cfmakeraw(&tio);
    ::tcsetattr(pty.get(), TCSANOW, &tio);
  }
  int efd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (efd < 0) return sys_error("eventfd for the console reader");
  return std::unique_ptr<ConsoleReader>(
      new ConsoleReader(std::move(pty), UniqueFd(efd), std::move(log_path), max_bytes));
}

ConsoleReader::ConsoleReader(UniqueFd pty, UniqueFd stop, std::string log_path, size_t max_bytes)
    : pty_(std::move(pty)), stop_(std::move(stop)), log_path_(std::move(log_path)), max_bytes_(max_bytes) {
  thread_ = std::thread([this] { run(); });
}

ConsoleReader::~ConsoleReader() {
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(stop_.get(), &one, sizeof one);
  if (thread_.joinable()) thread_.join();
}

void ConsoleReader::run() {
  char buf[16384];
  for (;;) {
    struct pollfd fds[2] = {{pty_.get(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
    int r = ::poll(fds, 2, -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return;
    // drain what the console has before looking at the stop request
    bool hung_up = false;
    for (;;) {
      ssize_t n = ::read(pty_.get(), buf, sizeof buf);
      if (n > 0) {
        append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      hung_up = n == 0 || (n < 0 && errno != EAGAIN);
      break;
    }
    if (fds[1].revents & POLLIN) return;
    if (hung_up || (fds[0].revents & (POLLHUP | POLLERR | POLLNVAL))) {
      // the pty's other side is gone (domain destroyed) or not yet open: poll again slowly
      struct pollfd stop_only = {stop_.get(), POLLIN, 0};
      if (::poll(&stop_only, 1, 500) > 0) return;
    }
  }
}

void ConsoleReader::append(const char* data, size_t size) {
  struct stat st {};
  if (::stat(log_path_.c_str(), &st) == 0 && static_cast<size_t>(st.st_size) + size > max_bytes_) {
    // keep the newer half
    auto old = read_file(log_path_, max_bytes_ * 2);
    if (old.ok()) {
      const std::string keep = old->substr(old->size() > max_bytes_ / 2 ? old->size() - max_bytes_ / 2 : 0);
      const std::string tmp = log_path_ + ".tmp";
      int t = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      if (t >= 0) {
        UniqueFd tf(t);
        if (write_all(tf.get(), keep.data(), keep.size()).ok()) ::rename(tmp.c_str(), log_path_.c_str());
      }
    }
  }
  int fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return;
  UniqueFd file(fd);
  (void)write_all(file.get(), data, size);
}

std::string console_tail(const std::string& log_path, size_t max_bytes, bool sanitise) {
  auto text = read_file(log_path, 64 * 1024 * 1024);
  if (!text.ok()) return {};
  std::string tail = text->size() > max_bytes ? text->substr(text->size() - max_bytes) : *text;
  if (sanitise) {
    // The guest's console ends lines with "\r\n": keep the newline, drop the carriage return.
    std::string clean;
    clean.reserve(tail.size());
    for (size_t i = 0; i < tail.size(); ++i) {
      char c = tail[i];
      const auto u = static_cast<unsigned char>(c);
      if (c == '\r' && i + 1 < tail.size() && tail[i + 1] == '\n') continue;
      if ((u < 0x20 && c != '\n' && c != '\t') || u == 0x7f) c = '?';
      clean += c;
    }
    tail = std::move(clean);
  }
  return tail;
}

}  // namespace zoned::zone_runtime
