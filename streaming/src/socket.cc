#include "socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include <cerrno>
#include <charconv>

#include "tls.h"

namespace zoned::streaming {

Socket::Socket(UniqueFd fd, std::chrono::milliseconds write_timeout)
    : fd_(std::move(fd)), write_timeout_(write_timeout) {
  const int one = 1;
  ::setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

Socket::~Socket() {
  if (ssl_ != nullptr) SSL_free(ssl_);
}

namespace {

using Clock = std::chrono::steady_clock;

// Waits until the socket is ready for `events` or the deadline passed (false).
Result<bool> wait_ready(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd pfd{fd, events, 0};
    const int rc = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (rc > 0) return true;
    if (rc == 0) return false;
    if (errno != EINTR) return sys_error("poll");
  }
}

// OpenSSL writes to the socket without MSG_NOSIGNAL: a peer that is gone would raise SIGPIPE
// and kill a process that did not ignore it (the library does not change the disposition for
// its users). While it lives, SIGPIPE is blocked in this thread; one raised meanwhile is
// consumed, and the write reports EPIPE as usual.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    ::sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    ::pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeGuard() {
    if (!was_pending_) {
      const timespec zero{};
      while (::sigtimedwait(&pipe_, nullptr, &zero) == SIGPIPE) {
      }
    }
    ::pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  sigset_t pipe_{}, old_{};
  bool was_pending_ = false;
};

}  // namespace

Status Socket::start_tls(const TlsContext& context, bool as_server, const std::string& peer_host,
                         std::chrono::milliseconds timeout) {
  if (ssl_ != nullptr) return Error(ErrorCode::kFailedPrecondition, "TLS already started");
  ERR_clear_error();
  SSL* ssl = SSL_new(context.get());
  if (ssl == nullptr) return Error(ErrorCode::kInternal, "TLS: " + tls_error_text());
  ssl_ = ssl;
  ::fcntl(fd_.get(), F_SETFL, ::fcntl(fd_.get(), F_GETFL) | O_NONBLOCK);
  SSL_set_fd(ssl, fd_.get());
  if (!as_server) {
    in6_addr ip{};
    const bool is_ip =
        ::inet_pton(AF_INET, peer_host.c_str(), &ip) == 1 || ::inet_pton(AF_INET6, peer_host.c_str(), &ip) == 1;
    if (!is_ip) {  // SNI; SSL_set_tlsext_host_name's macro casts in C style
      SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(peer_host.c_str()));
    }
    if (context.verifies()) {
      const int named = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), peer_host.c_str())
                              : SSL_set1_host(ssl, peer_host.c_str());
      if (named != 1) return Error(ErrorCode::kInvalidArgument, "TLS: cannot verify host '" + peer_host + "'");
    }
  }
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    ERR_clear_error();
    SigpipeGuard no_sigpipe;
    const int rc = as_server ? SSL_accept(ssl) : SSL_connect(ssl);
    if (rc == 1) return ok_status();
    const int err = SSL_get_error(ssl, rc);
    short events = 0;
    if (err == SSL_ERROR_WANT_READ) {
      events = POLLIN;
    } else if (err == SSL_ERROR_WANT_WRITE) {
      events = POLLOUT;
    } else {
      std::string why = err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0
                            ? std::string("the peer closed the connection")
                            : tls_error_text();
      if (!as_server && SSL_get_verify_result(ssl) != X509_V_OK) {
        why += " (" + std::string(X509_verify_cert_error_string(SSL_get_verify_result(ssl))) + ")";
      }
      return Error(ErrorCode::kUnavailable, "TLS handshake: " + why);
    }
    auto ready = wait_ready(fd_.get(), events, deadline);
    if (!ready.ok()) return std::move(ready).take_error();
    if (!*ready) return Error(ErrorCode::kDeadlineExceeded, "TLS handshake: timed out");
  }
}

Result<size_t> Socket::tls_read(char* buf, size_t n, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    short events = 0;
    {
      std::lock_guard lock(ssl_mu_);
      SigpipeGuard no_sigpipe;
      ERR_clear_error();
      size_t got = 0;
      const int rc = SSL_read_ex(ssl_, buf, n, &got);
      if (rc == 1) return got;
      const int err = SSL_get_error(ssl_, rc);
      if (err == SSL_ERROR_ZERO_RETURN) return size_t{0};
      if (err == SSL_ERROR_WANT_READ) {
        events = POLLIN;
      } else if (err == SSL_ERROR_WANT_WRITE) {
        events = POLLOUT;
      } else if (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
        return size_t{0};  // closed without close_notify: the end of the stream all the same
      } else {
        return Error(ErrorCode::kUnavailable, "TLS read: " + tls_error_text());
      }
    }
    auto ready = wait_ready(fd_.get(), events, deadline);
    if (!ready.ok()) return std::move(ready).take_error();
    if (!*ready) return Error(ErrorCode::kDeadlineExceeded, "read timeout");
  }
}

Status Socket::tls_write(std::string_view data) {
  while (!data.empty()) {
    short events = 0;
    {
      std::lock_guard lock(ssl_mu_);
      SigpipeGuard no_sigpipe;
      ERR_clear_error();
      size_t sent = 0;
      const int rc = SSL_write_ex(ssl_, data.data(), data.size(), &sent);
      if (rc == 1) {
        data.remove_prefix(sent);
        continue;
      }
      const int err = SSL_get_error(ssl_, rc);
      if (err == SSL_ERROR_WANT_WRITE) {
        events = POLLOUT;
      } else if (err == SSL_ERROR_WANT_READ) {
        events = POLLIN;
      } else {
        return Error(ErrorCode::kUnavailable, "TLS write: " + tls_error_text());
      }
    }
    auto ready = wait_ready(fd_.get(), events, Clock::now() + write_timeout_);
    if (!ready.ok()) return std::move(ready).take_error();
    if (!*ready) return Error(ErrorCode::kDeadlineExceeded, "peer does not read (write timeout)");
  }
  return ok_status();
}

Result<size_t> Socket::read_some(char* buf, size_t n, std::chrono::milliseconds timeout) {
  if (ssl_ != nullptr) return tls_read(buf, n, timeout);
  pollfd pfd{fd_.get(), POLLIN, 0};
  const int rc = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
  if (rc < 0) {
    if (errno == EINTR) return Error(ErrorCode::kDeadlineExceeded, "interrupted");
    return sys_error("poll");
  }
  if (rc == 0) return Error(ErrorCode::kDeadlineExceeded, "read timeout");
  const ssize_t got = ::recv(fd_.get(), buf, n, 0);
  if (got < 0) {
    if (errno == EINTR || errno == EAGAIN) return Error(ErrorCode::kDeadlineExceeded, "interrupted");
    return sys_error("recv");
  }
  return static_cast<size_t>(got);
}

Status Socket::write_all(std::string_view data) {
  std::lock_guard lock(write_mu_);
  return write_all_locked(data);
}

Status Socket::write_all_locked(std::string_view data) {
  if (ssl_ != nullptr) return tls_write(data);
  while (!data.empty()) {
    pollfd pfd{fd_.get(), POLLOUT, 0};
    const int rc = ::poll(&pfd, 1, static_cast<int>(write_timeout_.count()));
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) return sys_error("poll");
    if (rc == 0) return Error(ErrorCode::kDeadlineExceeded, "peer does not read (write timeout)");
    const ssize_t sent = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return sys_error("send");
    }
    data.remove_prefix(static_cast<size_t>(sent));
  }
  return ok_status();
}

void Socket::shutdown_write() {
  if (ssl_ != nullptr) {
    std::lock_guard lock(ssl_mu_);
    SigpipeGuard no_sigpipe;
    (void)SSL_shutdown(ssl_);  // close_notify; the peer's is not waited for
  }
  ::shutdown(fd_.get(), SHUT_WR);
}
void Socket::shutdown_both() {
  ::shutdown(fd_.get(), SHUT_RDWR);
}

Result<std::pair<std::string, uint16_t>> split_host_port(std::string_view address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) return Error(ErrorCode::kInvalidArgument, "address needs host:port");
  std::string host(address.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string_view port_text = address.substr(colon + 1);
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
    return Error(ErrorCode::kInvalidArgument, "bad port in address '" + std::string(address) + "'");
  }
  return std::pair(host.empty() ? std::string("0.0.0.0") : host, static_cast<uint16_t>(port));
}

namespace {

Result<addrinfo*> resolve(const std::string& host, uint16_t port, bool passive) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = passive ? AI_PASSIVE : 0;
  addrinfo* res = nullptr;
  const std::string service = std::to_string(port);
  const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
  if (rc != 0 || res == nullptr) {
    return Error(ErrorCode::kInvalidArgument, "resolving " + host + ": " + ::gai_strerror(rc));
  }
  return res;
}

}  // namespace

Result<UniqueFd> listen_tcp(const std::string& address, int backlog, uint16_t* bound_port) {
  auto hp = split_host_port(address);
  if (!hp) return std::move(hp).take_error();
  auto res = resolve(hp->first, hp->second, true);
  if (!res) return std::move(res).take_error();
  addrinfo* ai = *res;
  UniqueFd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol));
  if (!fd.valid()) {
    ::freeaddrinfo(ai);
    return sys_error("socket");
  }
  const int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  const int bound = ::bind(fd.get(), ai->ai_addr, ai->ai_addrlen);
  const int saved = errno;
  ::freeaddrinfo(ai);
  if (bound != 0) return sys_error("bind " + address, saved);
  if (::listen(fd.get(), backlog) != 0) return sys_error("listen " + address);
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) return sys_error("getsockname");
  if (bound_port != nullptr) {
    *bound_port = ss.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
                                           : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  }
  return fd;
}

Result<UniqueFd> connect_tcp(const std::string& host, uint16_t port, std::chrono::milliseconds timeout) {
  auto res = resolve(host, port, false);
  if (!res) return std::move(res).take_error();
  Error last(ErrorCode::kUnavailable, "no address for " + host);
  for (addrinfo* ai = *res; ai != nullptr; ai = ai->ai_next) {
    UniqueFd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol));
    if (!fd.valid()) continue;
    int rc = ::connect(fd.get(), ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd pfd{fd.get(), POLLOUT, 0};
      rc = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
      int err = ETIMEDOUT;
      if (rc == 1) {
        socklen_t len = sizeof(err);
        ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
      }
      rc = err == 0 ? 0 : -1;
      errno = err;
    }
    if (rc == 0) {
      ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
      ::freeaddrinfo(*res);
      return fd;
    }
    last = sys_error("connect " + host + ":" + std::to_string(port));
  }
  ::freeaddrinfo(*res);
  return last;
}

}  // namespace zoned::streaming
