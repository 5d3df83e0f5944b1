#include "fake_registry_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <stdexcept>

namespace zoned::oci::testing {
namespace {

constexpr size_t kMaxRequestHead = 64 * 1024;

UniqueFd listen_on_loopback(int& port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) throw std::runtime_error("bind failed");
  socklen_t len = sizeof addr;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  port = ntohs(addr.sin_port);
  return fd;
}

std::string lower(std::string s) {
  for (char& c : s) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return s;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r')) s.remove_suffix(1);
  return std::string(s);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i] == '+' ? ' ' : s[i];
    }
  }
  return out;
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Reads the request head and body (Content-Length only). Empty method on failure.
FakeRequest read_request(int fd) {
  FakeRequest req;
  std::string buf;
  char chunk[4096];
  size_t head_end;
  while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
    if (buf.size() > kMaxRequestHead) return req;
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return req;
    buf.append(chunk, static_cast<size_t>(n));
  }
  std::string_view head(buf.data(), head_end);
  size_t line_end = head.find("\r\n");
  std::string_view request_line = head.substr(0, line_end);
  size_t sp1 = request_line.find(' ');
  size_t sp2 = request_line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos) return req;
  std::string target(request_line.substr(sp1 + 1, sp2 - sp1 - 1));
  size_t q = target.find('?');
  req.path = target.substr(0, q);
  req.query = q == std::string::npos ? "" : target.substr(q + 1);
  while (line_end != std::string_view::npos) {
    size_t start = line_end + 2;
    line_end = head.find("\r\n", start);
    std::string_view line = head.substr(start, line_end == std::string_view::npos ? line_end : line_end - start);
    size_t colon = line.find(':');
    if (colon != std::string_view::npos)
      req.headers[lower(std::string(line.substr(0, colon)))] = trim(line.substr(colon + 1));
  }
  req.body = buf.substr(head_end + 4);
  size_t length = req.headers.contains("content-length") ? std::stoul(req.headers["content-length"]) : 0;
  while (req.body.size() < length) {
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) break;
    req.body.append(chunk, static_cast<size_t>(n));
  }
  req.method = std::string(request_line.substr(0, sp1));
  return req;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 302: return "Found";
    case 307: return "Temporary Redirect";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

void write_response(int fd, const FakeResponse& r) {
  std::string head = "HTTP/1.1 " + std::to_string(r.status) + " " + std::string(reason_phrase(r.status)) + "\r\n";
  for (const auto& [name, value] : r.headers) head += name + ": " + value + "\r\n";
  if (!r.omit_content_length) head += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  head += "Connection: close\r\n\r\n";
  std::string_view body = r.body;
  if (r.cut_after) body = body.substr(0, *r.cut_after);
  if (send_all(fd, head)) send_all(fd, body);
}

}  // namespace

std::string FakeRequest::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

std::string FakeRequest::query_param(std::string_view name) const {
  std::string_view rest = query;
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    size_t eq = pair.find('=');
    if (percent_decode(pair.substr(0, eq)) == name) {
      return eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return "";
}

FakeResponse& FakeResponse::with_header(std::string name, std::string value) {
  headers.emplace_back(std::move(name), std::move(value));
  return *this;
}

FakeResponse FakeResponse::registry_error(int status, std::string_view code, std::string_view message) {
  FakeResponse r;
  r.status = status;
  r.body = R"({"errors":[{"code":")" + std::string(code) + R"(","message":")" + std::string(message) + R"("}]})";
  r.with_header("Content-Type", "application/json");
  return r;
}

FakeResponse FakeResponse::redirect(std::string location) {
  FakeResponse r;
  r.status = 307;
  r.with_header("Location", std::move(location));
  return r;
}

FakeRegistryServer::FakeRegistryServer() {
  listener_ = listen_on_loopback(port_);
  if (::listen(listener_.get(), 64) != 0) throw std::runtime_error("listen failed");
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  wake_read_.reset(pipe_fds[0]);
  wake_write_.reset(pipe_fds[1]);
  acceptor_ = std::thread([this] { accept_loop(); });
}

FakeRegistryServer::~FakeRegistryServer() {
  stopping_ = true;
  (void)!::write(wake_write_.get(), "x", 1);
  acceptor_.join();
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    threads.swap(connections_);
  }
  for (std::thread& t : threads) t.join();
}

std::string FakeRegistryServer::host() const {
  return "127.0.0.1:" + std::to_string(port_);
}
std::string FakeRegistryServer::url() const {
  return "http://" + host();
}

void FakeRegistryServer::route(const std::string& path, FakeHandler handler) {
  std::lock_guard lock(mutex_);
  routes_[path] = std::move(handler);
}

void FakeRegistryServer::route(const std::string& path, FakeResponse response) {
  route(path, [response](const FakeRequest&) { return response; });
}

std::vector<FakeRequest> FakeRegistryServer::requests() const {
  std::lock_guard lock(mutex_);
  return log_;
}

size_t FakeRegistryServer::count(const std::string& path) const {
  std::lock_guard lock(mutex_);
  size_t n = 0;
  for (const FakeRequest& r : log_) n += r.path == path ? size_t{1} : size_t{0};
  return n;
}

int FakeRegistryServer::unused_port() {
  int port = 0;
  UniqueFd fd = listen_on_loopback(port);  // bound but not listening: connects are refused
  return port;
}

void FakeRegistryServer::accept_loop() {
  while (!stopping_) {
    pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {wake_read_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) continue;
    if (stopping_ || (fds[1].revents & POLLIN) != 0) break;
    UniqueFd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn.valid()) continue;
    timeval timeout{2, 0};
    ::setsockopt(conn.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    std::lock_guard lock(mutex_);
    connections_.emplace_back([this, c = conn.release()]() mutable { serve(UniqueFd(c)); });
  }
}

FakeResponse FakeRegistryServer::dispatch(const FakeRequest& request) {
  FakeHandler handler;
  {
    std::lock_guard lock(mutex_);
    log_.push_back(request);
    auto it = routes_.find(request.path);
    if (it != routes_.end()) handler = it->second;
  }
  if (!handler) return FakeResponse::registry_error(404, "NAME_UNKNOWN", "repository name not known to registry");
  return handler(request);
}

void FakeRegistryServer::serve(UniqueFd conn) {
  FakeRequest request = read_request(conn.get());
  if (request.method.empty()) return;
  write_response(conn.get(), dispatch(request));
  ::shutdown(conn.get(), SHUT_WR);
}

}  // namespace zoned::oci::testing
