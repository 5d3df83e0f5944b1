// An AdminServer on a real unix socket in a temporary directory, backed by FakeZoneManager,
// and a client stub for it.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "admin.grpc.pb.h"
#include "fakes/fake_zone_manager.h"
#include "support/temp_dir.h"
#include "zoned/admin/admin_server.h"

namespace zoned::testing {

namespace v1 = ::zoned::admin::v1;

class AdminFixture {
 public:
  AdminFixture();
  ~AdminFixture();

  TempDir tmp;
  FakeZoneManager zones;
  std::string socket;
  std::unique_ptr<v1::ZoneAdmin::Stub> stub;

  // Helpers that REQUIRE success.
  v1::Zone create_zone(const std::string& name, const std::vector<std::string>& images = {"busybox"});
  v1::Container create_container(const std::string& zone, const std::string& name, const std::vector<std::string>& args,
                                 const std::string& image = "busybox");
  void start_container(const std::string& id);

 private:
  std::unique_ptr<admin::AdminServer> server_;
};

}  // namespace zoned::testing
