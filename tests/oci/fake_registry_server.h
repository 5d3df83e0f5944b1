// FakeRegistryServer: a small HTTP/1.1 server on 127.0.0.1 (random port) serving canned or
// computed responses, for testing the registry client without a network. One thread accepts,
// one thread per connection; every response closes its connection. It can also misbehave:
// cut a body short, or omit Content-Length.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "zoned/common/unique_fd.h"

namespace zoned::oci::testing {

struct FakeRequest {
  std::string method;
  std::string path;                            // without the query
  std::string query;                           // after '?', undecoded
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;

  // "" when absent.
  std::string header(const std::string& lower_name) const;
  // A query parameter, percent-decoded; "" when absent.
  std::string query_param(std::string_view name) const;
};

struct FakeResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Misbehaviour: announce the full Content-Length, send only this many body bytes, then close.
  std::optional<size_t> cut_after;
  // Misbehaviour: no Content-Length; the body ends when the connection closes.
  bool omit_content_length = false;

  FakeResponse& with_header(std::string name, std::string value);
  // {"errors":[{"code":...,"message":...}]} as registries send them.
  static FakeResponse registry_error(int status, std::string_view code, std::string_view message);
  static FakeResponse redirect(std::string location);
};

using FakeHandler = std::function<FakeResponse(const FakeRequest&)>;

class FakeRegistryServer {
 public:
  FakeRegistryServer();
  ~FakeRegistryServer();
  FakeRegistryServer(const FakeRegistryServer&) = delete;
  FakeRegistryServer& operator=(const FakeRegistryServer&) = delete;

  // Requests for `path` (exact, without query) go to `handler`; unrouted paths get a 404
  // registry error ("NAME_UNKNOWN").
  void route(const std::string& path, FakeHandler handler);
  void route(const std::string& path, FakeResponse response);

  int port() const { return port_; }
  std::string host() const;  // "127.0.0.1:<port>"
  std::string url() const;   // "http://127.0.0.1:<port>"

  std::vector<FakeRequest> requests() const;
  size_t count(const std::string& path) const;

  // A port on 127.0.0.1 where nothing listens (connections are refused).
  static int unused_port();

 private:
  void accept_loop();
  void serve(UniqueFd conn);
  FakeResponse dispatch(const FakeRequest& request);

  UniqueFd listener_;
  UniqueFd wake_read_;
  UniqueFd wake_write_;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::map<std::string, FakeHandler> routes_;
  std::vector<FakeRequest> log_;
  std::vector<std::thread> connections_;
  std::thread acceptor_;
};

}  // namespace zoned::oci::testing
