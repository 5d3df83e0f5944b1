// Pieces shared by the client sessions: URL parsing, the HTTP upgrade, a buffered byte pipe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "http.h"
#include "socket.h"
#include "zoned/streaming/client.h"

namespace zoned::streaming::client {

struct Url {
  std::string host;
  uint16_t port = 80;  // 443 for https
  std::string target;  // path + query
  bool tls = false;    // https://
};
Result<Url> parse_url(const std::string& url);

struct Upgraded {
  std::unique_ptr<Socket> socket;
  HttpHead response;
  std::string leftover;
  std::string protocol;  // negotiated
};
// Connects (TLS for https:// URLs, verified as `tls` says) and upgrades to SPDY/3.1 or
// WebSocket offering `protocols`; a non-101 answer is an error carrying the server's status
// and body.
Result<Upgraded> upgrade(const std::string& url, Transport transport, const std::vector<std::string>& protocols,
                         std::chrono::milliseconds timeout, const TlsOptions& tls = {});

// Bytes arriving for a reader on another thread.
class ByteQueue {
 public:
  void push(std::string_view data);
  void finish();  // end of stream
  Result<size_t> pop(char* buf, size_t n, std::chrono::milliseconds timeout);
  bool finished();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::string data_;
  bool eof_ = false;
};

}  // namespace zoned::streaming::client
