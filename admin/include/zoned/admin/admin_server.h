// AdminServer: serves zoned.admin.v1 (AdminService) on the admin socket, mode 0600 (root
// only: the API can exec into any container). Same stale-socket rules as the CRI socket: a
// socket left by a dead daemon is replaced, a live one or a non-socket file is an error.
#pragma once

#include <chrono>
#include <string>

#include "zoned/admin/admin_service.h"
#include "zoned/common/result.h"
#include "zoned/cri/server.h"

namespace zoned::admin {

class AdminServer {
 public:
  // `zones` must outlive the server.
  explicit AdminServer(zone_runtime::ZoneManager& zones);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  Status start(const std::string& socket_path);
  // Stops accepting calls, waits up to `grace` for running ones (a followed log, an exec), then
  // cancels them; removes the socket.
  void shutdown(std::chrono::seconds grace);

 private:
  AdminService service_;
  cri::Server server_;
};

}  // namespace zoned::admin
