#include <charconv>

#include "client_internal.h"
#include "tls.h"
#include "websocket.h"

namespace zoned::streaming::client {

Result<Url> parse_url(const std::string& url) {
  Url out;
  std::string rest;
  if (std::string_view(url).starts_with("http://")) {
    rest = url.substr(7);
  } else if (std::string_view(url).starts_with("https://")) {
    rest = url.substr(8);
    out.tls = true;
    out.port = 443;
  } else {
    return Error(ErrorCode::kInvalidArgument, "only http:// and https:// streaming URLs are supported: " + url);
  }
  const size_t slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  out.target = slash == std::string::npos ? "/" : rest.substr(slash);
  const size_t colon = authority.rfind(':');
  if (colon == std::string::npos || authority.back() == ']') {
    out.host = authority;
  } else {
    out.host = authority.substr(0, colon);
    unsigned port = 0;
    const auto text = std::string_view(authority).substr(colon + 1);
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
    if (ec != std::errc() || end != text.data() + text.size() || port == 0 || port > 65535) {
      return Error(ErrorCode::kInvalidArgument, "bad port in URL " + url);
    }
    out.port = static_cast<uint16_t>(port);
  }
  if (out.host.size() >= 2 && out.host.front() == '[') out.host = out.host.substr(1, out.host.size() - 2);
  if (out.host.empty()) return Error(ErrorCode::kInvalidArgument, "no host in URL " + url);
  return out;
}

Result<Upgraded> upgrade(const std::string& url, Transport transport, const std::vector<std::string>& protocols,
                         std::chrono::milliseconds timeout, const TlsOptions& tls) {
  auto parsed = parse_url(url);
  if (!parsed) return std::move(parsed).take_error();
  auto fd = connect_tcp(parsed->host, parsed->port, timeout);
  if (!fd) return std::move(fd).take_error();
  Upgraded out;
  out.socket = std::make_unique<Socket>(std::move(*fd));
  if (parsed->tls) {
    auto context = TlsContext::client(tls.ca_file, tls.insecure_skip_verify);
    if (!context.ok()) return std::move(context).take_error();
    ZONED_TRY(out.socket->start_tls(**context, false, parsed->host, timeout));
  }
  std::string request = "GET " + parsed->target + " HTTP/1.1\r\nHost: " + parsed->host + ":" +
                        std::to_string(parsed->port) + "\r\nConnection: Upgrade\r\n";
  std::string key;
  if (transport == Transport::kSpdy) {
    request += "Upgrade: SPDY/3.1\r\n";
    for (const auto& p : protocols) request += "X-Stream-Protocol-Version: " + p + "\r\n";
  } else {
    char nonce[16];
    ZONED_TRY(ws::random_bytes(nonce, sizeof(nonce)));
    key = ws::base64_encode(std::string_view(nonce, sizeof(nonce)));
    request += "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + key + "\r\n";
    std::string list;
    for (const auto& p : protocols) list += (list.empty() ? "" : ", ") + p;
    if (!list.empty()) request += "Sec-WebSocket-Protocol: " + list + "\r\n";
  }
  request += "\r\n";
  ZONED_TRY(out.socket->write_all(request));
  auto head = read_http_head(*out.socket, false, timeout, out.leftover);
  if (!head) return std::move(head).take_error().wrap("upgrading " + url);
  out.response = std::move(*head);
  if (out.response.status != 101) {
    // The body (if any) says why: read what is there.
    std::string body = out.leftover;
    char buf[2048];
    auto got = out.socket->read_some(buf, sizeof(buf), std::chrono::milliseconds(500));
    if (got && *got > 0) body.append(buf, *got);
    while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
    const ErrorCode code = out.response.status == 404   ? ErrorCode::kNotFound
                           : out.response.status == 403 ? ErrorCode::kPermissionDenied
                           : out.response.status == 503 ? ErrorCode::kUnavailable
                                                        : ErrorCode::kInvalidArgument;
    return Error(code, "upgrade refused: HTTP " + std::to_string(out.response.status) + ": " + body);
  }
  if (transport == Transport::kSpdy) {
    out.protocol = std::string(out.response.header("x-stream-protocol-version").value_or(""));
  } else {
    if (out.response.header("sec-websocket-accept").value_or("") != ws::accept_key(key)) {
      return Error(ErrorCode::kInvalidArgument, "websocket: bad Sec-WebSocket-Accept");
    }
    out.protocol = std::string(out.response.header("sec-websocket-protocol").value_or(""));
  }
  return out;
}

void ByteQueue::push(std::string_view data) {
  {
    std::lock_guard lock(mu_);
    data_.append(data);
  }
  cv_.notify_all();
}

void ByteQueue::finish() {
  {
    std::lock_guard lock(mu_);
    eof_ = true;
  }
  cv_.notify_all();
}

bool ByteQueue::finished() {
  std::lock_guard lock(mu_);
  return eof_ && data_.empty();
}

Result<size_t> ByteQueue::pop(char* buf, size_t n, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  if (!cv_.wait_for(lock, timeout, [&] { return eof_ || !data_.empty(); })) {
    return Error(ErrorCode::kDeadlineExceeded, "no data in time");
  }
  const size_t take = std::min(n, data_.size());
  data_.copy(buf, take);
  data_.erase(0, take);
  return take;
}

}  // namespace zoned::streaming::client
