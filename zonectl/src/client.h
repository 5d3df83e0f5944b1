// The connection to zoned's admin socket, and turning failures into the messages zonectl
// prints.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <optional>
#include <string>

#include "admin.grpc.pb.h"

namespace zoned::zonectl {

namespace v1 = ::zoned::admin::v1;

inline constexpr const char* kDefaultSocket = "/run/zoned/admin.sock";

class Client {
 public:
  explicit Client(std::string socket_path);

  // Whether something accepts connections on the socket; if not, the message to print
  // ("cannot connect to zoned at PATH: is zoned running?").
  std::optional<std::string> check_reachable() const;

  v1::ZoneAdmin::Stub& stub() { return *stub_; }
  const std::string& socket_path() const { return socket_path_; }

  // The message for a failed call: the daemon's message, or, when the socket does not answer,
  // the connection advice of check_reachable().
  std::string describe(const grpc::Status& status) const;

 private:
  std::string socket_path_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ZoneAdmin::Stub> stub_;
};

}  // namespace zoned::zonectl
