// One HTTP request/response over libcurl, with bounded headers and bodies and no automatic
// redirects or authentication (the registry layer decides those). Internal.
#pragma once

#include <curl/curl.h>

#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "zoned/common/result.h"

namespace zoned::oci::http {

struct Request {
  std::string method = "GET";  // "GET" or "POST"
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;                  // form body for POST
  bool verify_tls = true;
  long connect_timeout_seconds = 15;
  long low_speed_timeout_seconds = 60;  // abort when below 1 KiB/s for this long
  long total_timeout_seconds = 0;       // 0: no overall limit (blobs)
  size_t max_body_bytes = 1024 * 1024;  // a larger buffered 2xx body is an error
  // When set, a 2xx body is streamed here instead of being buffered; an error aborts the
  // transfer and is returned from perform() as is.
  std::function<Status(const char* data, size_t size)> stream;
};

struct Response {
  long status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, in order
  std::string body;  // buffered body; for non-2xx responses only its first 64 KiB

  std::optional<std::string> header(std::string_view lower_name) const;
  std::vector<std::string> headers_named(std::string_view lower_name) const;
};

// The URL without its query string, for messages (presigned blob URLs carry secrets there).
std::string redact(std::string_view url);

// Performs requests; thread-safe. Keeps a few idle curl handles so connections (and TLS
// sessions) are reused across requests, each handle used by one request at a time.
class Transport {
 public:
  Transport();
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Transport failures (connect, reset, timeout) are Unavailable; certificate problems are
  // FailedPrecondition; any HTTP status is a successful Response.
  Result<Response> perform(const Request& request);

 private:
  CURL* acquire();
  void release(CURL* handle);

  std::mutex mutex_;
  std::vector<CURL*> idle_;
};

}  // namespace zoned::oci::http
