// Port forwarding over WebSocket (kubelet's websocket port-forward): the ports come from the
// query (?port=80&port=8080); port i uses channel 2i for data and 2i+1 for errors, and the
// first message the server sends on each channel is the port, 2 bytes little endian. Each
// port gets one connection, dialled when the session opens; the session ends when all of
// them ended or the client closes.
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "handlers.h"
#include "websocket.h"
#include "zoned/common/log.h"

namespace zoned::streaming {
namespace {

struct WsForward {
  uint16_t port = 0;
  std::unique_ptr<PortConnection> conn;
  std::thread pump;
};

class WsPortForwardSession {
 public:
  WsPortForwardSession(ConnectionContext& ctx, std::string pod, const std::vector<uint16_t>& ports)
      : ctx_(ctx), pod_(std::move(pod)), forwards_(ports.size()) {
    for (size_t i = 0; i < ports.size(); ++i) forwards_[i].port = ports[i];
  }

  void run() {
    for (size_t i = 0; i < forwards_.size(); ++i) open(i);
    if (ended_ == forwards_.size()) {  // every dial failed
      (void)ctx_.socket.write_all(ws::encode_frame(ws::Opcode::kClose, ws::close_payload(1000, ""), false));
      closing_ = true;
    }
    const Status status = read_loop();
    if (!status.ok()) {
      log::info("streaming: websocket port-forward ended", {{"error", status.error().describe()}});
      (void)ctx_.socket.write_all(
          ws::encode_frame(ws::Opcode::kClose, ws::close_payload(1002, "protocol error"), false));
    }
    ctx_.socket.shutdown_both();
    for (auto& f : forwards_) {
      if (f.conn) f.conn->close();
      if (f.pump.joinable()) f.pump.join();
      if (f.conn) --ctx_.sessions;
    }
  }

 private:
  Status send(size_t channel, std::string_view data) {
    std::string message(1, static_cast<char>(channel));
    message.append(data);
    return ctx_.socket.write_all(ws::encode_frame(ws::Opcode::kBinary, message, false));
  }

  void open(size_t i) {
    WsForward& f = forwards_[i];
    const char port_le[2] = {static_cast<char>(f.port & 0xff), static_cast<char>(f.port >> 8)};
    (void)send(2 * i, std::string_view(port_le, 2));
    (void)send(2 * i + 1, std::string_view(port_le, 2));
    auto dialed = ctx_.backend.dial(pod_, f.port);
    if (!dialed) {
      (void)send(2 * i + 1, "error forwarding port " + std::to_string(f.port) + " to pod " + pod_ + ": " +
                                dialed.error().describe());
      ++ended_;
      return;
    }
    f.conn = std::move(*dialed);
    ++ctx_.sessions;
    f.pump = std::thread([this, i] { pump(i); });
  }

  void pump(size_t i) {
    char buf[32 * 1024];
    while (true) {
      auto got = forwards_[i].conn->read(buf, sizeof(buf));
      if (!got || *got == 0) break;
      if (!send(2 * i, std::string_view(buf, *got)).ok()) break;
    }
    if (++ended_ == forwards_.size()) {
      (void)ctx_.socket.write_all(ws::encode_frame(ws::Opcode::kClose, ws::close_payload(1000, ""), false));
      closing_ = true;
    }
  }

  Status read_loop() {
    ws::MessageReader reader(true, ctx_.options.max_frame_bytes);
    reader.feed(ctx_.leftover);
    char buf[32 * 1024];
    const auto tick = std::chrono::milliseconds(200);
    int linger_ticks = 25;
    while (true) {
      while (true) {
        auto message = reader.next();
        if (!message) return std::move(message).take_error();
        if (!message->has_value()) break;
        const ws::Message& m = **message;
        if (m.opcode == ws::Opcode::kClose) {
          if (!closing_) (void)ctx_.socket.write_all(ws::encode_frame(ws::Opcode::kClose, m.data.substr(0, 2), false));
          return ok_status();
        }
        if (m.opcode == ws::Opcode::kPing)
          ZONED_TRY(ctx_.socket.write_all(ws::encode_frame(ws::Opcode::kPong, m.data, false)));
        if (m.opcode != ws::Opcode::kBinary || m.data.empty()) continue;
        const auto channel = static_cast<uint8_t>(m.data[0]);
        if (channel % 2 != 0 || channel / 2 >= forwards_.size()) continue;  // error channels: nothing to read
        auto& conn = forwards_[channel / 2].conn;
        if (conn && !conn->write(std::string_view(m.data).substr(1)).ok()) conn->close();
      }
      auto got = ctx_.socket.read_some(buf, sizeof(buf), tick);
      if (!got) {
        if (got.error().code() != ErrorCode::kDeadlineExceeded) return ok_status();
        if (closing_ && --linger_ticks <= 0) return ok_status();
        continue;
      }
      if (*got == 0) return ok_status();
      reader.feed(std::string_view(buf, *got));
    }
  }

  ConnectionContext& ctx_;
  std::string pod_;
  std::vector<WsForward> forwards_;
  std::atomic<size_t> ended_{0};
  std::atomic<bool> closing_{false};
};

}  // namespace

void serve_port_forward_ws(ConnectionContext& ctx, const std::string& pod_sandbox_id,
                           const std::vector<uint16_t>& ports) {
  WsPortForwardSession session(ctx, pod_sandbox_id, ports);
  session.run();
}

}  // namespace zoned::streaming
