#include "socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <charconv>

namespace zoned::streaming {

Socket::Socket(UniqueFd fd, std::chrono::milliseconds write_timeout)
    : fd_(std::move(fd)), write_timeout_(write_timeout) {
  const int one = 1;
  ::setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

Result<size_t> Socket::read_some(char* buf, size_t n, std::chrono::milliseconds timeout) {
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
