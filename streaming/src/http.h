// Just enough HTTP/1.1 for upgrades: read a request or response head (bounded), look up
// headers case-insensitively, split the query string, write simple responses.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "socket.h"
#include "zoned/common/result.h"

namespace zoned::streaming {

struct HttpHead {
  // Request: method, target ("/exec/abc?x=1"), path, query. Response: status, reason.
  std::string method, target, path, query;
  int status = 0;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased

  std::optional<std::string_view> header(std::string_view name) const;
  // All values of a header, split on commas and trimmed (Upgrade, Sec-WebSocket-Protocol, ...).
  std::vector<std::string> header_tokens(std::string_view name) const;
  // Every value of a repeated header, unsplit (X-Stream-Protocol-Version may repeat).
  std::vector<std::string> header_values(std::string_view name) const;
  std::vector<std::string> query_values(std::string_view name) const;
};

inline constexpr size_t kMaxHttpHead = 16 * 1024;

// Reads up to the blank line; bytes after it (the start of the upgraded protocol) go to
// `leftover`. Errors: too long, malformed, peer closed, timeout.
Result<HttpHead> read_http_head(Socket& socket, bool is_request, std::chrono::milliseconds timeout,
                                std::string& leftover);
Result<HttpHead> parse_http_head(std::string_view head, bool is_request);

// "HTTP/1.1 <code> <reason>" with a text body and Connection: close.
std::string http_error_response(int code, std::string_view reason, std::string_view body);
std::string lower(std::string_view s);
std::string percent_decode(std::string_view s);

}  // namespace zoned::streaming
