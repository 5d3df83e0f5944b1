#include "zoned/common/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "zoned/common/scope_guard.h"
#include "zoned/common/unique_fd.h"

extern char** environ;

namespace zoned::process {
namespace {

using Clock = std::chrono::steady_clock;

// posix_spawn attributes and file actions, destroyed on every path.
struct SpawnSetup {
  posix_spawnattr_t attr{};
  posix_spawn_file_actions_t actions{};
  SpawnSetup() {
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_init(&actions);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

// Empty signal mask and default dispositions in the child: the daemon blocks SIGTERM & co in
// every thread and ignores SIGPIPE, and exec would keep both.
int configure_signals(posix_spawnattr_t& attr) {
  sigset_t empty;
  sigset_t all;
  sigemptyset(&empty);
  sigfillset(&all);
  int rc = posix_spawnattr_setsigmask(&attr, &empty);
  if (rc == 0) rc = posix_spawnattr_setsigdefault(&attr, &all);
  if (rc == 0) rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  return rc;
}

// The descriptors the child gets: stdin (-1: /dev/null), stdout, stderr.
struct ChildFds {
  int input = -1;
  int output = -1;
  int error = -1;
};

int configure_fds(posix_spawn_file_actions_t& actions, const ChildFds& fds) {
  int rc = fds.input < 0 ? posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
                         : posix_spawn_file_actions_adddup2(&actions, fds.input, 0);
  if (rc == 0) rc = posix_spawn_file_actions_adddup2(&actions, fds.output, 1);
  if (rc == 0) rc = posix_spawn_file_actions_adddup2(&actions, fds.error, 2);
  if (rc == 0) rc = posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  return rc;
}

// Options::stdin_data in a memfd positioned at its start (no pipe to feed while draining).
Result<UniqueFd> stdin_memfd(const Options& options) {
  UniqueFd fd(::memfd_create("zoned-stdin", MFD_CLOEXEC));
  if (!fd.valid()) return sys_error("creating stdin for " + options.argv[0]);
  const std::string& data = *options.stdin_data;
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("writing stdin for " + options.argv[0]);
    done += static_cast<size_t>(n);
  }
  if (::lseek(fd.get(), 0, SEEK_SET) != 0) return sys_error("rewinding stdin for " + options.argv[0]);
  return fd;
}

Result<pid_t> spawn(const Options& options, const ChildFds& fds) {
  SpawnSetup setup;
  int rc = configure_signals(setup.attr);
  if (rc == 0) rc = configure_fds(setup.actions, fds);
  if (rc != 0) return sys_error("preparing to run " + options.argv[0], rc);
  std::vector<char*> argv;
  argv.reserve(options.argv.size() + 1);
  for (const std::string& arg : options.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  if (options.env) {
    envp.reserve(options.env->size() + 1);
    for (const std::string& entry : *options.env) envp.push_back(const_cast<char*>(entry.c_str()));
    envp.push_back(nullptr);
  }
  pid_t pid = -1;
  rc = posix_spawnp(&pid, argv[0], &setup.actions, &setup.attr, argv.data(), options.env ? envp.data() : environ);
  if (rc != 0) return sys_error("running " + options.argv[0], rc);
  return pid;
}

void append_bounded(std::string& out, bool& truncated, const char* data, size_t size, size_t max) {
  out.append(data, size);
  if (out.size() > max) {
    out.erase(0, out.size() - max);
    truncated = true;
  }
}

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  if (left <= 0) return 0;
  return left > 60'000 ? 60'000 : static_cast<int>(left);
}

// Reads the child's output (and its separate stderr, when error_fd >= 0) until EOF on both.
// False when the deadline passed first.
Result<bool> drain_output(int output_fd, int error_fd, Outcome& outcome, const Options& options,
                          Clock::time_point deadline) {
  char buf[8192];
  pollfd pfds[2] = {{output_fd, POLLIN, 0}, {error_fd, POLLIN, 0}};
  for (;;) {
    if (pfds[0].fd < 0 && pfds[1].fd < 0) return true;
    int ready = ::poll(pfds, 2, remaining_ms(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return sys_error("waiting for output of " + options.argv[0]);
    if (ready == 0) {
      if (Clock::now() >= deadline) return false;
      continue;
    }
    for (size_t i = 0; i < 2; ++i) {
      if (pfds[i].fd < 0 || pfds[i].revents == 0) continue;
      ssize_t n = ::read(pfds[i].fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return sys_error("reading output of " + options.argv[0]);
      if (n == 0) {
        pfds[i].fd = -1;
        continue;
      }
      if (i == 0) {
        append_bounded(outcome.output, outcome.output_truncated, buf, static_cast<size_t>(n),
                       options.max_output_bytes);
      } else {
        append_bounded(outcome.error_output, outcome.error_output_truncated, buf, static_cast<size_t>(n),
                       options.max_output_bytes);
      }
    }
  }
}

void record_status(Outcome& outcome, int status) {
  if (WIFEXITED(status)) outcome.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) outcome.term_signal = WTERMSIG(status);
}

// Reaps exactly `pid`. Returns false if it is still running at the deadline.
Result<bool> reap(pid_t pid, Outcome& outcome, Clock::time_point deadline, bool block) {
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, block ? 0 : WNOHANG);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return sys_error("waiting for child " + std::to_string(pid));
    if (r == pid) {
      record_status(outcome, status);
      return true;
    }
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace

std::string Outcome::describe() const {
  if (term_signal != 0) return "killed by signal " + std::to_string(term_signal);
  return "exited with status " + std::to_string(exit_code);
}

Result<Outcome> run(const Options& options) {
  if (options.argv.empty() || options.argv[0].empty()) {
    return Error(ErrorCode::kInvalidArgument, "no program to run");
  }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return sys_error("creating pipe for " + options.argv[0]);
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  UniqueFd error_read_end;
  UniqueFd error_write_end;
  if (options.separate_stderr) {
    if (::pipe2(fds, O_CLOEXEC) != 0) return sys_error("creating pipe for " + options.argv[0]);
    error_read_end.reset(fds[0]);
    error_write_end.reset(fds[1]);
  }
  UniqueFd input;
  if (options.stdin_data) {
    auto memfd = stdin_memfd(options);
    if (!memfd.ok()) return std::move(memfd).take_error();
    input = std::move(*memfd);
  }
  ChildFds child_fds{input.get(), write_end.get(), options.separate_stderr ? error_write_end.get() : write_end.get()};
  auto pid = spawn(options, child_fds);
  if (!pid.ok()) return std::move(pid).take_error();
  // The child holds the only write ends now: EOF when it exits.
  write_end.reset();
  error_write_end.reset();
  input.reset();

  // From here the child must be reaped on every path, killed first if we give up on it.
  bool reaped = false;
  ScopeGuard kill_child([&] {
    if (reaped) return;
    ::kill(*pid, SIGKILL);
    Outcome ignored;
    (void)reap(*pid, ignored, Clock::now(), true);
  });
  Outcome outcome;
  const auto deadline = Clock::now() + options.timeout;
  auto drained = drain_output(read_end.get(), error_read_end.get(), outcome, options, deadline);
  if (!drained.ok()) return std::move(drained).take_error();
  if (*drained) {
    auto done = reap(*pid, outcome, deadline, false);
    if (!done.ok()) return std::move(done).take_error();
    reaped = *done;
  }
  if (!reaped) {
    return Error(ErrorCode::kDeadlineExceeded, options.argv[0] + " did not finish within " +
                                                   std::to_string(options.timeout.count()) + " ms and was killed");
  }
  return outcome;
}

Result<Outcome> run_checked(const Options& options) {
  auto outcome = run(options);
  if (!outcome.ok() || outcome->success()) return outcome;
  std::string message = options.argv[0] + " " + outcome->describe();
  std::string tail = outcome->output;
  while (!tail.empty() && (tail.back() == '\n' || tail.back() == ' ')) tail.pop_back();
  if (tail.size() > 2000) tail = "..." + tail.substr(tail.size() - 2000);
  if (!tail.empty()) message += ": " + tail;
  return Error(ErrorCode::kInternal, std::move(message));
}

}  // namespace zoned::process
