// PortConnection over a connected TCP socket.
#include <sys/socket.h>

#include <cerrno>

#include "zoned/streaming/backend.h"

namespace zoned::streaming {
namespace {

class TcpPortConnection final : public PortConnection {
 public:
  explicit TcpPortConnection(UniqueFd fd) : fd_(std::move(fd)) {}
  ~TcpPortConnection() override { close(); }

  Result<size_t> read(char* buf, size_t n) override {
    while (true) {
      const ssize_t got = ::recv(fd_.get(), buf, n, 0);
      if (got >= 0) return static_cast<size_t>(got);
      if (errno != EINTR) return sys_error("port connection: recv");
    }
  }
  Status write(std::string_view data) override {
    while (!data.empty()) {
      const ssize_t sent = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
      if (sent < 0) {
        if (errno == EINTR) continue;
        return sys_error("port connection: send");
      }
      data.remove_prefix(static_cast<size_t>(sent));
    }
    return ok_status();
  }
  Status close_write() override {
    if (::shutdown(fd_.get(), SHUT_WR) != 0 && errno != ENOTCONN) return sys_error("port connection: shutdown");
    return ok_status();
  }
  // Shuts the socket down (unblocking a reader); the fd is closed by the destructor, so a
  // concurrent read never sees a reused descriptor.
  void close() override { ::shutdown(fd_.get(), SHUT_RDWR); }

 private:
  UniqueFd fd_;
};

}  // namespace

std::unique_ptr<PortConnection> make_tcp_port_connection(UniqueFd fd) {
  return std::make_unique<TcpPortConnection>(std::move(fd));
}

}  // namespace zoned::streaming
