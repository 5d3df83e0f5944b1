// A connected TCP socket shared by a reader thread and writer threads: reads with a poll
// timeout (so readers can check deadlines), whole writes serialized by a mutex, shutdown from
// any thread to unblock both sides. Optionally TLS (start_tls): the socket turns non-blocking
// and every OpenSSL call is made under a mutex of its own, so the reader and the writers still
// run in parallel. Also TCP listen/connect helpers.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "zoned/common/result.h"
#include "zoned/common/unique_fd.h"

struct ssl_st;

namespace zoned::streaming {

class TlsContext;

class Socket {
 public:
  explicit Socket(UniqueFd fd, std::chrono::milliseconds write_timeout = std::chrono::seconds(60));
  ~Socket();
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_.get(); }

  // The TLS handshake, as server or as client (then `peer_host`, a name or an IP address, is
  // what the server's certificate must name when the context verifies). All I/O after it is
  // TLS. Call before any other thread uses the socket.
  Status start_tls(const TlsContext& context, bool as_server, const std::string& peer_host,
                   std::chrono::milliseconds timeout);
  bool tls() const { return ssl_ != nullptr; }

  // Up to `n` bytes; 0 at end of stream; kDeadlineExceeded when nothing came within `timeout`.
  Result<size_t> read_some(char* buf, size_t n, std::chrono::milliseconds timeout);
  // All of `data`, or an error (peer gone, write timeout, shut down). Thread-safe.
  Status write_all(std::string_view data);
  // Held while a caller must write several buffers back to back (e.g. compress + write).
  std::mutex& write_mutex() { return write_mu_; }
  Status write_all_locked(std::string_view data);

  void shutdown_write();
  void shutdown_both();

 private:
  Result<size_t> tls_read(char* buf, size_t n, std::chrono::milliseconds timeout);
  Status tls_write(std::string_view data);

  UniqueFd fd_;
  std::chrono::milliseconds write_timeout_;
  std::mutex write_mu_;
  ssl_st* ssl_ = nullptr;
  std::mutex ssl_mu_;  // around every SSL_* call on ssl_
};

// "host:port" (IPv4 dotted, "localhost", or [v6]); port may be 0 when listening.
Result<std::pair<std::string, uint16_t>> split_host_port(std::string_view address);
// A listening socket; `bound_port` receives the actual port.
Result<UniqueFd> listen_tcp(const std::string& address, int backlog, uint16_t* bound_port);
Result<UniqueFd> connect_tcp(const std::string& host, uint16_t port, std::chrono::milliseconds timeout);

}  // namespace zoned::streaming
