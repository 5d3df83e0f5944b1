// The CRI gRPC server on a unix socket.
#pragma once

#include <grpcpp/server.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "zoned/common/result.h"

namespace zoned::cri {

struct ServerOptions {
  std::string socket_path;
  std::string socket_group;  // empty: keep the daemon's group
};

class Server {
 public:
  // The services must outlive the server.
  explicit Server(std::vector<grpc::Service*> services);
  ~Server();

  // Claims the socket path (stale sockets removed), listens with mode 0660, starts serving.
  Status start(const ServerOptions& options);
  // Stops accepting calls, waits up to `grace` for running ones, then cancels them.
  void shutdown(std::chrono::seconds grace);

 private:
  std::vector<grpc::Service*> services_;
  std::unique_ptr<grpc::Server> server_;
  std::string socket_path_;
};

}  // namespace zoned::cri
