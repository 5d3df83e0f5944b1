#include "http.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace zoned::streaming {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

Error bad_http(std::string message) {
  return Error(ErrorCode::kInvalidArgument, "http: " + std::move(message));
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i] == '+' ? ' ' : s[i]);
    }
  }
  return out;
}

std::optional<std::string_view> HttpHead::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return std::nullopt;
}

std::vector<std::string> HttpHead::header_values(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [key, value] : headers) {
    if (key == name) out.push_back(value);
  }
  return out;
}

std::vector<std::string> HttpHead::header_tokens(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& value : header_values(name)) {
    std::string_view rest = value;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      const auto token = trim(rest.substr(0, comma));
      if (!token.empty()) out.emplace_back(token);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return out;
}

std::vector<std::string> HttpHead::query_values(std::string_view name) const {
  std::vector<std::string> out;
  std::string_view rest = query;
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    const auto pair = rest.substr(0, amp);
    const size_t eq = pair.find('=');
    if (percent_decode(pair.substr(0, eq)) == name) {
      out.push_back(eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1)));
    }
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return out;
}

Result<HttpHead> parse_http_head(std::string_view head, bool is_request) {
  HttpHead out;
  size_t eol = head.find("\r\n");
  const std::string_view first = head.substr(0, eol);
  const size_t sp1 = first.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : first.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos) return bad_http("malformed first line");
  if (is_request) {
    out.method = first.substr(0, sp1);
    out.target = first.substr(sp1 + 1, sp2 - sp1 - 1);
    if (first.substr(sp2 + 1) != "HTTP/1.1") return bad_http("only HTTP/1.1 can upgrade");
    const size_t q = out.target.find('?');
    out.path = out.target.substr(0, q);
    if (q != std::string::npos) out.query = out.target.substr(q + 1);
    if (out.path.empty() || out.path.front() != '/') return bad_http("bad request target");
  } else {
    if (!first.starts_with("HTTP/1.")) return bad_http("not an HTTP response");
    const auto code = first.substr(sp1 + 1, sp2 - sp1 - 1);
    const auto [end, ec] = std::from_chars(code.data(), code.data() + code.size(), out.status);
    if (ec != std::errc() || end != code.data() + code.size()) return bad_http("bad status code");
    out.reason = first.substr(sp2 + 1);
  }
  while (eol != std::string_view::npos && eol + 2 < head.size()) {
    const size_t start = eol + 2;
    eol = head.find("\r\n", start);
    const auto line = head.substr(start, eol == std::string_view::npos ? std::string_view::npos : eol - start);
    if (line.empty()) break;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return bad_http("malformed header line");
    if (out.headers.size() >= 100) return bad_http("too many headers");
    out.headers.emplace_back(lower(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1))));
  }
  return out;
}

Result<HttpHead> read_http_head(Socket& socket, bool is_request, std::chrono::milliseconds timeout,
                                std::string& leftover) {
  std::string buffer;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char chunk[4096];
  while (true) {
    const size_t end = buffer.find("\r\n\r\n");
    if (end != std::string::npos) {
      if (end > kMaxHttpHead) return bad_http("head larger than 16 KiB");
      leftover = buffer.substr(end + 4);
      return parse_http_head(std::string_view(buffer).substr(0, end + 2), is_request);
    }
    if (buffer.size() > kMaxHttpHead) return bad_http("head larger than 16 KiB");
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Error(ErrorCode::kDeadlineExceeded, "http: head not received in time");
    auto got = socket.read_some(chunk, sizeof(chunk), left);
    if (!got) return std::move(got).take_error().wrap("http");
    if (*got == 0) return Error(ErrorCode::kUnavailable, "http: connection closed before the head ended");
    buffer.append(chunk, *got);
  }
}

std::string http_error_response(int code, std::string_view reason, std::string_view body) {
  std::string out = "HTTP/1.1 " + std::to_string(code) + " " + std::string(reason) + "\r\n";
  out += "Content-Type: text/plain; charset=utf-8\r\nConnection: close\r\n";
  out += "Content-Length: " + std::to_string(body.size() + 1) + "\r\n\r\n";
  out += body;
  out += "\n";
  return out;
}

}  // namespace zoned::streaming
