// TestDaemon: the real zoned binary started on this host with a config in a temporary directory,
// plus CRI clients for its socket. Stopped (SIGTERM, then SIGKILL) when the object dies.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "api.grpc.pb.h"
#include "support/child_process.h"
#include "support/temp_dir.h"

namespace zoned::testing {

class TestDaemon {
 public:
  // `dir` holds config, state, data and socket; `extra_config` is appended to the TOML.
  TestDaemon(const TempDir& dir, std::string extra_config = "");

  // Starts the daemon and waits until it logs "ready"; false if it exited or timed out.
  bool start(std::chrono::milliseconds timeout = std::chrono::seconds(15));
  // SIGTERM and wait; returns the exit code (or -1 on timeout).
  int stop(std::chrono::milliseconds timeout = std::chrono::seconds(15));

  const std::string& socket() const { return socket_; }
  const std::string& config_path() const { return config_path_; }
  std::string output() const { return process_ ? process_->output() : std::string(); }
  ChildProcess* process() { return process_.get(); }

  std::unique_ptr<runtime::v1::RuntimeService::Stub> runtime_client() const;
  std::unique_ptr<runtime::v1::ImageService::Stub> image_client() const;

 private:
  const TempDir& dir_;
  std::string socket_;
  std::string config_path_;
  std::unique_ptr<ChildProcess> process_;
  int starts_ = 0;
};

// A client context whose deadline is `timeout` from now.
std::unique_ptr<grpc::ClientContext> deadline_context(std::chrono::milliseconds timeout = std::chrono::seconds(60));

// The base config (socket, state and data dirs under `dir`).
std::string base_config(const TempDir& dir);

}  // namespace zoned::testing
