#include "command_runner.h"

#include <csignal>
#include <nlohmann/json.hpp>

#include "status_json.h"
#include "zoned/common/log.h"

namespace zoned::streaming {
namespace {
constexpr size_t kMaxResizeBuffer = 4096;
constexpr auto kWaitSlice = std::chrono::milliseconds(100);
}  // namespace

CommandRunner::CommandRunner(StreamingBackend& backend, const PendingRequest& request, CommandOutput& out,
                             std::atomic<size_t>& sessions)
    : backend_(backend), request_(request), out_(out), sessions_(sessions) {}

CommandRunner::~CommandRunner() {
  abort();
}

void CommandRunner::start() {
  auto sink = [this](int fd, std::string_view data) {
    if (!cancelled_) out_.output(fd, data);
  };
  Status started = ok_status();
  if (const auto* exec = std::get_if<PendingExec>(&request_)) {
    auto session = backend_.exec(exec->request, sink);
    if (session) {
      std::lock_guard lock(session_mu_);
      exec_ = std::move(*session);
    } else {
      started = std::move(session).take_error();
    }
  } else if (const auto* attach = std::get_if<PendingAttach>(&request_)) {
    auto session = backend_.attach(attach->request, sink);
    if (session) {
      std::lock_guard lock(session_mu_);
      attach_ = std::move(*session);
    } else {
      started = std::move(session).take_error();
    }
  }
  if (!started.ok()) {
    finished_ = true;
    out_.finish(failure_status_json(started.error().describe()), false);
    return;
  }
  ++sessions_;
  waiter_ = std::thread([this] { wait_loop(); });
}

void CommandRunner::wait_loop() {
  std::string status;
  bool success = false;
  while (!cancelled_) {
    if (exec_) {
      auto result = exec_->wait(kWaitSlice);
      if (!result) {
        status = failure_status_json(result.error().describe());
        break;
      }
      if (!result->has_value()) continue;
      const auto& r = **result;
      success = r.exit_code == 0;
      status = success ? success_status_json() : exit_code_status_json(r.exit_code);
      break;
    }
    auto ended = attach_->wait(kWaitSlice);
    if (!ended) {
      status = failure_status_json(ended.error().describe());
      break;
    }
    if (*ended) {
      success = true;
      status = success_status_json();
      break;
    }
  }
  if (!cancelled_) out_.finish(status, success);
  finished_ = true;
}

void CommandRunner::stdin_data(std::string_view data) {
  std::lock_guard lock(session_mu_);
  if (stdin_closed_) return;
  const Status st = exec_ ? exec_->write_stdin(data) : attach_ ? attach_->write_stdin(data) : ok_status();
  if (!st.ok()) log::debug("streaming: stdin write failed", {{"error", st.error().describe()}});
}

void CommandRunner::stdin_close() {
  std::lock_guard lock(session_mu_);
  if (stdin_closed_) return;
  stdin_closed_ = true;
  if (exec_) (void)exec_->close_stdin();
  if (attach_) (void)attach_->close_stdin();
}

Status CommandRunner::resize(uint32_t rows, uint32_t cols) {
  std::lock_guard lock(session_mu_);
  if (exec_) return exec_->resize(rows, cols);
  if (attach_) return attach_->resize(rows, cols);
  return ok_status();
}

void CommandRunner::resize_bytes(std::string_view data) {
  resize_buffer_.append(data);
  // Take out each complete top-level JSON object (strings may hold braces).
  while (true) {
    int depth = 0;
    bool in_string = false, escaped = false;
    size_t start = resize_buffer_.find('{'), end = std::string::npos;
    if (start == std::string::npos) {
      resize_buffer_.clear();
      return;
    }
    for (size_t i = start; i < resize_buffer_.size() && end == std::string::npos; ++i) {
      const char c = resize_buffer_[i];
      if (in_string) {
        escaped = !escaped && c == '\\';
        if (c == '"' && !escaped) in_string = false;
        if (c != '\\') escaped = false;
      } else if (c == '"') {
        in_string = true;
      } else if (c == '{') {
        ++depth;
      } else if (c == '}' && --depth == 0) {
        end = i;
      }
    }
    if (end == std::string::npos) {
      if (resize_buffer_.size() > kMaxResizeBuffer) resize_buffer_.clear();  // garbage: drop it
      return;
    }
    auto doc = nlohmann::json::parse(resize_buffer_.substr(start, end - start + 1), nullptr, false);
    resize_buffer_.erase(0, end + 1);
    if (doc.is_discarded() || !doc.is_object()) continue;
    const auto width = doc.value("Width", int64_t{-1}), height = doc.value("Height", int64_t{-1});
    if (width < 0 || height < 0 || width > 65535 || height > 65535) continue;
    (void)resize(static_cast<uint32_t>(height), static_cast<uint32_t>(width));
  }
}

void CommandRunner::abort() {
  if (!finished_) {
    std::lock_guard lock(session_mu_);
    cancelled_ = true;
    if (exec_) {
      if (!stdin_closed_) (void)exec_->close_stdin();
      (void)exec_->signal(SIGKILL);
    }
  }
  cancelled_ = true;
  if (waiter_.joinable()) waiter_.join();
  std::lock_guard lock(session_mu_);
  if (exec_ || attach_) --sessions_;
  exec_.reset();
  attach_.reset();  // detaches
}

}  // namespace zoned::streaming
