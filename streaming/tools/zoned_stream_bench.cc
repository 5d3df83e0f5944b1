// zoned-stream-bench: the streaming server's own overhead on loopback, with a trivial backend
// (exec exits 0 at once; dial connects to a local server that sends N MiB and closes).
//   zoned-stream-bench [exec-iterations] [port-forward-MiB]
// Prints exec round-trip latency (URL request to exit status, SPDY and WebSocket) and
// port-forward throughput (pod -> client) in MB/s.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "zoned/streaming/client.h"
#include "zoned/streaming/server.h"

using namespace zoned;
using namespace zoned::streaming;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

class DoneSession final : public ExecSession {
 public:
  Status write_stdin(std::string_view) override { return ok_status(); }
  Status close_stdin() override { return ok_status(); }
  Status resize(uint32_t, uint32_t) override { return ok_status(); }
  Status signal(uint32_t) override { return ok_status(); }
  Result<std::optional<ExecResult>> wait(std::chrono::milliseconds) override {
    return std::optional<ExecResult>(ExecResult{});
  }
};

class BenchBackend final : public StreamingBackend {
 public:
  explicit BenchBackend(uint16_t source_port) : source_port_(source_port) {}
  Result<std::unique_ptr<ExecSession>> exec(const ExecRequest&, ExecOutputSink) override {
    return std::unique_ptr<ExecSession>(std::make_unique<DoneSession>());
  }
  Result<std::unique_ptr<AttachSession>> attach(const AttachRequest&, ExecOutputSink) override {
    return Error(ErrorCode::kUnimplemented, "bench: no attach");
  }
  Result<std::unique_ptr<PortConnection>> dial(const std::string&, uint16_t) override {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(source_port_);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return sys_error("connect");
    return make_tcp_port_connection(std::move(fd));
  }

 private:
  uint16_t source_port_;
};

double exec_latency_ms(StreamingServer& server, client::Transport transport, int iterations) {
  std::vector<double> samples;
  ExecRequest request;
  request.container_id = "bench";
  request.args = {"true"};
  client::CommandOptions options;
  options.transport = transport;
  for (int i = 0; i < iterations; ++i) {
    const auto start = Clock::now();
    auto url = server.request_exec(request, ExecStreams{});
    auto session = client::CommandSession::start(*url, options, nullptr, nullptr);
    if (!session.ok() || !(*session)->wait(10s).ok()) return -1;
    samples.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int iterations = argc > 1 ? std::atoi(argv[1]) : 200;
  const size_t mib = argc > 2 ? static_cast<size_t>(std::atoi(argv[2])) : 256;
  // The "pod" side: sends `mib` MiB to whoever connects.
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  ::listen(listener, 4);
  socklen_t len = sizeof(addr);
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  std::thread source([&] {
    const int fd = ::accept(listener, nullptr, nullptr);
    const std::string chunk(1 << 20, 'z');
    for (size_t i = 0; i < mib; ++i) {
      if (::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL) <= 0) break;
    }
    ::close(fd);
  });
  BenchBackend backend(ntohs(addr.sin_port));
  auto server = StreamingServer::start({}, backend);
  if (!server.ok()) return 1;
  std::printf("exec round trip (request URL .. exit status), median of %d: SPDY %.2f ms, WebSocket %.2f ms\n",
              iterations, exec_latency_ms(**server, client::Transport::kSpdy, iterations),
              exec_latency_ms(**server, client::Transport::kWebSocket, iterations));
  auto url = (*server)->request_port_forward("bench");
  auto pf = client::PortForwardSession::connect_spdy(*url, 10s);
  auto stream = (*pf)->open(80);
  const auto start = Clock::now();
  size_t total = 0;
  std::vector<char> buf(256 * 1024);
  while (true) {
    auto got = (*stream)->read(buf.data(), buf.size(), 10s);
    if (!got.ok() || *got == 0) break;
    total += *got;
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("port-forward over SPDY, pod -> client: %zu MiB in %.2f s = %.1f MB/s\n", total >> 20, seconds,
              static_cast<double>(total) / 1e6 / seconds);
  source.join();
  ::close(listener);
  return total == mib << 20 ? 0 : 1;
}
