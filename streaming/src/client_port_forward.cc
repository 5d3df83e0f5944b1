// Client port-forward sessions: over SPDY each open() creates an error stream and a data
// stream with `port` and `requestID` headers (kubectl's layout); over WebSocket the ports are
// fixed in the URL, channel 2i/2i+1 carry port i's data/errors after a 2-byte port prefix.
#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "client_internal.h"
#include "spdy_connection.h"
#include "websocket.h"

namespace zoned::streaming::client {
namespace {

struct StreamState {
  ByteQueue data;
  std::mutex error_mu;
  std::string error;
  void add_error(std::string_view text) {
    std::lock_guard lock(error_mu);
    if (error.size() < 64 * 1024) error.append(text);
  }
};

class QueuedStream final : public ForwardStream {
 public:
  using Writer = std::function<Status(std::string_view data, bool fin)>;
  QueuedStream(std::shared_ptr<StreamState> state, Writer writer)
      : state_(std::move(state)), writer_(std::move(writer)) {}
  Status write(std::string_view data) override { return writer_(data, false); }
  Status close_write() override { return writer_({}, true); }
  Result<size_t> read(char* buf, size_t n, std::chrono::milliseconds timeout) override {
    return state_->data.pop(buf, n, timeout);
  }
  std::string error_text() override {
    std::lock_guard lock(state_->error_mu);
    return state_->error;
  }

 private:
  std::shared_ptr<StreamState> state_;
  Writer writer_;
};

class SpdyPortForward final : public PortForwardSession, public SpdyConnection::Handler {
 public:
  explicit SpdyPortForward(Upgraded up) : up_(std::move(up)), conn_(*up_.socket, false, spdy::Limits{}, 256) {
    reader_ = std::thread([this] {
      (void)conn_.serve(*this, up_.leftover);
      std::lock_guard lock(mu_);
      for (auto& [id, state] : data_streams_) state->data.finish();
    });
  }
  ~SpdyPortForward() override { close(); }

  Result<std::unique_ptr<ForwardStream>> open(uint16_t port) override {
    const std::string request_id = std::to_string(next_request_++);
    auto state = std::make_shared<StreamState>();
    const spdy::Headers base = {{"port", std::to_string(port)}, {"requestid", request_id}};
    spdy::Headers error_headers = base, data_headers = base;
    error_headers.emplace_back("streamtype", "error");
    data_headers.emplace_back("streamtype", "data");
    // Each stream is filed before its SYN_STREAM goes out: the server dials once both exist,
    // and a service that speaks first (SSH, SMTP) may answer before open_stream returns.
    auto file = [&](std::map<uint32_t, std::shared_ptr<StreamState>>& streams) {
      return [&, state](uint32_t id) {
        std::lock_guard lock(mu_);
        streams[id] = state;
      };
    };
    std::lock_guard open_lock(open_mu_);
    auto error_id = conn_.open_stream(error_headers, true, file(error_streams_));  // the client never writes errors
    if (!error_id) return std::move(error_id).take_error();
    auto data_id = conn_.open_stream(data_headers, false, file(data_streams_));
    if (!data_id) return std::move(data_id).take_error();
    const uint32_t id = *data_id;
    return std::unique_ptr<ForwardStream>(std::make_unique<QueuedStream>(
        state, [this, id](std::string_view data, bool fin) { return conn_.send_data(id, data, fin); }));
  }

  void close() override {
    conn_.stop();
    if (reader_.joinable()) reader_.join();
  }

  void on_data(uint32_t id, std::string_view data) override {
    if (auto s = find(data_streams_, id)) s->data.push(data);
    if (auto s = find(error_streams_, id)) s->add_error(data);
  }
  void on_remote_fin(uint32_t id) override {
    if (auto s = find(data_streams_, id)) s->data.finish();
  }
  void on_reset(uint32_t id) override { on_remote_fin(id); }

 private:
  std::shared_ptr<StreamState> find(std::map<uint32_t, std::shared_ptr<StreamState>>& streams, uint32_t id) {
    std::lock_guard lock(mu_);
    auto it = streams.find(id);
    return it == streams.end() ? nullptr : it->second;
  }

  Upgraded up_;
  SpdyConnection conn_;
  std::mutex mu_, open_mu_;
  std::map<uint32_t, std::shared_ptr<StreamState>> data_streams_, error_streams_;
  std::atomic<uint64_t> next_request_{0};
  std::thread reader_;
};

class WsPortForward final : public PortForwardSession {
 public:
  WsPortForward(Upgraded up, std::vector<uint16_t> ports) : up_(std::move(up)), ports_(std::move(ports)) {
    for (size_t i = 0; i < ports_.size(); ++i) states_.push_back(std::make_shared<StreamState>());
    prefix_seen_.assign(ports_.size() * 2, false);
    reader_ = std::thread([this] { read_loop(); });
  }
  ~WsPortForward() override { close(); }

  Result<std::unique_ptr<ForwardStream>> open(uint16_t port) override {
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < ports_.size(); ++i) {
      if (ports_[i] != port || handed_out_.count(i) != 0) continue;
      handed_out_.insert({i, true});
      const auto channel = static_cast<char>(2 * i);
      return std::unique_ptr<ForwardStream>(
          std::make_unique<QueuedStream>(states_[i], [this, channel](std::string_view data, bool fin) -> Status {
            if (fin) return Error(ErrorCode::kUnimplemented, "websocket port-forward has no half-close");
            std::string message(1, channel);
            message.append(data);
            return up_.socket->write_all(ws::encode_frame(ws::Opcode::kBinary, message, true));
          }));
    }
    return Error(ErrorCode::kNotFound, "port " + std::to_string(port) + " was not requested (or is in use)");
  }

  void close() override {
    up_.socket->shutdown_both();
    if (reader_.joinable()) reader_.join();
  }

 private:
  void read_loop() {
    ws::MessageReader reader(false, 16 * 1024 * 1024);
    reader.feed(up_.leftover);
    char buf[32 * 1024];
    while (true) {
      auto message = reader.next();
      if (!message) break;
      if (message->has_value()) {
        if (!dispatch(**message)) break;
        continue;
      }
      auto got = up_.socket->read_some(buf, sizeof(buf), std::chrono::milliseconds(1000));
      if (!got && got.error().code() == ErrorCode::kDeadlineExceeded) continue;
      if (!got || *got == 0) break;
      reader.feed(std::string_view(buf, *got));
    }
    for (auto& s : states_) s->data.finish();
  }

  bool dispatch(const ws::Message& m) {
    if (m.opcode == ws::Opcode::kClose) {
      (void)up_.socket->write_all(ws::encode_frame(ws::Opcode::kClose, m.data.substr(0, 2), true));
      return false;
    }
    if (m.opcode != ws::Opcode::kBinary || m.data.empty()) return true;
    const auto channel = static_cast<uint8_t>(m.data[0]);
    if (channel / 2 >= ports_.size()) return true;
    std::string_view data = std::string_view(m.data).substr(1);
    if (!prefix_seen_[channel]) {  // the first message on each channel starts with the port
      if (data.size() < 2) return true;
      prefix_seen_[channel] = true;
      data.remove_prefix(2);
    }
    auto& state = *states_[channel / 2];
    if (channel % 2 == 0) {
      state.data.push(data);
    } else {
      state.add_error(data);
    }
    return true;
  }

  Upgraded up_;
  std::vector<uint16_t> ports_;
  std::vector<std::shared_ptr<StreamState>> states_;
  std::vector<bool> prefix_seen_;
  std::mutex mu_;
  std::map<size_t, bool> handed_out_;
  std::thread reader_;
};

}  // namespace

Result<std::unique_ptr<PortForwardSession>> PortForwardSession::connect_spdy(const std::string& url,
                                                                             std::chrono::milliseconds timeout,
                                                                             const TlsOptions& tls) {
  auto up = upgrade(url, Transport::kSpdy, {"portforward.k8s.io"}, timeout, tls);
  if (!up) return std::move(up).take_error();
  return std::unique_ptr<PortForwardSession>(std::make_unique<SpdyPortForward>(std::move(*up)));
}

Result<std::unique_ptr<PortForwardSession>> PortForwardSession::connect_websocket(const std::string& url,
                                                                                  const std::vector<uint16_t>& ports,
                                                                                  std::chrono::milliseconds timeout,
                                                                                  const TlsOptions& tls) {
  std::string full = url + (url.find('?') == std::string::npos ? "?" : "&");
  for (size_t i = 0; i < ports.size(); ++i) full += (i == 0 ? "port=" : "&port=") + std::to_string(ports[i]);
  auto up = upgrade(full, Transport::kWebSocket, {"portforward.k8s.io"}, timeout, tls);
  if (!up) return std::move(up).take_error();
  return std::unique_ptr<PortForwardSession>(std::make_unique<WsPortForward>(std::move(*up), ports));
}

}  // namespace zoned::streaming::client
