// A gRPC server on a unix socket: the CRI server, and the admin API's (admin/).
#pragma once

#include <grpcpp/server.h>
#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "zoned/common/result.h"

namespace zoned::cri {

struct ServerOptions {
  std::string socket_path;
  std::string socket_group;   // empty: keep the daemon's group
  mode_t socket_mode = 0660;  // the admin socket uses 0600
  std::string name = "CRI";   // what is served, for the log
};

class Server {
 public:
  // The services must outlive the server.
  explicit Server(std::vector<grpc::Service*> services);
  ~Server();

  // Claims the socket path (stale sockets removed), listens with socket_mode, starts serving.
  Status start(const ServerOptions& options);
  // Stops accepting calls, waits up to `grace` for running ones, then cancels them.
  void shutdown(std::chrono::seconds grace);

 private:
  std::vector<grpc::Service*> services_;
  std::unique_ptr<grpc::Server> server_;
  std::string socket_path_;
};

}  // namespace zoned::cri
