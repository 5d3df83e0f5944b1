// Client exec/attach sessions over SPDY (kubectl's stream layout: error, stdin, stdout,
// stderr, resize streams with a `streamtype` header) and over WebSocket (channel bytes).
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "client_internal.h"
#include "spdy_connection.h"
#include "status_json.h"
#include "websocket.h"

namespace zoned::streaming::client {
namespace {

std::string resize_json(uint16_t width, uint16_t height) {
  return "{\"Width\":" + std::to_string(width) + ",\"Height\":" + std::to_string(height) + "}";
}

// What both transports share: the error text, completion and the result.
class Completion {
 public:
  void error_data(std::string_view data) {
    std::lock_guard lock(mu_);
    if (error_.size() < 64 * 1024) error_.append(data);
  }
  void mark(bool& flag) {
    {
      std::lock_guard lock(mu_);
      flag = true;
    }
    cv_.notify_all();
  }
  bool error_done = false, outputs_done = false, connection_done = false;

  Result<CommandResult> wait(std::chrono::milliseconds timeout, bool json) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return connection_done || (error_done && outputs_done); })) {
      return Error(ErrorCode::kDeadlineExceeded, "command still running");
    }
    CommandResult result;
    if (error_.empty()) {
      if (!error_done) return Error(ErrorCode::kUnavailable, "connection closed before the command's status came");
      return result;  // channel.k8s.io: nothing means success
    }
    if (!json) {
      result.failed = true;
      result.message = error_;
      return result;
    }
    auto outcome = parse_status_json(error_);
    if (!outcome) return std::move(outcome).take_error();
    result.exit_code = outcome->exit_code;
    result.failed = outcome->failed;
    result.message = outcome->message;
    return result;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::string error_;
};

class SpdyCommandSession final : public CommandSession, public SpdyConnection::Handler {
 public:
  SpdyCommandSession(Upgraded up, const CommandOptions& options, OutputCallback out, OutputCallback err)
      : up_(std::move(up)),
        options_(options),
        conn_(*up_.socket, false, spdy::Limits{}, 16),
        on_stdout_(std::move(out)),
        on_stderr_(std::move(err)) {}
  ~SpdyCommandSession() override { abort(); }

  Status open_streams() {
    outputs_open_ = (options_.stdout ? 1 : 0) + (options_.stderr && !options_.tty ? 1 : 0);
    if (outputs_open_ == 0) done_.mark(done_.outputs_done);
    // Each id is filed before its SYN_STREAM goes out: the server starts the command once the
    // last stream exists, and its output may reach the reader before open_stream returns.
    auto open = [&](const char* type, std::optional<uint32_t>& slot) -> Status {
      auto id = conn_.open_stream({{"streamtype", type}}, false, [&](uint32_t new_id) {
        std::lock_guard lock(ids_mu_);
        slot = new_id;
      });
      return id ? ok_status() : std::move(id).take_error();
    };
    ZONED_TRY(open("error", error_id_));
    reader_ = std::thread([this] {
      (void)conn_.serve(*this, up_.leftover);
      done_.mark(done_.connection_done);
    });
    if (options_.stdin) ZONED_TRY(open("stdin", stdin_id_));
    if (options_.stdout) ZONED_TRY(open("stdout", stdout_id_));
    if (options_.stderr && !options_.tty) ZONED_TRY(open("stderr", stderr_id_));
    if (options_.tty) ZONED_TRY(open("resize", resize_id_));
    return ok_status();
  }

  const std::string& protocol() const override { return up_.protocol; }
  Status write_stdin(std::string_view data) override {
    const auto id = stream_id(stdin_id_);
    if (!id) return Error(ErrorCode::kFailedPrecondition, "no stdin stream");
    return conn_.send_data(*id, data, false);
  }
  Status close_stdin() override {
    const auto id = stream_id(stdin_id_);
    if (!id) return Error(ErrorCode::kFailedPrecondition, "no stdin stream");
    return conn_.send_data(*id, {}, true);
  }
  Status resize(uint16_t width, uint16_t height) override {
    const auto id = stream_id(resize_id_);
    if (!id) return Error(ErrorCode::kFailedPrecondition, "no resize stream (not a tty)");
    return conn_.send_data(*id, resize_json(width, height), false);
  }
  Result<CommandResult> wait(std::chrono::milliseconds timeout) override { return done_.wait(timeout, true); }
  void abort() override {
    conn_.stop();
    if (reader_.joinable()) reader_.join();
  }

  // Reader thread.
  void on_data(uint32_t id, std::string_view data) override {
    const auto type = stream_type(id);
    if (type == StreamType::kError) done_.error_data(data);
    if (type == StreamType::kStdout && on_stdout_) on_stdout_(data);
    if (type == StreamType::kStderr && on_stderr_) on_stderr_(data);
  }
  void on_remote_fin(uint32_t id) override {
    const auto type = stream_type(id);
    if (type == StreamType::kError) done_.mark(done_.error_done);
    if ((type == StreamType::kStdout || type == StreamType::kStderr) && --outputs_open_ == 0) {
      done_.mark(done_.outputs_done);
    }
  }
  void on_reset(uint32_t id) override { on_remote_fin(id); }

 private:
  enum class StreamType { kOther, kError, kStdout, kStderr };
  StreamType stream_type(uint32_t id) {
    std::lock_guard lock(ids_mu_);
    return error_id_ == id    ? StreamType::kError
           : stdout_id_ == id ? StreamType::kStdout
           : stderr_id_ == id ? StreamType::kStderr
                              : StreamType::kOther;
  }
  std::optional<uint32_t> stream_id(const std::optional<uint32_t>& slot) {
    std::lock_guard lock(ids_mu_);
    return slot;
  }

  Upgraded up_;
  CommandOptions options_;
  SpdyConnection conn_;
  OutputCallback on_stdout_, on_stderr_;
  std::mutex ids_mu_;  // the ids are filed by open_streams while the reader may already look
  std::optional<uint32_t> error_id_, stdin_id_, stdout_id_, stderr_id_, resize_id_;
  std::atomic<int> outputs_open_{0};
  Completion done_;
  std::thread reader_;
};

class WsCommandSession final : public CommandSession {
 public:
  WsCommandSession(Upgraded up, OutputCallback out, OutputCallback err)
      : up_(std::move(up)), on_stdout_(std::move(out)), on_stderr_(std::move(err)) {
    done_.outputs_done = true;
    reader_ = std::thread([this] { read_loop(); });
  }
  ~WsCommandSession() override { abort(); }

  const std::string& protocol() const override { return up_.protocol; }
  Status write_stdin(std::string_view data) override { return send(0, data); }
  Status close_stdin() override {
    if (up_.protocol != "v5.channel.k8s.io") {
      return Error(ErrorCode::kUnimplemented, "closing stdin needs v5.channel.k8s.io, not '" + up_.protocol + "'");
    }
    return send(255, std::string_view("\0", 1));
  }
  Status resize(uint16_t width, uint16_t height) override { return send(4, resize_json(width, height)); }
  Result<CommandResult> wait(std::chrono::milliseconds timeout) override {
    return done_.wait(timeout, up_.protocol != "channel.k8s.io" && !up_.protocol.empty());
  }
  void abort() override {
    up_.socket->shutdown_both();
    if (reader_.joinable()) reader_.join();
  }

 private:
  Status send(uint8_t channel, std::string_view data) {
    std::string message(1, static_cast<char>(channel));
    message.append(data);
    return up_.socket->write_all(ws::encode_frame(ws::Opcode::kBinary, message, true));
  }

  void read_loop() {
    ws::MessageReader reader(false, 16 * 1024 * 1024);
    reader.feed(up_.leftover);
    char buf[32 * 1024];
    while (true) {
      auto message = reader.next();
      if (!message) break;
      if (message->has_value()) {
        const ws::Message& m = **message;
        if (m.opcode == ws::Opcode::kClose) {
          (void)up_.socket->write_all(ws::encode_frame(ws::Opcode::kClose, m.data.substr(0, 2), true));
          done_.mark(done_.error_done);
          break;
        }
        if (m.opcode == ws::Opcode::kPing)
          (void)up_.socket->write_all(ws::encode_frame(ws::Opcode::kPong, m.data, true));
        if (m.opcode != ws::Opcode::kBinary || m.data.empty()) continue;
        const std::string_view data = std::string_view(m.data).substr(1);
        switch (m.data[0]) {
          case 1:
            if (on_stdout_ && !data.empty()) on_stdout_(data);
            break;
          case 2:
            if (on_stderr_ && !data.empty()) on_stderr_(data);
            break;
          case 3: done_.error_data(data); break;
          default: break;
        }
        continue;
      }
      auto got = up_.socket->read_some(buf, sizeof(buf), std::chrono::milliseconds(1000));
      if (!got) {
        if (got.error().code() == ErrorCode::kDeadlineExceeded) continue;
        break;
      }
      if (*got == 0) break;
      reader.feed(std::string_view(buf, *got));
    }
    done_.mark(done_.connection_done);
  }

  Upgraded up_;
  OutputCallback on_stdout_, on_stderr_;
  Completion done_;
  std::thread reader_;
};

}  // namespace

Result<std::unique_ptr<CommandSession>> CommandSession::start(const std::string& url, const CommandOptions& options,
                                                              OutputCallback on_stdout, OutputCallback on_stderr) {
  auto up = upgrade(url, options.transport, options.protocols, options.connect_timeout, options.tls);
  if (!up) return std::move(up).take_error();
  if (options.transport == Transport::kWebSocket) {
    return std::unique_ptr<CommandSession>(
        std::make_unique<WsCommandSession>(std::move(*up), std::move(on_stdout), std::move(on_stderr)));
  }
  auto session =
      std::make_unique<SpdyCommandSession>(std::move(*up), options, std::move(on_stdout), std::move(on_stderr));
  ZONED_TRY(session->open_streams());
  return std::unique_ptr<CommandSession>(std::move(session));
}

}  // namespace zoned::streaming::client
