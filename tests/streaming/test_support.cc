#include "test_support.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <catch2/catch_test_macros.hpp>

namespace zoned::streaming::testing {

EchoServer::EchoServer() : listener_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  REQUIRE(::listen(listener_.get(), 16) == 0);
  socklen_t len = sizeof(addr);
  ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  accept_thread_ = std::thread([this] {
    while (!stop_) {
      pollfd pfd{listener_.get(), POLLIN, 0};
      if (::poll(&pfd, 1, 100) != 1) continue;
      const int fd = ::accept(listener_.get(), nullptr, nullptr);
      if (fd < 0) continue;
      std::lock_guard lock(mu_);
      workers_.emplace_back([this, fd] {
        UniqueFd conn(fd);
        char buf[65536];
        while (!stop_) {
          pollfd p{fd, POLLIN, 0};
          if (::poll(&p, 1, 100) != 1) continue;
          const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
          if (n <= 0) break;
          size_t sent = 0;
          while (sent < static_cast<size_t>(n)) {
            const ssize_t w = ::send(fd, buf + sent, static_cast<size_t>(n) - sent, MSG_NOSIGNAL);
            if (w <= 0) return;
            sent += static_cast<size_t>(w);
          }
        }
        ::shutdown(fd, SHUT_WR);
      });
    }
  });
}

EchoServer::~EchoServer() {
  stop_ = true;
  accept_thread_.join();
  for (auto& w : workers_) w.join();
}

ServerFixture::ServerFixture(StreamingServerOptions options) {
  auto started = StreamingServer::start(options, backend);
  REQUIRE(started.ok());
  server = std::move(*started);
}

UniqueFd raw_connect(const std::string& base_url) {
  const auto colon = base_url.rfind(':');
  const auto port = static_cast<uint16_t>(std::stoi(base_url.substr(colon + 1)));
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  return fd;
}

void send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    data.remove_prefix(static_cast<size_t>(n));
  }
}

std::string read_until_eof(int fd, std::chrono::milliseconds timeout, bool* eof) {
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  if (eof != nullptr) *eof = false;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) != 1) continue;
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) {
      if (eof != nullptr) *eof = true;
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::string url_path(const std::string& url) {
  const auto start = url.find('/', url.find("://") + 3);
  return url.substr(start);
}

}  // namespace zoned::streaming::testing
