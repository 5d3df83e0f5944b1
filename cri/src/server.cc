#include "zoned/cri/server.h"

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "zoned/common/log.h"
#include "zoned/common/unix_socket.h"

namespace zoned::cri {

namespace {
// Kubelet's own client allows 16 MiB messages (ListContainers on a busy node can be large).
constexpr int kMaxMessageBytes = 16 * 1024 * 1024;
}  // namespace

Server::Server(std::vector<grpc::Service*> services) : services_(std::move(services)) {}

Server::~Server() {
  shutdown(std::chrono::seconds(0));
}

zoned::Status Server::start(const ServerOptions& options) {
  ZONED_TRY(claim_socket_path(options.socket_path));

  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + options.socket_path, grpc::InsecureServerCredentials());
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.SetMaxSendMessageSize(kMaxMessageBytes);
  for (grpc::Service* service : services_) builder.RegisterService(service);

  // The socket is created inside BuildAndStart: a umask makes it socket_mode from its first
  // moment, so there is no window in which others could connect. (The umask is process-wide:
  // start servers before other threads create files.)
  mode_t old_mask = ::umask(~options.socket_mode & 0777U);
  server_ = builder.BuildAndStart();
  ::umask(old_mask);
  if (!server_) {
    return Error(ErrorCode::kUnavailable,
                 "cannot listen on unix:" + options.socket_path + " (gRPC BuildAndStart failed; see the log above)");
  }
  socket_path_ = options.socket_path;
  auto perms = set_socket_permissions(socket_path_, options.socket_mode, options.socket_group);
  if (!perms.ok()) {
    shutdown(std::chrono::seconds(0));
    return std::move(perms).take_error().wrap("setting permissions of " + options.socket_path);
  }
  log::info("serving " + options.name, {{"socket", socket_path_}});
  return ok_status();
}

void Server::shutdown(std::chrono::seconds grace) {
  if (!server_) return;
  server_->Shutdown(std::chrono::system_clock::now() + grace);
  server_->Wait();
  server_.reset();
  if (::unlink(socket_path_.c_str()) != 0 && errno != ENOENT) {
    log::warn("could not remove socket", {{"path", socket_path_}, {"errno", errno}});
  }
}

}  // namespace zoned::cri
