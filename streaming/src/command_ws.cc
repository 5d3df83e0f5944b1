// remotecommand over WebSocket: binary messages whose first byte is the channel (0 stdin,
// 1 stdout, 2 stderr, 3 error, 4 resize; v5.channel.k8s.io adds 255 = close, whose next byte
// names the channel the client closed). As kubelet does, an empty message on the lowest
// writable channel tells the client the session is up.
#include <chrono>

#include "command_runner.h"
#include "handlers.h"
#include "websocket.h"
#include "zoned/common/log.h"

namespace zoned::streaming {
namespace {

using Clock = std::chrono::steady_clock;
constexpr uint8_t kStdin = 0, kStdout = 1, kStderr = 2, kError = 3, kResize = 4, kClose = 255;

class WsCommandSession final : public CommandOutput {
 public:
  WsCommandSession(ConnectionContext& ctx, const PendingRequest& request, const std::string& protocol)
      : ctx_(ctx),
        runner_(ctx.backend, request, *this, ctx.sessions),
        protocol_(protocol),
        streams_(std::holds_alternative<PendingExec>(request) ? std::get<PendingExec>(request).streams
                                                              : std::get<PendingAttach>(request).streams) {}

  void run() {
    const uint8_t first = streams_.stdout ? kStdout : streams_.stderr ? kStderr : kError;
    if (!send(first, {}).ok()) return;
    runner_.start();
    const Status status = read_loop();
    if (!status.ok()) {
      log::info("streaming: websocket session ended", {{"error", status.error().describe()}});
      (void)ctx_.socket.write_all(
          ws::encode_frame(ws::Opcode::kClose, ws::close_payload(1002, "protocol error"), false));
    }
    ctx_.socket.shutdown_both();
    runner_.abort();
  }

  void output(int fd, std::string_view data) override {
    if ((fd == 2 && streams_.stderr) || (fd == 1 && streams_.stdout)) (void)send(fd == 2 ? kStderr : kStdout, data);
  }

  void finish(const std::string& status_json, bool success) override {
    if (protocol_ == "v4.channel.k8s.io" || protocol_ == "v5.channel.k8s.io") {
      (void)send(kError, status_json);
    } else if (!success) {
      (void)send(kError, status_json);  // channel.k8s.io: an error text, nothing on success
    }
    (void)ctx_.socket.write_all(ws::encode_frame(ws::Opcode::kClose, ws::close_payload(1000, ""), false));
    linger_deadline_ns_ = (Clock::now() + std::chrono::seconds(5)).time_since_epoch().count();
  }

 private:
  Status send(uint8_t channel, std::string_view data) {
    std::string message(1, static_cast<char>(channel));
    message.append(data);
    return ctx_.socket.write_all(ws::encode_frame(ws::Opcode::kBinary, message, false));
  }

  Status read_loop() {
    ws::MessageReader reader(true, ctx_.options.max_frame_bytes);
    reader.feed(ctx_.leftover);
    char buf[16 * 1024];
    while (true) {
      while (true) {
        auto message = reader.next();
        if (!message) return std::move(message).take_error();
        if (!message->has_value()) break;
        bool closed = false;
        ZONED_TRY(handle(**message, closed));
        if (closed) return ok_status();
      }
      auto got = ctx_.socket.read_some(buf, sizeof(buf), std::chrono::milliseconds(200));
      if (!got) {
        if (got.error().code() != ErrorCode::kDeadlineExceeded) return ok_status();  // client gone
        const int64_t linger = linger_deadline_ns_;
        if (linger != 0 && Clock::now().time_since_epoch().count() > linger) return ok_status();
        continue;
      }
      if (*got == 0) return ok_status();
      reader.feed(std::string_view(buf, *got));
    }
  }

  Status handle(const ws::Message& message, bool& closed) {
    switch (message.opcode) {
      case ws::Opcode::kClose:
        closed = true;
        if (linger_deadline_ns_ == 0) {
          (void)ctx_.socket.write_all(ws::encode_frame(ws::Opcode::kClose, ws::close_payload(1000, ""), false));
        }
        return ok_status();
      case ws::Opcode::kPing: return ctx_.socket.write_all(ws::encode_frame(ws::Opcode::kPong, message.data, false));
      case ws::Opcode::kPong: return ok_status();
      case ws::Opcode::kText:
        return Error(ErrorCode::kInvalidArgument, "websocket: text message on a binary channel protocol");
      default: break;
    }
    if (message.data.empty()) return ok_status();
    const auto channel = static_cast<uint8_t>(message.data[0]);
    const std::string_view data = std::string_view(message.data).substr(1);
    if (channel == kStdin && streams_.stdin) {
      runner_.stdin_data(data);
    } else if (channel == kResize) {
      runner_.resize_bytes(data);
    } else if (channel == kClose && protocol_ == "v5.channel.k8s.io") {
      if (!data.empty() && static_cast<uint8_t>(data[0]) == kStdin) runner_.stdin_close();
    }
    return ok_status();  // other channels carry nothing from the client: ignored, as kubelet does
  }

  ConnectionContext& ctx_;
  CommandRunner runner_;
  std::string protocol_;
  ExecStreams streams_;
  std::atomic<int64_t> linger_deadline_ns_{0};
};

}  // namespace

void serve_command_ws(ConnectionContext& ctx, const PendingRequest& request, const std::string& protocol) {
  WsCommandSession session(ctx, request, protocol);
  session.run();
}

}  // namespace zoned::streaming
