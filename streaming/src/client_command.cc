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
    auto open = [&](const char* type) { return conn_.open_stream({{"streamtype", type}}, false); };
    auto error = open("error");
    if (!error) return std::move(error).take_error();
    error_id_ = *error;
    reader_ = std::thread([this] {
      (void)conn_.serve(*this, up_.leftover);
      done_.mark(done_.connection_done);
    });
    if (options_.stdin) {
      auto id = open("stdin");
      if (!id) return std::move(id).take_error();
      stdin_id_ = *id;
    }
    if (options_.stdout) {
      auto id = open("stdout");
      if (!id) return std::move(id).take_error();
      stdout_id_ = *id;
    }
    if (options_.stderr && !options_.tty) {
      auto id = open("stderr");
      if (!id) return std::move(id).take_error();
      stderr_id_ = *id;
    }
    if (options_.tty) {
      auto id = open("resize");
      if (!id) return std::move(id).take_error();
      resize_id_ = *id;
    }
    return ok_status();
  }

  const std::string& protocol() const override { return up_.protocol; }
  Status write_stdin(std::string_view data) override {
    if (!stdin_id_) return Error(ErrorCode::kFailedPrecondition, "no stdin stream");
    return conn_.send_data(*stdin_id_, data, false);
  }
  Status close_stdin() override {
    if (!stdin_id_) return Error(ErrorCode::kFailedPrecondition, "no stdin stream");
    return conn_.send_data(*stdin_id_, {}, true);
  }
  Status resize(uint16_t width, uint16_t height) override {
    if (!resize_id_) return Error(ErrorCode::kFailedPrecondition, "no resize stream (not a tty)");
    return conn_.send_data(*resize_id_, resize_json(width, height), false);
  }
  Result<CommandResult> wait(std::chrono::milliseconds timeout) override { return done_.wait(timeout, true); }
  void abort() override {
    conn_.stop();
    if (reader_.joinable()) reader_.join();
  }

  // Reader thread.
  void on_data(uint32_t id, std::string_view data) override {
    if (id == error_id_) done_.error_data(data);
    if (stdout_id_ == id && on_stdout_) on_stdout_(data);
    if (stderr_id_ == id && on_stderr_) on_stderr_(data);
  }
  void on_remote_fin(uint32_t id) override {
    if (id == error_id_) done_.mark(done_.error_done);
    if ((stdout_id_ == id || stderr_id_ == id) && --outputs_open_ == 0) done_.mark(done_.outputs_done);
  }
  void on_reset(uint32_t id) override { on_remote_fin(id); }

 private:
  Upgraded up_;
  CommandOptions options_;
  SpdyConnection conn_;
  OutputCallback on_stdout_, on_stderr_;
  uint32_t error_id_ = 0;
  std::optional<uint32_t> stdin_id_, stdout_id_, stderr_id_, resize_id_;
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
