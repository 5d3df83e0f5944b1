// Client side of the Kubernetes streaming protocols, for tests, tools and the e2e suite: it
// speaks to any kubelet-compatible streaming server over the wire (HTTP upgrade, then SPDY/3.1
// or WebSocket), as kubectl does. URLs are plain http:// (no TLS yet).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "zoned/common/result.h"

namespace zoned::streaming::client {

enum class Transport { kSpdy, kWebSocket };

// For https:// URLs: the CA bundle (PEM) the server's certificate must chain to (empty: the
// system's), or no verification at all (tests; a human poking at a node).
struct TlsOptions {
  std::string ca_file;
  bool insecure_skip_verify = false;
};

struct CommandOptions {
  Transport transport = Transport::kSpdy;
  bool stdin = false, stdout = true, stderr = true, tty = false;
  // Offered in this order (X-Stream-Protocol-Version or Sec-WebSocket-Protocol).
  std::vector<std::string> protocols = {"v5.channel.k8s.io", "v4.channel.k8s.io"};
  std::chrono::milliseconds connect_timeout{10000};
  TlsOptions tls;
};

struct CommandResult {
  int32_t exit_code = 0;  // from the NonZeroExitCode Status, 0 on Success
  bool failed = false;    // a Failure without an exit code (message says why)
  std::string message;
};

using OutputCallback = std::function<void(std::string_view data)>;

// One exec or attach. Output callbacks run on the session's reader thread.
class CommandSession {
 public:
  static Result<std::unique_ptr<CommandSession>> start(const std::string& url, const CommandOptions& options,
                                                       OutputCallback on_stdout, OutputCallback on_stderr);
  virtual ~CommandSession() = default;
  virtual const std::string& protocol() const = 0;  // negotiated
  virtual Status write_stdin(std::string_view data) = 0;
  // SPDY: FIN on the stdin stream; WebSocket v5: the close signal (v4 cannot: kUnimplemented).
  virtual Status close_stdin() = 0;
  virtual Status resize(uint16_t width, uint16_t height) = 0;
  // The final status, once the server sent it and closed the output streams.
  virtual Result<CommandResult> wait(std::chrono::milliseconds timeout) = 0;
  // Drops the connection at once, as a client that vanished would.
  virtual void abort() = 0;
};

// One forwarded connection: a byte stream to the pod's port.
class ForwardStream {
 public:
  virtual ~ForwardStream() = default;
  virtual Status write(std::string_view data) = 0;
  virtual Status close_write() = 0;  // SPDY only (FIN on the data stream)
  // Up to `n` bytes, 0 at end of stream, kDeadlineExceeded when nothing came in time.
  virtual Result<size_t> read(char* buf, size_t n, std::chrono::milliseconds timeout) = 0;
  // Text the server sent on the error stream so far (a failed dial).
  virtual std::string error_text() = 0;
};

class PortForwardSession {
 public:
  // SPDY: any number of connections, to any port, opened on demand.
  static Result<std::unique_ptr<PortForwardSession>> connect_spdy(const std::string& url,
                                                                  std::chrono::milliseconds timeout,
                                                                  const TlsOptions& tls = {});
  // WebSocket: one connection per port, the ports fixed now (?port=...).
  static Result<std::unique_ptr<PortForwardSession>> connect_websocket(const std::string& url,
                                                                       const std::vector<uint16_t>& ports,
                                                                       std::chrono::milliseconds timeout,
                                                                       const TlsOptions& tls = {});
  virtual ~PortForwardSession() = default;
  virtual Result<std::unique_ptr<ForwardStream>> open(uint16_t port) = 0;
  virtual void close() = 0;
};

}  // namespace zoned::streaming::client
