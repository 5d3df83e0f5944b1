// StreamingServer: accept loop, per-connection threads, HTTP routing, token lookup and the
// protocol upgrade (SPDY/3.1 or WebSocket) before handing over to a session (handlers.h).
#include "zoned/streaming/server.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <list>
#include <mutex>
#include <thread>

#include "handlers.h"
#include "http.h"
#include "socket.h"
#include "tls.h"
#include "token_cache.h"
#include "websocket.h"
#include "zoned/common/log.h"

namespace zoned::streaming {
namespace {

const std::vector<std::string> kSpdyCommandProtocols = {"v5.channel.k8s.io", "v4.channel.k8s.io"};
const std::vector<std::string> kWsCommandProtocols = {"v5.channel.k8s.io", "v4.channel.k8s.io", "channel.k8s.io"};
const std::vector<std::string> kWsPortForwardProtocols = {"portforward.k8s.io", "v4.channel.k8s.io", "channel.k8s.io"};

// The first protocol the client lists that we support (kubelet's negotiation), or nullopt.
std::optional<std::string> negotiate(const std::vector<std::string>& offered, const std::vector<std::string>& ours) {
  for (const auto& p : offered) {
    if (std::find(ours.begin(), ours.end(), p) != ours.end()) return p;
  }
  return std::nullopt;
}

bool has_token(const std::vector<std::string>& tokens, std::string_view want) {
  return std::any_of(tokens.begin(), tokens.end(), [&](const std::string& t) { return lower(t) == want; });
}

struct Connection {
  std::unique_ptr<Socket> socket;
  std::thread thread;
  std::atomic<bool> done{false};
};

class StreamingServerImpl final : public StreamingServer {
 public:
  StreamingServerImpl(const StreamingServerOptions& options, StreamingBackend& backend, UniqueFd listener,
                      std::string base_url, std::shared_ptr<TlsContext> tls)
      : options_(options),
        backend_(backend),
        tls_(std::move(tls)),
        listener_(std::move(listener)),
        wake_(::eventfd(0, EFD_CLOEXEC)),
        base_url_(std::move(base_url)),
        tokens_(options.token_ttl, options.max_pending_requests) {
    accept_thread_ = std::thread([this] { accept_loop(); });
  }
  ~StreamingServerImpl() override { stop(); }

  Result<std::string> request_exec(const ExecRequest& request, const ExecStreams& streams) override {
    if (request.args.empty()) return Error(ErrorCode::kInvalidArgument, "exec: empty command");
    auto s = normalize(streams);
    if (!s) return std::move(s).take_error();
    auto token = tokens_.insert(PendingExec{request, *s});
    if (!token) return std::move(token).take_error();
    return base_url_ + "/exec/" + *token;
  }
  Result<std::string> request_attach(const AttachRequest& request, const ExecStreams& streams) override {
    auto s = normalize(streams);
    if (!s) return std::move(s).take_error();
    auto token = tokens_.insert(PendingAttach{request, *s});
    if (!token) return std::move(token).take_error();
    return base_url_ + "/attach/" + *token;
  }
  Result<std::string> request_port_forward(const std::string& pod_sandbox_id) override {
    if (pod_sandbox_id.empty()) return Error(ErrorCode::kInvalidArgument, "port-forward: empty pod sandbox id");
    auto token = tokens_.insert(PendingPortForward{pod_sandbox_id});
    if (!token) return std::move(token).take_error();
    return base_url_ + "/portforward/" + *token;
  }

  std::string base_url() const override { return base_url_; }

  ServerStats stats() const override {
    ServerStats s;
    {
      std::lock_guard lock(mu_);
      for (const auto& c : connections_)
        if (!c->done) ++s.connections;
    }
    s.pending_requests = tokens_.size();
    s.sessions = sessions_;
    return s;
  }

  void stop() override {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    const uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof(one));
    if (accept_thread_.joinable()) accept_thread_.join();
    std::list<std::unique_ptr<Connection>> all;
    {
      std::lock_guard lock(mu_);
      for (auto& c : connections_) c->socket->shutdown_both();
      all.swap(connections_);
    }
    for (auto& c : all) c->thread.join();
  }

 private:
  static Result<ExecStreams> normalize(ExecStreams s) {
    if (s.tty) s.stderr = false;  // kubelet: a tty has one output stream
    if (!s.stdin && !s.stdout && !s.stderr) {
      return Error(ErrorCode::kInvalidArgument, "one of stdin, stdout or stderr must be requested");
    }
    return s;
  }

  void accept_loop() {
    while (true) {
      pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
      if (::poll(fds, 2, 1000) < 0 && errno != EINTR) break;
      reap();
      if ((fds[1].revents & POLLIN) != 0) break;
      if ((fds[0].revents & POLLIN) == 0) continue;
      UniqueFd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!fd.valid()) continue;
      auto socket = std::make_unique<Socket>(std::move(fd));
      std::lock_guard lock(mu_);
      if (stopping_) break;
      if (connections_.size() >= options_.max_connections) {
        // Plain HTTP gets an answer; over TLS that would need a handshake here: just closed.
        if (!tls_)
          (void)socket->write_all(http_error_response(503, "Service Unavailable", "too many streaming connections"));
        log::warn("streaming: connection refused: too many connections", {{"max", options_.max_connections}});
        continue;
      }
      auto conn = std::make_unique<Connection>();
      conn->socket = std::move(socket);
      Connection* c = conn.get();
      connections_.push_back(std::move(conn));
      c->thread = std::thread([this, c] {
        serve(*c->socket);
        c->socket->shutdown_both();
        c->done = true;
      });
    }
  }

  void reap() {
    std::list<std::unique_ptr<Connection>> finished;
    {
      std::lock_guard lock(mu_);
      for (auto it = connections_.begin(); it != connections_.end();) {
        if ((*it)->done) {
          finished.push_back(std::move(*it));
          it = connections_.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (auto& c : finished) c->thread.join();
  }

  void reject(Socket& socket, int code, std::string_view reason, std::string_view body) {
    log::info("streaming: request refused", {{"code", code}, {"reason", std::string(body)}});
    (void)socket.write_all(http_error_response(code, reason, body));
    // Drain what the client still sends (briefly, bounded) so that closing does not reset the
    // connection and destroy the response before the client read it.
    socket.shutdown_write();
    char buf[4096];
    for (int i = 0; i < 16; ++i) {
      auto got = socket.read_some(buf, sizeof(buf), std::chrono::milliseconds(100));
      if (!got || *got == 0) break;
    }
  }

  void serve(Socket& socket) {
    if (tls_) {
      auto handshake = socket.start_tls(*tls_, true, "", options_.handshake_timeout);
      if (!handshake.ok()) {
        log::info("streaming: TLS handshake failed", {{"error", handshake.error().describe()}});
        return;
      }
    }
    ConnectionContext ctx{socket, options_, backend_, sessions_, {}};
    auto head = read_http_head(socket, true, options_.handshake_timeout, ctx.leftover);
    if (!head) {
      if (head.error().code() == ErrorCode::kInvalidArgument)
        reject(socket, 400, "Bad Request", head.error().message());
      return;
    }
    const std::string_view path = head->path;
    const size_t slash = path.find('/', 1);
    const std::string_view kind = path.substr(1, slash == std::string_view::npos ? slash : slash - 1);
    const std::string token = slash == std::string_view::npos ? std::string() : std::string(path.substr(slash + 1));
    if ((kind != "exec" && kind != "attach" && kind != "portforward") || token.empty() ||
        token.find('/') != std::string::npos) {
      return reject(socket, 404, "Not Found", "no such streaming endpoint");
    }
    if (head->method != "GET" && head->method != "POST")
      return reject(socket, 405, "Method Not Allowed", "use GET or POST");
    auto pending = tokens_.consume(token);
    const bool kind_matches =
        pending && ((kind == "exec" && std::holds_alternative<PendingExec>(*pending)) ||
                    (kind == "attach" && std::holds_alternative<PendingAttach>(*pending)) ||
                    (kind == "portforward" && std::holds_alternative<PendingPortForward>(*pending)));
    if (!kind_matches) return reject(socket, 404, "Not Found", "unknown, used or expired token");
    const auto upgrade = head->header_tokens("upgrade");
    if (has_token(upgrade, "websocket")) return upgrade_websocket(ctx, *head, *pending);
    if (has_token(upgrade, "spdy/3.1")) return upgrade_spdy(ctx, *head, *pending);
    reject(socket, 400, "Bad Request", "upgrade to SPDY/3.1 or websocket required");
  }

  void upgrade_spdy(ConnectionContext& ctx, const HttpHead& head, const PendingRequest& pending) {
    std::vector<std::string> offered = head.header_tokens("x-stream-protocol-version");
    const bool port_forward = std::holds_alternative<PendingPortForward>(pending);
    const std::vector<std::string> ours =
        port_forward ? std::vector<std::string>{"portforward.k8s.io"} : kSpdyCommandProtocols;
    const auto chosen = negotiate(offered, ours);
    if (!chosen) {
      std::string offered_text;
      for (const auto& p : offered) offered_text += (offered_text.empty() ? "" : ", ") + p;
      return reject(ctx.socket, 403, "Forbidden",
                    "unable to upgrade: unable to negotiate protocol: client supports [" + offered_text + "]");
    }
    const std::string response =
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
        "X-Stream-Protocol-Version: " +
        *chosen + "\r\n\r\n";
    if (!ctx.socket.write_all(response).ok()) return;
    if (port_forward) return serve_port_forward_spdy(ctx, std::get<PendingPortForward>(pending).pod_sandbox_id);
    serve_command_spdy(ctx, pending);
  }

  void upgrade_websocket(ConnectionContext& ctx, const HttpHead& head, const PendingRequest& pending) {
    const auto key = head.header("sec-websocket-key");
    if (!key || key->empty() || head.header("sec-websocket-version").value_or("") != "13") {
      return reject(ctx.socket, 400, "Bad Request", "bad websocket handshake (key, version 13)");
    }
    const bool port_forward = std::holds_alternative<PendingPortForward>(pending);
    const auto offered = head.header_tokens("sec-websocket-protocol");
    std::optional<std::string> chosen =
        offered.empty() ? std::optional<std::string>("")
                        : negotiate(offered, port_forward ? kWsPortForwardProtocols : kWsCommandProtocols);
    if (!chosen) return reject(ctx.socket, 400, "Bad Request", "no supported websocket subprotocol");
    std::vector<uint16_t> ports;
    if (port_forward) {
      for (const auto& text : head.query_values("port")) {
        unsigned value = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec != std::errc() || end != text.data() + text.size() || value == 0 || value > 65535) {
          return reject(ctx.socket, 400, "Bad Request", "bad port '" + text + "'");
        }
        ports.push_back(static_cast<uint16_t>(value));
      }
      if (ports.empty() || ports.size() > std::min<size_t>(options_.max_streams_per_connection / 2, 127)) {
        return reject(ctx.socket, 400, "Bad Request", "port-forward needs 1 to 32 ?port= values");
      }
    }
    std::string response =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: " +
        ws::accept_key(*key) + "\r\n";
    if (!chosen->empty()) response += "Sec-WebSocket-Protocol: " + *chosen + "\r\n";
    response += "\r\n";
    if (!ctx.socket.write_all(response).ok()) return;
    if (port_forward) return serve_port_forward_ws(ctx, std::get<PendingPortForward>(pending).pod_sandbox_id, ports);
    serve_command_ws(ctx, pending, *chosen);
  }

  StreamingServerOptions options_;
  StreamingBackend& backend_;
  std::shared_ptr<TlsContext> tls_;  // null: plain HTTP
  UniqueFd listener_, wake_;
  std::string base_url_;
  mutable TokenCache tokens_;
  std::atomic<size_t> sessions_{0};
  mutable std::mutex mu_;
  bool stopping_ = false;
  std::list<std::unique_ptr<Connection>> connections_;
  std::thread accept_thread_;
};

}  // namespace

Result<std::unique_ptr<StreamingServer>> StreamingServer::start(const StreamingServerOptions& options,
                                                                StreamingBackend& backend) {
  std::shared_ptr<TlsContext> tls;
  if (!options.tls_cert_file.empty() || !options.tls_key_file.empty()) {
    auto loaded = TlsContext::server(options.tls_cert_file, options.tls_key_file);
    if (!loaded.ok()) return std::move(loaded).take_error().wrap("streaming server");
    tls = std::move(*loaded);
  }
  uint16_t port = 0;
  auto listener = listen_tcp(options.address, 64, &port);
  if (!listener) return std::move(listener).take_error().wrap("streaming server");
  std::string advertised = options.advertised_address;
  if (advertised.empty()) {
    auto hp = split_host_port(options.address);
    if (!hp) return std::move(hp).take_error();
    std::string host = hp->first;
    if (host.find(':') != std::string::npos) host = "[" + host + "]";
    advertised = host + ":" + std::to_string(port);
  }
  const std::string scheme = tls ? "https://" : "http://";
  log::info("streaming server listening", {{"url", scheme + advertised}});
  return std::unique_ptr<StreamingServer>(std::make_unique<StreamingServerImpl>(options, backend, std::move(*listener),
                                                                                scheme + advertised, std::move(tls)));
}

}  // namespace zoned::streaming
