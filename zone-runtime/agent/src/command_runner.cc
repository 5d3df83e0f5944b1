#include "zoned/agent/command_runner.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include "zoned/common/file_ops.h"

namespace zoned::agent {

namespace {

constexpr std::size_t kMaxCapturedBytes = 8 * 1024;

void keep_tail(std::string& text, std::size_t max) {
  if (text.size() > max) text.erase(0, text.size() - max);
}

std::string read_available(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    keep_tail(out, kMaxCapturedBytes);
  }
  return out;
}

std::string trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

}  // namespace

std::string CommandResult::describe(const std::string& what) const {
  std::string text = what + ": " + (timed_out ? std::string("timed out (killed)") : status.describe());
  const std::string detail = trim(output);
  if (!detail.empty()) text += ": " + detail;
  return text;
}

Result<pid_t> CommandRunner::start(SpawnRequest request, std::chrono::milliseconds timeout, std::string log_file,
                                   Done done) {
  UniqueFd capture_read;
  UniqueFd capture_write;
  if (request.stdout_fd < 0 && request.stderr_fd < 0) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return sys_error("pipe for command output");
    capture_read.reset(fds[0]);
    capture_write.reset(fds[1]);
    request.stdout_fd = capture_write.get();
    request.stderr_fd = capture_write.get();
  }
  auto pid = spawn_process(request);
  if (!pid.ok()) return std::move(pid).take_error();
  running_[*pid] =
      Running{Clock::now() + timeout, std::move(capture_read), std::move(log_file), false, std::move(done)};
  const pid_t child = *pid;
  reaper_.watch(child, [this, child](ExitStatus status) { finish(child, status); });
  return child;
}

void CommandRunner::finish(pid_t pid, ExitStatus status) {
  auto it = running_.find(pid);
  if (it == running_.end()) return;
  Running run = std::move(it->second);
  running_.erase(it);
  CommandResult result;
  result.status = status;
  result.timed_out = run.timed_out;
  if (run.capture.valid()) result.output = read_available(run.capture.get());
  if (!run.log_file.empty()) {
    auto log = fs::read_file(run.log_file, 1024 * 1024);
    if (log.ok()) {
      std::string text = std::move(*log);
      keep_tail(text, kMaxCapturedBytes / 2);
      if (!text.empty()) result.output += (result.output.empty() ? "" : "; ") + text;
    }
  }
  if (run.done) run.done(std::move(result));
}

void CommandRunner::check_deadlines(Clock::time_point now) {
  for (auto& [pid, run] : running_) {
    if (!run.timed_out && now >= run.deadline) {
      run.timed_out = true;
      ::kill(pid, SIGKILL);  // reaped by the ChildReaper; finish() reports the timeout
    }
  }
}

std::optional<CommandRunner::Clock::time_point> CommandRunner::next_deadline() const {
  std::optional<Clock::time_point> next;
  for (const auto& [pid, run] : running_) {
    if (run.timed_out) continue;
    if (!next || run.deadline < *next) next = run.deadline;
  }
  return next;
}

}  // namespace zoned::agent
