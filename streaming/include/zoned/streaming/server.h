// StreamingServer: the HTTP endpoint that `kubectl exec/attach/port-forward` reach through
// kubelet. The CRI Exec, Attach and PortForward RPCs call request_*() and return the URL; the
// client then connects and upgrades to SPDY/3.1 (remotecommand v4/v5, portforward.k8s.io) or
// WebSocket (v5/v4.channel.k8s.io, port-forward over v4.channel.k8s.io/portforward.k8s.io).
//
// URLs carry a random single-use token (128 bits) that expires (default 1 minute, as
// kubelet's streaming cache); at most `max_pending_requests` are outstanding.
// Threads: one accept thread, one thread per connection (at most `max_connections`), plus
// per-session helpers (the exit waiter, one pump per forwarded connection). stop() closes
// every connection, ends backend sessions (exec: stdin closed, SIGKILL; attach: detached;
// port connections: closed) and joins all threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "zoned/common/result.h"
#include "zoned/streaming/backend.h"

namespace zoned::streaming {

struct StreamingServerOptions {
  std::string address = "127.0.0.1:0";  // host:port to listen on (port 0: any)
  // Host:port put in URLs; empty: the listening address (with the bound port).
  std::string advertised_address;
  // TLS (https URLs): the certificate chain and its key, both PEM; empty: plain HTTP. A bad
  // or mismatched pair makes start() fail naming the file.
  std::string tls_cert_file, tls_key_file;
  std::chrono::milliseconds token_ttl{60000};
  size_t max_pending_requests = 1000;
  size_t max_connections = 64;
  size_t max_streams_per_connection = 64;                    // SPDY streams; port-forward pairs are 2 streams
  std::chrono::milliseconds stream_creation_timeout{30000};  // remotecommand: all streams created
  std::chrono::milliseconds handshake_timeout{10000};        // the HTTP request line + headers
  std::chrono::milliseconds idle_timeout{4 * 3600 * 1000};   // no frame at all for this long
  uint32_t max_frame_bytes = 1024 * 1024;                    // SPDY frame or WebSocket message
  uint32_t max_header_block_bytes = 64 * 1024;               // after decompression
};

// What Exec carries besides the command: which streams the client will open.
struct ExecStreams {
  bool stdin = false, stdout = true, stderr = true, tty = false;
};

struct ServerStats {
  size_t connections = 0;       // open now
  size_t pending_requests = 0;  // tokens not used yet
  size_t sessions = 0;          // backend sessions and port connections open now
};

class StreamingServer {
 public:
  // Binds and starts serving; the backend must outlive the server.
  static Result<std::unique_ptr<StreamingServer>> start(const StreamingServerOptions& options,
                                                        StreamingBackend& backend);
  virtual ~StreamingServer() = default;

  // URLs: http(s)://<advertised>/exec/<token>, /attach/<token>, /portforward/<token>.
  // Invalid requests (no stream at all; tty with stderr is cleared as kubelet does) are refused.
  virtual Result<std::string> request_exec(const ExecRequest& request, const ExecStreams& streams) = 0;
  virtual Result<std::string> request_attach(const AttachRequest& request, const ExecStreams& streams) = 0;
  virtual Result<std::string> request_port_forward(const std::string& pod_sandbox_id) = 0;

  virtual std::string base_url() const = 0;  // "http://127.0.0.1:port" (https with TLS)
  virtual ServerStats stats() const = 0;
  virtual void stop() = 0;  // idempotent; the destructor calls it
};

}  // namespace zoned::streaming
