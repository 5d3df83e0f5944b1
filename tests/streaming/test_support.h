// Helpers for the streaming tests: a TCP echo server on 127.0.0.1, a server with the fake
// backend, output collectors, and polling until a condition holds.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fakes/fake_streaming_backend.h"
#include "support/eventually.h"
#include "zoned/common/unique_fd.h"
#include "zoned/streaming/client.h"
#include "zoned/streaming/server.h"

namespace zoned::streaming::testing {

// Accepts connections and echoes every byte back; a half-close is answered with one.
class EchoServer {
 public:
  EchoServer();
  ~EchoServer();
  uint16_t port() const { return port_; }

 private:
  UniqueFd listener_;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread accept_thread_;
  std::mutex mu_;
  std::vector<std::thread> workers_;
};

struct Collected {
  std::mutex mu;
  std::string data;
  void add(std::string_view d) {
    std::lock_guard lock(mu);
    data.append(d);
  }
  std::string get() {
    std::lock_guard lock(mu);
    return data;
  }
  client::OutputCallback callback() {
    return [this](std::string_view d) { add(d); };
  }
};

struct ServerFixture {
  explicit ServerFixture(StreamingServerOptions options = {});
  FakeStreamingBackend backend;
  std::unique_ptr<StreamingServer> server;
};

using zoned::testing::eventually;

// A raw TCP connection to the server, for hostile clients.
UniqueFd raw_connect(const std::string& base_url);
void send_all(int fd, std::string_view data);
// Everything until EOF or `timeout`; `eof` tells which.
std::string read_until_eof(int fd, std::chrono::milliseconds timeout, bool* eof = nullptr);
std::string url_path(const std::string& url);

}  // namespace zoned::streaming::testing
