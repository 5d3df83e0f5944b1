// zoned-stream-client: speaks the Kubernetes streaming protocols to a streaming URL (from
// CRI Exec/Attach/PortForward, or kubelet-compatible servers), for the e2e suite and humans.
//   zoned-stream-client exec|attach URL [--stdin] [--tty] [--size COLSxROWS] [--ws] [--protocol P]...
//   zoned-stream-client port-forward URL LOCALPORT:PORT... [--ws]
// https:// URLs: --ca FILE (the CA bundle to verify the server against; default the system's)
// or --insecure (no verification).
// exec/attach copy stdin (with --stdin) and print both output streams; the exit code is the
// command's. --size sends one terminal resize right after the session starts (with --tty). port-forward listens on
// 127.0.0.1:LOCALPORT and forwards each connection.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "zoned/streaming/client.h"

using namespace zoned::streaming::client;
using namespace std::chrono_literals;

namespace {

int usage() {
  std::fprintf(
      stderr,
      "usage: zoned-stream-client exec|attach URL [--stdin] [--tty] [--size COLSxROWS] [--ws] [--protocol P]...\n"
      "       zoned-stream-client port-forward URL LOCALPORT:PORT... [--ws]\n");
  return 2;
}

void write_fd(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n <= 0) return;
    data.remove_prefix(static_cast<size_t>(n));
  }
}

int run_command(const std::string& url, CommandOptions options, uint16_t cols, uint16_t rows) {
  auto session = CommandSession::start(
      url, options, [](std::string_view d) { write_fd(1, d); }, [](std::string_view d) { write_fd(2, d); });
  if (!session.ok()) {
    std::fprintf(stderr, "zoned-stream-client: %s\n", session.error().describe().c_str());
    return 1;
  }
  if (cols != 0 && rows != 0) {
    auto resized = (*session)->resize(cols, rows);
    if (!resized.ok()) {
      std::fprintf(stderr, "zoned-stream-client: resize: %s\n", resized.error().describe().c_str());
      return 1;
    }
  }
  std::thread input;
  if (options.stdin) {
    input = std::thread([&] {
      char buf[32 * 1024];
      while (true) {
        const ssize_t n = ::read(0, buf, sizeof(buf));
        if (n <= 0) break;
        if (!(*session)->write_stdin(std::string_view(buf, static_cast<size_t>(n))).ok()) break;
      }
      (void)(*session)->close_stdin();
    });
    input.detach();  // a read(0) cannot be interrupted portably; the process exits below
  }
  auto result = (*session)->wait(std::chrono::hours(24 * 365));
  if (!result.ok()) {
    std::fprintf(stderr, "zoned-stream-client: %s\n", result.error().describe().c_str());
    return 1;
  }
  if (result->failed) {
    std::fprintf(stderr, "zoned-stream-client: %s\n", result->message.c_str());
    return 1;
  }
  std::fflush(stdout);
  ::_exit(result->exit_code & 0xff);
}

void forward_one(PortForwardSession& session, int fd, uint16_t port) {
  auto stream = session.open(port);
  if (!stream.ok()) {
    std::fprintf(stderr, "zoned-stream-client: %s\n", stream.error().describe().c_str());
    ::close(fd);
    return;
  }
  std::atomic<bool> done{false};
  std::thread back([&] {
    char buf[32 * 1024];
    while (!done) {
      auto got = (*stream)->read(buf, sizeof(buf), 200ms);
      if (!got.ok()) continue;
      if (*got == 0) break;
      write_fd(fd, std::string_view(buf, *got));
    }
    const std::string error = (*stream)->error_text();
    if (!error.empty()) std::fprintf(stderr, "zoned-stream-client: %s\n", error.c_str());
    ::shutdown(fd, SHUT_WR);
  });
  char buf[32 * 1024];
  while (true) {
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    if (!(*stream)->write(std::string_view(buf, static_cast<size_t>(n))).ok()) break;
  }
  (void)(*stream)->close_write();
  back.join();
  done = true;
  ::close(fd);
}

int run_port_forward(const std::string& url, const std::vector<std::pair<uint16_t, uint16_t>>& mappings, bool ws,
                     const TlsOptions& tls) {
  std::vector<uint16_t> remote;
  for (const auto& m : mappings) remote.push_back(m.second);
  auto session = ws ? PortForwardSession::connect_websocket(url, remote, 10s, tls)
                    : PortForwardSession::connect_spdy(url, 10s, tls);
  if (!session.ok()) {
    std::fprintf(stderr, "zoned-stream-client: %s\n", session.error().describe().c_str());
    return 1;
  }
  std::vector<pollfd> listeners;
  for (const auto& m : mappings) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(m.first);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(fd, 16) != 0) {
      std::fprintf(stderr, "zoned-stream-client: cannot listen on 127.0.0.1:%u: %s\n", m.first, std::strerror(errno));
      return 1;
    }
    std::fprintf(stderr, "Forwarding from 127.0.0.1:%u -> %u\n", m.first, m.second);
    listeners.push_back({fd, POLLIN, 0});
  }
  while (true) {
    if (::poll(listeners.data(), listeners.size(), -1) < 0) continue;
    for (size_t i = 0; i < listeners.size(); ++i) {
      if ((listeners[i].revents & POLLIN) == 0) continue;
      const int conn = ::accept4(listeners[i].fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0) continue;
      std::thread([&session, conn, port = mappings[i].second] { forward_one(**session, conn, port); }).detach();
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  const std::string verb = argv[1], url = argv[2];
  CommandOptions options;
  std::vector<std::string> protocols;
  std::vector<std::pair<uint16_t, uint16_t>> mappings;
  bool ws = false;
  uint16_t cols = 0, rows = 0;
  for (int i = 3; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--stdin" || arg == "-i") {
      options.stdin = true;
    } else if (arg == "--tty" || arg == "-t") {
      options.tty = true;
    } else if (arg == "--size" && i + 1 < argc) {
      const std::string size = argv[++i];
      const size_t x = size.find('x');
      const int c = x == std::string::npos ? 0 : std::atoi(size.substr(0, x).c_str());
      const int r = x == std::string::npos ? 0 : std::atoi(size.substr(x + 1).c_str());
      if (c <= 0 || c > 65535 || r <= 0 || r > 65535) return usage();
      cols = static_cast<uint16_t>(c);
      rows = static_cast<uint16_t>(r);
    } else if (arg == "--ca" && i + 1 < argc) {
      options.tls.ca_file = argv[++i];
    } else if (arg == "--insecure") {
      options.tls.insecure_skip_verify = true;
    } else if (arg == "--ws") {
      ws = true;
    } else if (arg == "--protocol" && i + 1 < argc) {
      protocols.emplace_back(argv[++i]);
    } else if (verb == "port-forward" && arg.find(':') != std::string::npos) {
      const int local = std::atoi(arg.substr(0, arg.find(':')).c_str());
      const int remote = std::atoi(arg.substr(arg.find(':') + 1).c_str());
      if (local <= 0 || local > 65535 || remote <= 0 || remote > 65535) return usage();
      mappings.emplace_back(static_cast<uint16_t>(local), static_cast<uint16_t>(remote));
    } else {
      return usage();
    }
  }
  if (verb == "exec" || verb == "attach") {
    options.transport = ws ? Transport::kWebSocket : Transport::kSpdy;
    if (!protocols.empty()) options.protocols = protocols;
    return run_command(url, options, cols, rows);
  }
  if (verb == "port-forward" && !mappings.empty()) return run_port_forward(url, mappings, ws, options.tls);
  return usage();
}
