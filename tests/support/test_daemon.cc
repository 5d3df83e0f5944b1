#include "support/test_daemon.h"

#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/stat.h>

#include <thread>

namespace zoned::testing {

std::string base_config(const TempDir& dir) {
  return "socket_path = \"" + dir.file("run/zoned.sock") + "\"\n" + "admin_socket_path = \"" + dir.file("run/admin.sock") + "\"\n" + "state_dir = \"" + dir.file("state") + "\"\n" +
         "data_dir = \"" + dir.file("data") + "\"\n" + "shutdown_timeout_seconds = 2\n";
}

TestDaemon::TestDaemon(const TempDir& dir, std::string extra_config) : dir_(dir), socket_(dir.file("run/zoned.sock")) {
  config_path_ = dir.write("zoned.toml", base_config(dir) + extra_config);
}

bool TestDaemon::start(std::chrono::milliseconds timeout) {
  std::string log = dir_.file("daemon-" + std::to_string(++starts_) + ".log");
  process_ = std::make_unique<ChildProcess>(std::vector<std::string>{ZONED_BINARY, "--config", config_path_}, log);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!process_->running()) return false;
    struct stat st {};
    if (::lstat(socket_.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) &&
        process_->output().find("msg=ready") != std::string::npos) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

int TestDaemon::stop(std::chrono::milliseconds timeout) {
  if (!process_) return -1;
  process_->send_signal(SIGTERM);
  auto code = process_->wait_exit(timeout);
  return code ? *code : -1;
}

std::unique_ptr<runtime::v1::RuntimeService::Stub> TestDaemon::runtime_client() const {
  return runtime::v1::RuntimeService::NewStub(
      grpc::CreateChannel("unix:" + socket_, grpc::InsecureChannelCredentials()));
}

std::unique_ptr<runtime::v1::ImageService::Stub> TestDaemon::image_client() const {
  return runtime::v1::ImageService::NewStub(grpc::CreateChannel("unix:" + socket_, grpc::InsecureChannelCredentials()));
}

std::unique_ptr<grpc::ClientContext> deadline_context(std::chrono::milliseconds timeout) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + timeout);
  return ctx;
}

}  // namespace zoned::testing
