#include "zoned/admin/admin_server.h"

namespace zoned::admin {

namespace {
constexpr mode_t kAdminSocketMode = 0600;
}  // namespace

AdminServer::AdminServer(zone_runtime::ZoneManager& zones) : service_(zones), server_({&service_}) {}

AdminServer::~AdminServer() {
  shutdown(std::chrono::seconds(0));
}

Status AdminServer::start(const std::string& socket_path) {
  cri::ServerOptions options;
  options.socket_path = socket_path;
  options.socket_mode = kAdminSocketMode;
  options.name = "admin API";
  return server_.start(options);
}

void AdminServer::shutdown(std::chrono::seconds grace) {
  server_.shutdown(grace);
}

}  // namespace zoned::admin
