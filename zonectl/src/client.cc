#include "client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace zoned::zonectl {
namespace {
// Our daemon allows 16 MiB messages; so do we.
constexpr int kMaxMessageBytes = 16 * 1024 * 1024;
}  // namespace

Client::Client(std::string socket_path) : socket_path_(std::move(socket_path)) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  channel_ = grpc::CreateCustomChannel("unix:" + socket_path_, grpc::InsecureChannelCredentials(), args);
  stub_ = v1::ZoneAdmin::NewStub(channel_);
}

std::optional<std::string> Client::check_reachable() const {
  std::string prefix = "cannot connect to zoned at " + socket_path_ + ": ";
  sockaddr_un address{};
  if (socket_path_.size() >= sizeof address.sun_path) return prefix + "the socket path is too long";
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, socket_path_.c_str(), socket_path_.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return prefix + std::strerror(errno);
  int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address);
  int saved = errno;
  ::close(fd);
  if (rc == 0) return std::nullopt;
  if (saved == ENOENT || saved == ECONNREFUSED) return prefix + "is zoned running?";
  if (saved == EACCES || saved == EPERM) return prefix + "permission denied (the admin socket is root's only)";
  return prefix + std::strerror(saved);
}

std::string Client::describe(const grpc::Status& status) const {
  const std::string& message = status.error_message();
  // UNAVAILABLE is also what the daemon says when Xen is unreachable: only blame the connection
  // when the socket really does not answer.
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    if (auto unreachable = check_reachable()) return *unreachable;
  }
  if (status.error_code() == grpc::StatusCode::CANCELLED && message.empty()) return "cancelled";
  return message.empty() ? "the call failed with gRPC status " + std::to_string(status.error_code()) : message;
}

}  // namespace zoned::zonectl
