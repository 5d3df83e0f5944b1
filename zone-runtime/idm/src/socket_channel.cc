#include "zoned/idm/socket_channel.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>

namespace zoned::idm {
namespace {

constexpr std::uint32_t kAlwaysWatched = EPOLLIN | EPOLLRDHUP;

class SocketChannel final : public ByteChannel {
 public:
  SocketChannel(UniqueFd socket, UniqueFd epoll) : socket_(std::move(socket)), epoll_(std::move(epoll)) {}

  int poll_fd() const override { return epoll_.get(); }

  // Input and hang-up are level-triggered and need no acknowledgement. Write space does: once
  // the socket is writable again, stop watching for it (the next short write re-arms).
  Status ack_wakeup() override {
    if (!watching_space_) return ok_status();
    pollfd p{socket_.get(), POLLOUT, 0};
    if (::poll(&p, 1, 0) < 0) return sys_error("socket channel: poll");
    if ((p.revents & (POLLOUT | POLLHUP | POLLERR)) == 0) return ok_status();
    return watch(kAlwaysWatched);
  }

  Result<std::size_t> read_some(std::span<char> buf) override {
    if (eof_) return closed();
    if (buf.empty()) return std::size_t{0};
    const ssize_t n = ::recv(socket_.get(), buf.data(), buf.size(), MSG_DONTWAIT);
    if (n > 0) return static_cast<std::size_t>(n);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return std::size_t{0};
    // 0 is the peer's orderly close; ECONNRESET comes after our queue is drained when the peer
    // closed with data of ours unread. Either way nothing more will arrive.
    if (n < 0 && errno != ECONNRESET && errno != EPIPE) return sys_error("socket channel: recv");
    eof_ = true;
    return closed();
  }

  Result<std::size_t> write_some(std::span<const char> data) override {
    if (broken_) return closed();
    if (data.empty()) return std::size_t{0};
    const ssize_t n = ::send(socket_.get(), data.data(), data.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      if (errno != EPIPE && errno != ECONNRESET) return sys_error("socket channel: send");
      broken_ = true;
      return closed();
    }
    const std::size_t written = n < 0 ? 0 : static_cast<std::size_t>(n);
    if (written < data.size() && !watching_space_) ZONED_TRY(watch(kAlwaysWatched | EPOLLOUT));
    return written;
  }

  bool is_open() override {
    if (eof_ || broken_) return false;
    pollfd p{socket_.get(), POLLRDHUP, 0};
    if (::poll(&p, 1, 0) < 0) return true;  // cannot tell; reads and writes will
    return (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) == 0;
  }

 private:
  Status watch(std::uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = socket_.get();
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, socket_.get(), &ev) != 0) {
      return sys_error("socket channel: epoll_ctl");
    }
    watching_space_ = (events & EPOLLOUT) != 0;
    return ok_status();
  }

  static Error closed() { return Error(ErrorCode::kUnavailable, "socket channel: the peer closed the connection"); }

  UniqueFd socket_;
  UniqueFd epoll_;
  bool watching_space_ = false;
  bool eof_ = false;     // read side: the peer will send nothing more
  bool broken_ = false;  // write side: the peer is gone
};

}  // namespace

Result<std::unique_ptr<ByteChannel>> socket_channel(UniqueFd socket) {
  int type = 0;
  socklen_t len = sizeof type;
  if (::getsockopt(socket.get(), SOL_SOCKET, SO_TYPE, &type, &len) != 0) {
    return sys_error("socket channel: not a socket");
  }
  if (type != SOCK_STREAM) return Error(ErrorCode::kInvalidArgument, "socket channel: not a stream socket");
  const int flags = ::fcntl(socket.get(), F_GETFL);
  if (flags < 0 || ::fcntl(socket.get(), F_SETFL, flags | O_NONBLOCK) != 0) {
    return sys_error("socket channel: making the socket non-blocking");
  }
  UniqueFd epoll(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll.valid()) return sys_error("socket channel: epoll_create1");
  epoll_event ev{};
  ev.events = kAlwaysWatched;
  ev.data.fd = socket.get();
  if (::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, socket.get(), &ev) != 0) return sys_error("socket channel: epoll_ctl");
  return std::unique_ptr<ByteChannel>(std::make_unique<SocketChannel>(std::move(socket), std::move(epoll)));
}

Result<std::pair<std::unique_ptr<ByteChannel>, std::unique_ptr<ByteChannel>>> socket_channel_pair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return sys_error("socket channel: socketpair");
  UniqueFd a(fds[0]);
  UniqueFd b(fds[1]);
  auto first = socket_channel(std::move(a));
  if (!first.ok()) return std::move(first).take_error();
  auto second = socket_channel(std::move(b));
  if (!second.ok()) return std::move(second).take_error();
  return std::make_pair(std::move(*first), std::move(*second));
}

}  // namespace zoned::idm
