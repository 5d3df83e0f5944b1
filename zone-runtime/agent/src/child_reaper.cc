#include "zoned/agent/child_reaper.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace zoned::agent {

ExitStatus ExitStatus::from_wait_status(int status) {
  ExitStatus result;
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
  }
  return result;
}

std::string ExitStatus::describe() const {
  if (signal != 0) return "killed by signal " + std::to_string(signal);
  return "exited with status " + std::to_string(exit_code);
}

Result<ChildReaper> ChildReaper::create(std::size_t max_unclaimed) {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  if (::sigprocmask(SIG_BLOCK, &mask, nullptr) != 0) return sys_error("blocking SIGCHLD");
  UniqueFd fd(::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!fd.valid()) return sys_error("signalfd for SIGCHLD");
  return ChildReaper(std::move(fd), max_unclaimed);
}

void ChildReaper::watch(pid_t pid, Handler handler) {
  for (auto it = unclaimed_.begin(); it != unclaimed_.end(); ++it) {
    if (it->first == pid) {
      ready_.emplace_back(std::move(handler), it->second);
      unclaimed_.erase(it);
      return;
    }
  }
  handlers_[pid] = std::move(handler);
}

void ChildReaper::forget(pid_t pid) {
  handlers_.erase(pid);
}

void ChildReaper::collect() {
  signalfd_siginfo info;
  while (::read(signal_fd_.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
  }
  for (;;) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) break;  // 0: none left exited; -1 ECHILD: no children at all
    const ExitStatus exit = ExitStatus::from_wait_status(status);
    auto it = handlers_.find(pid);
    if (it != handlers_.end()) {
      ready_.emplace_back(std::move(it->second), exit);
      handlers_.erase(it);
      continue;
    }
    unclaimed_.emplace_back(pid, exit);
    if (unclaimed_.size() > max_unclaimed_) unclaimed_.pop_front();
  }
}

void ChildReaper::dispatch() {
  while (!ready_.empty()) {
    auto batch = std::move(ready_);
    ready_.clear();
    for (auto& [handler, exit] : batch) handler(exit);
  }
}

}  // namespace zoned::agent
