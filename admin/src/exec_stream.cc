// Exec: a process in a container with its stdio on a bidirectional stream.
//
// Threads: the handler's thread waits for the process and sends the exit; an input thread
// reads client messages (stdin, resize, close_stdin, signal) and applies them to the session;
// the session's own thread delivers output through the sink. Writes to the stream are
// serialised by OutputWriter; only the input thread reads. A client that goes away (cancelled
// stream) gets its process killed. After the exit message the client is expected to close its
// side; one that does not is cancelled after kHalfCloseWait, so no handler thread stays behind.
#include <signal.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "streams.h"
#include "translate.h"
#include "zoned/common/log.h"

namespace zoned::admin {
namespace {

namespace zr = zone_runtime;
using Stream = grpc::ServerReaderWriter<v1::ExecServerMessage, v1::ExecClientMessage>;

constexpr size_t kMaxOutputChunk = 1024 * 1024;
constexpr std::chrono::milliseconds kWaitSlice{500};
constexpr std::chrono::seconds kKillWait{10};
constexpr std::chrono::seconds kHalfCloseWait{10};

class OutputWriter {
 public:
  explicit OutputWriter(Stream& stream) : stream_(stream) {}

  void output(int fd, std::string_view data) {
    std::lock_guard lock(mutex_);
    while (!data.empty()) {
      auto piece = data.substr(0, kMaxOutputChunk);
      data.remove_prefix(piece.size());
      v1::ExecServerMessage message;
      message.mutable_output()->set_fd(fd == 2 ? 2U : 1U);
      message.mutable_output()->set_data(std::string(piece));
      // A client that is gone is noticed by the handler (cancellation); drop the rest.
      if (!stream_.Write(message)) return;
    }
  }

  void exit(const zr::ExecResult& result) {
    std::lock_guard lock(mutex_);
    v1::ExecServerMessage message;
    message.mutable_exit()->set_exit_code(result.exit_code);
    message.mutable_exit()->set_signal(result.signal);
    stream_.Write(message);
  }

 private:
  Stream& stream_;
  std::mutex mutex_;
};

// Reads the client's messages on its own thread and applies them to the session.
class InputPump {
 public:
  InputPump(Stream& stream, grpc::ServerContext& ctx, zr::ExecSession& session, bool stdin_open)
      : stream_(stream), ctx_(ctx), session_(session), stdin_open_(stdin_open), thread_([this] { run(); }) {}

  ~InputPump() {
    if (!thread_.joinable()) return;
    ctx_.TryCancel();  // unblocks Read
    thread_.join();
  }
  InputPump(const InputPump&) = delete;
  InputPump& operator=(const InputPump&) = delete;

  // Waits for the client to close its side, cancelling the call if it takes too long.
  void finish() {
    std::unique_lock lock(mutex_);
    bool closed = done_cv_.wait_for(lock, kHalfCloseWait, [this] { return done_; });
    lock.unlock();
    if (!closed) ctx_.TryCancel();
    thread_.join();
  }

 private:
  void run() {
    v1::ExecClientMessage message;
    while (stream_.Read(&message)) apply(message);
    // The client closed its side (or went away): nothing more will come on stdin.
    if (stdin_open_ && !ctx_.IsCancelled()) note(session_.close_stdin(), "close_stdin");
    std::lock_guard lock(mutex_);
    done_ = true;
    done_cv_.notify_all();
  }

  void apply(const v1::ExecClientMessage& message) {
    switch (message.message_case()) {
      case v1::ExecClientMessage::kStdin:
        if (stdin_open_) note(session_.write_stdin(message.stdin()), "write_stdin");
        break;
      case v1::ExecClientMessage::kResize:
        note(session_.resize(message.resize().rows(), message.resize().cols()), "resize");
        break;
      case v1::ExecClientMessage::kCloseStdin:
        if (stdin_open_) note(session_.close_stdin(), "close_stdin");
        stdin_open_ = false;
        break;
      case v1::ExecClientMessage::kSignal:
        if (message.signal() >= 1 && message.signal() <= 64) {
          note(session_.signal(message.signal()), "signal");
        } else {
          log::warn("exec: ignoring an invalid signal number", {{"signal", message.signal()}});
        }
        break;
      case v1::ExecClientMessage::kStart:
      case v1::ExecClientMessage::MESSAGE_NOT_SET:
        log::warn("exec: ignoring a client message that is not stdin, resize, close_stdin or signal");
        break;
    }
  }

  // The process may end at any time, so failing to deliver input is not the call's failure.
  static void note(const Status& status, std::string_view what) {
    if (!status.ok()) log::debug("exec input not delivered", {{"op", what}, {"error", status.error().describe()}});
  }

  Stream& stream_;
  grpc::ServerContext& ctx_;
  zr::ExecSession& session_;
  bool stdin_open_;
  std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  std::thread thread_;  // last: starts after everything above is initialised
};

Result<zr::ExecResult> wait_for_exit(zr::ExecSession& session, grpc::ServerContext& ctx) {
  std::optional<std::chrono::steady_clock::time_point> killed_at;
  for (;;) {
    auto result = session.wait(kWaitSlice);
    if (!result.ok()) return std::move(result).take_error();
    if (result->has_value()) return std::move(**result);
    if (!ctx.IsCancelled()) continue;
    if (!killed_at) {
      log::info("exec: the client went away; killing its process");
      auto killed = session.signal(SIGKILL);
      if (!killed.ok()) log::warn("exec: cannot kill the process", {{"error", killed.error().describe()}});
      killed_at = std::chrono::steady_clock::now();
    } else if (std::chrono::steady_clock::now() - *killed_at > kKillWait) {
      return Error(ErrorCode::kCancelled, "the client went away and the process did not end after SIGKILL");
    }
  }
}

}  // namespace

Status run_exec(zr::ZoneManager& zones, grpc::ServerContext& ctx, Stream& stream) {
  v1::ExecClientMessage first;
  if (!stream.Read(&first)) return Error(ErrorCode::kCancelled, "the client closed the stream before ExecStart");
  if (!first.has_start()) return Error(ErrorCode::kInvalidArgument, "the first message must be ExecStart");
  const auto& start = first.start();
  if (start.container().empty()) return Error(ErrorCode::kInvalidArgument, "start.container is missing");
  auto request = from_proto(start);
  if (!request.ok()) return std::move(request).take_error();

  OutputWriter output(stream);
  auto session = zones.exec(*request, [&output](int fd, std::string_view data) { output.output(fd, data); });
  if (!session.ok()) return std::move(session).take_error();
  if (start.tty() && start.rows() > 0 && start.cols() > 0) {
    auto resized = (*session)->resize(start.rows(), start.cols());
    if (!resized.ok()) log::debug("exec: initial resize failed", {{"error", resized.error().describe()}});
  }

  InputPump input(stream, ctx, **session, start.stdin());
  auto result = wait_for_exit(**session, ctx);
  if (!result.ok()) return std::move(result).take_error();
  output.exit(*result);
  input.finish();
  return ok_status();
}

}  // namespace zoned::admin
