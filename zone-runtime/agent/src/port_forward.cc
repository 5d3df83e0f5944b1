// Port forwarding: a TCP connection to 127.0.0.1:port inside the zone (the pod's localhost),
// relayed to the daemon as StreamData (STDIN from the daemon towards the port, STDOUT back).
// Both ways are windowed: we read from the socket only what the daemon granted, and the daemon
// may have at most kPortForwardInitialWindow bytes in flight towards us (granted back by
// PortForwardWindow events as we write them to the socket), so neither side buffers unbounded.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "agent_impl.h"
#include "zoned/common/log.h"
#include "zoned/idm/validate.h"

namespace zoned::agent {

namespace {
constexpr std::size_t kMaxPortForwards = 256;
constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::size_t kGrantAfter = 64 * 1024;  // written bytes granted back in batches

std::string errno_text(int err) { return std::strerror(err); }
}  // namespace

void AgentImpl::port_forward_open(const ReplyTo& to, const idm::v1::PortForwardOpen& request) {
  if (stream_in_use(request.stream_id())) {
    reply_error(to, Error(ErrorCode::kAlreadyExists, "stream " + std::to_string(request.stream_id()) + " is in use"));
    return;
  }
  if (port_forwards_.size() >= kMaxPortForwards) {
    reply_error(to, Error(ErrorCode::kResourceExhausted, "too many port-forward connections"));
    return;
  }
  UniqueFd sock(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!sock.valid()) {
    reply_error(to, sys_error("port forward: socket"));
    return;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(request.port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  auto pf = std::make_unique<PortForward>();
  pf->stream_id = request.stream_id();
  pf->port = request.port();
  pf->send_credit = request.window();
  pf->daemon_credit = idm::kPortForwardInitialWindow;
  if (::connect(sock.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
    pf->connecting = false;
  } else if (errno == EINPROGRESS) {
    pf->connecting = true;
    pf->pending = to;
  } else {
    reply_error(to, Error(ErrorCode::kUnavailable,
                          "connect to 127.0.0.1:" + std::to_string(request.port()) + ": " + errno_text(errno)));
    return;
  }
  pf->sock = std::move(sock);
  const bool connected = !pf->connecting;
  log::debug("port forward", {{"stream", request.stream_id()}, {"port", request.port()}});
  port_forwards_[request.stream_id()] = std::move(pf);
  if (connected) reply_ack(to);
}

void AgentImpl::port_forward_close(const ReplyTo& to, std::uint32_t stream_id) {
  auto it = port_forwards_.find(stream_id);
  if (it == port_forwards_.end()) {
    reply_error(to, Error(ErrorCode::kNotFound, "no port-forward stream " + std::to_string(stream_id)));
    return;
  }
  if (it->second->connecting) {
    reply_error(it->second->pending, Error(ErrorCode::kCancelled, "closed while connecting"));
  }
  port_forwards_.erase(it);
  reply_ack(to);
}

void AgentImpl::port_forward_window(const ReplyTo& to, const idm::v1::PortForwardWindow& request) {
  auto it = port_forwards_.find(request.stream_id());
  if (it == port_forwards_.end()) {
    reply_error(to, Error(ErrorCode::kNotFound, "no port-forward stream " + std::to_string(request.stream_id())));
    return;
  }
  PortForward& pf = *it->second;
  if (pf.send_credit + request.bytes() > idm::kMaxPortForwardWindow) {
    reply_error(to, Error(ErrorCode::kInvalidArgument, "port-forward window above 16 MiB"));
    return;
  }
  pf.send_credit += request.bytes();
  reply_ack(to);
}

// Ends a connection: the daemon hears why (empty: both directions ended normally).
void AgentImpl::end_port_forward(std::uint32_t stream_id, const std::string& why) {
  auto it = port_forwards_.find(stream_id);
  if (it == port_forwards_.end()) return;
  if (it->second->connecting) {
    reply_error(it->second->pending, Error(ErrorCode::kUnavailable, why));
  } else {
    idm::v1::Event e;
    e.mutable_port_forward_closed()->set_stream_id(stream_id);
    e.mutable_port_forward_closed()->set_message(why.substr(0, 1024));
    event(std::move(e));
  }
  port_forwards_.erase(it);
}

void AgentImpl::on_port_data(PortForward& pf, const idm::v1::StreamData& data) {
  if (pf.connecting || pf.to_port_eof) {
    end_port_forward(pf.stream_id, "data before the connection was made or after its end");
    return;
  }
  if (data.data().size() > pf.daemon_credit) {
    end_port_forward(pf.stream_id, "the daemon sent more than its window");
    return;
  }
  pf.daemon_credit -= data.data().size();
  pf.to_port.append(data.data());
  if (data.eof()) pf.to_port_eof = true;
  flush_port(pf);
}

void AgentImpl::flush_port(PortForward& pf) {
  const std::uint32_t id = pf.stream_id;
  while (!pf.to_port.empty()) {
    const ssize_t n = ::send(pf.sock.get(), pf.to_port.data(), pf.to_port.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) break;
      end_port_forward(id, "writing to 127.0.0.1:" + std::to_string(pf.port) + ": " + errno_text(errno));
      return;
    }
    pf.to_port.erase(0, static_cast<std::size_t>(n));
    pf.written_since_grant += static_cast<std::size_t>(n);
  }
  if (pf.written_since_grant >= kGrantAfter || (pf.to_port.empty() && pf.written_since_grant > 0)) {
    idm::v1::Event e;
    e.mutable_port_forward_window()->set_stream_id(id);
    e.mutable_port_forward_window()->set_bytes(static_cast<std::uint32_t>(pf.written_since_grant));
    pf.daemon_credit += pf.written_since_grant;
    pf.written_since_grant = 0;
    event(std::move(e));
  }
  if (pf.to_port.empty() && pf.to_port_eof && !pf.shut_write) {
    ::shutdown(pf.sock.get(), SHUT_WR);
    pf.shut_write = true;
  }
  if (pf.shut_write && pf.from_port_eof) end_port_forward(id, "");
}

void AgentImpl::add_port_poll_fds(std::vector<pollfd>& fds, std::vector<std::uint32_t>& owners) const {
  const bool want_output = may_read_output();
  for (const auto& [id, pf] : port_forwards_) {
    short events = 0;
    if (pf->connecting) {
      events = POLLOUT;
    } else {
      if (want_output && !pf->from_port_eof && pf->send_credit > 0) events |= POLLIN;
      if (!pf->to_port.empty()) events |= POLLOUT;
    }
    if (events == 0) continue;
    fds.push_back({pf->sock.get(), events, 0});
    owners.push_back(id);
  }
}

void AgentImpl::on_port_ready(std::uint32_t stream_id, short revents) {
  auto it = port_forwards_.find(stream_id);
  if (it == port_forwards_.end() || revents == 0) return;
  PortForward& pf = *it->second;
  if (pf.connecting) {
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(pf.sock.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err == EINPROGRESS) return;
    if (err != 0) {
      end_port_forward(stream_id, "connect to 127.0.0.1:" + std::to_string(pf.port) + ": " + errno_text(err));
      return;
    }
    pf.connecting = false;
    reply_ack(pf.pending);
    return;
  }
  if ((revents & POLLOUT) != 0) {
    flush_port(pf);
    if (port_forwards_.find(stream_id) == port_forwards_.end()) return;
  }
  if ((revents & (POLLIN | POLLHUP | POLLERR)) == 0 || pf.from_port_eof || pf.send_credit == 0) return;
  std::string buf(std::min(kReadChunk, pf.send_credit), '\0');
  const ssize_t n = ::recv(pf.sock.get(), buf.data(), buf.size(), 0);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n < 0) {
    end_port_forward(stream_id, "reading from 127.0.0.1:" + std::to_string(pf.port) + ": " + errno_text(errno));
    return;
  }
  idm::v1::Envelope envelope;
  auto* chunk = envelope.mutable_stream();
  chunk->set_stream_id(stream_id);
  chunk->set_fd(idm::v1::STREAM_FD_STDOUT);
  if (n == 0) {
    chunk->set_eof(true);
    pf.from_port_eof = true;
  } else {
    buf.resize(static_cast<std::size_t>(n));
    pf.send_credit -= buf.size();
    chunk->set_data(std::move(buf));
  }
  send(envelope);
  if (pf.from_port_eof && pf.shut_write) end_port_forward(stream_id, "");
}

}  // namespace zoned::agent
