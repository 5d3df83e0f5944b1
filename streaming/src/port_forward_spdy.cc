// portforward.k8s.io over SPDY: for each forwarded connection the client opens an error
// stream and a data stream carrying the same `port` and `requestID` headers. Once both exist
// the backend dials the port inside the pod; a pump thread copies pod -> client, the reader
// thread client -> pod. A failed dial is reported as text on the error stream.
#include <charconv>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "handlers.h"
#include "spdy_connection.h"
#include "zoned/common/log.h"

namespace zoned::streaming {
namespace {

struct Forward {
  uint16_t port = 0;
  std::optional<uint32_t> data_id, error_id;
  std::shared_ptr<PortConnection> conn;
  std::thread pump;
  std::atomic<bool> done{false};
};

std::optional<uint16_t> parse_port(std::string_view text) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value == 0 || value > 65535) return std::nullopt;
  return static_cast<uint16_t>(value);
}

class SpdyPortForwardSession final : public SpdyConnection::Handler {
 public:
  SpdyPortForwardSession(ConnectionContext& ctx, std::string pod)
      : ctx_(ctx),
        pod_(std::move(pod)),
        conn_(ctx.socket, true, spdy::Limits{ctx.options.max_frame_bytes, ctx.options.max_header_block_bytes, 100},
              ctx.options.max_streams_per_connection) {}

  void run() {
    const Status status = conn_.serve(*this, ctx_.leftover);
    if (!status.ok()) log::info("streaming: port-forward connection ended", {{"error", status.error().describe()}});
    conn_.stop();
    for (auto& [request_id, forward] : forwards_) end_forward(*forward);
    forwards_.clear();
  }

  bool on_stream(uint32_t id, const spdy::Headers& headers, bool /*fin*/) override {
    reap();
    const auto type = spdy::find_header(headers, "streamtype").value_or("");
    const auto port = parse_port(spdy::find_header(headers, "port").value_or(""));
    if ((type != "data" && type != "error") || !port) return false;
    // Clients before requestID paired the streams by id: error n, data n+2.
    std::string request_id(spdy::find_header(headers, "requestid").value_or(""));
    if (request_id.empty()) request_id = "id:" + std::to_string(type == "error" ? id : id - 2);
    auto& forward = forwards_[request_id];
    if (!forward) forward = std::make_unique<Forward>();
    auto& slot = type == "data" ? forward->data_id : forward->error_id;
    if (slot || (forward->port != 0 && forward->port != *port)) return false;
    if (!conn_.reply(id, {}, false).ok()) return false;
    slot = id;
    forward->port = *port;
    by_stream_[id] = forward.get();
    if (forward->data_id && forward->error_id) start(*forward);
    return true;
  }

  void on_data(uint32_t id, std::string_view data) override {
    Forward* f = find(id);
    if (f == nullptr || f->data_id != id || !f->conn) return;
    if (!f->conn->write(data).ok()) f->conn->close();
  }
  void on_remote_fin(uint32_t id) override {
    Forward* f = find(id);
    if (f != nullptr && f->data_id == id && f->conn) (void)f->conn->close_write();
  }
  void on_reset(uint32_t id) override {
    Forward* f = find(id);
    if (f != nullptr && f->conn) f->conn->close();
  }

 private:
  Forward* find(uint32_t id) {
    auto it = by_stream_.find(id);
    return it == by_stream_.end() ? nullptr : it->second;
  }

  void start(Forward& f) {
    auto dialed = ctx_.backend.dial(pod_, f.port);
    if (!dialed) {
      const std::string message =
          "error forwarding port " + std::to_string(f.port) + " to pod " + pod_ + ": " + dialed.error().describe();
      (void)conn_.send_data(*f.error_id, message, true);
      (void)conn_.send_data(*f.data_id, {}, true);
      f.done = true;
      return;
    }
    f.conn = std::move(*dialed);
    ++ctx_.sessions;
    f.pump = std::thread([this, &f] { pump(f); });
  }

  void pump(Forward& f) {
    char buf[32 * 1024];
    while (true) {
      auto got = f.conn->read(buf, sizeof(buf));
      if (!got || *got == 0) break;
      if (!conn_.send_data(*f.data_id, std::string_view(buf, *got), false).ok()) break;
    }
    (void)conn_.send_data(*f.data_id, {}, true);
    (void)conn_.send_data(*f.error_id, {}, true);
    f.done = true;
  }

  void end_forward(Forward& f) {
    if (f.conn) f.conn->close();
    if (f.pump.joinable()) f.pump.join();
    if (f.conn) --ctx_.sessions;
    f.conn.reset();
  }

  // Forwards whose pod side ended and whose client side finished are dropped.
  void reap() {
    for (auto it = forwards_.begin(); it != forwards_.end();) {
      Forward& f = *it->second;
      if (!f.done) {
        ++it;
        continue;
      }
      end_forward(f);
      if (f.data_id) by_stream_.erase(*f.data_id);
      if (f.error_id) by_stream_.erase(*f.error_id);
      it = forwards_.erase(it);
    }
  }

  ConnectionContext& ctx_;
  std::string pod_;
  SpdyConnection conn_;
  std::map<std::string, std::unique_ptr<Forward>> forwards_;  // by requestID
  std::map<uint32_t, Forward*> by_stream_;
};

}  // namespace

void serve_port_forward_spdy(ConnectionContext& ctx, const std::string& pod_sandbox_id) {
  SpdyPortForwardSession session(ctx, pod_sandbox_id);
  session.run();
}

}  // namespace zoned::streaming
