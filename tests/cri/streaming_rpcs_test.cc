// Exec, Attach and PortForward: the CRI RPCs over a real socket against FakeZoneManager, with
// the real StreamingServer (backend: cri::make_zone_streaming_backend) and the real streaming
// client library speaking SPDY over loopback, as kubelet/kubectl would.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <mutex>
#include <thread>

#include "cri/runtime_fixture.h"
#include "zoned/common/unique_fd.h"
#include "zoned/cri/streaming_backend.h"
#include "zoned/streaming/client.h"
#include "zoned/streaming/server.h"

namespace {

using namespace zoned;
using namespace zoned::testing;
using Catch::Matchers::ContainsSubstring;
using Catch::Matchers::StartsWith;
namespace v1 = ::runtime::v1;
namespace sc = zoned::streaming::client;

struct StreamingFixture : RuntimeFixture {
  std::unique_ptr<streaming::StreamingBackend> backend = cri::make_zone_streaming_backend(zones);
  std::unique_ptr<streaming::StreamingServer> streaming;
  StreamingFixture() {
    auto started = streaming::StreamingServer::start({}, *backend);
    REQUIRE(started.ok());
    streaming = std::move(*started);
    service->set_streaming_server(streaming.get());
  }
  ~StreamingFixture() {
    stop();  // the CRI server first
    streaming->stop();
  }

  std::string running(const std::string& pod, const std::string& pod_name, const std::string& name,
                      const std::vector<std::string>& cmd, bool stdin = false, bool tty = false) {
    auto config = container_config(name, cmd);
    config.set_stdin(stdin);
    config.set_tty(tty);
    std::string id;
    auto created = create_container(pod, pod_config(pod_name), config, &id);
    INFO(created.error_message());
    REQUIRE(created.ok());
    REQUIRE(start_container(id).ok());
    return id;
  }

  grpc::Status exec(const v1::ExecRequest& request, std::string* url) {
    grpc::ClientContext cc;
    v1::ExecResponse response;
    auto status = stub->Exec(&cc, request, &response);
    *url = response.url();
    return status;
  }
  grpc::Status attach(const v1::AttachRequest& request, std::string* url) {
    grpc::ClientContext cc;
    v1::AttachResponse response;
    auto status = stub->Attach(&cc, request, &response);
    *url = response.url();
    return status;
  }
  grpc::Status port_forward(const std::string& pod, std::string* url) {
    grpc::ClientContext cc;
    v1::PortForwardRequest request;
    request.set_pod_sandbox_id(pod);
    request.add_port(80);
    v1::PortForwardResponse response;
    auto status = stub->PortForward(&cc, request, &response);
    *url = response.url();
    return status;
  }
};

v1::ExecRequest exec_request(const std::string& id, std::vector<std::string> cmd) {
  v1::ExecRequest r;
  r.set_container_id(id);
  for (const auto& a : cmd) r.add_cmd(a);
  r.set_stdout(true);
  r.set_stderr(true);
  return r;
}

struct Output {
  std::mutex mu;
  std::string out, err;
  sc::OutputCallback to_out() {
    return [this](std::string_view d) {
      std::lock_guard lock(mu);
      out += d;
    };
  }
  sc::OutputCallback to_err() {
    return [this](std::string_view d) {
      std::lock_guard lock(mu);
      err += d;
    };
  }
  std::string get_out() {
    std::lock_guard lock(mu);
    return out;
  }
};

// An echo server on 127.0.0.1 (FakeZoneManager::dial connects to this host), one thread per
// connection.
struct EchoServer {
  UniqueFd fd{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  uint16_t port = 0;
  std::vector<std::thread> threads;
  EchoServer() {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd.get(), 8) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port = ntohs(addr.sin_port);
    threads.emplace_back([this] {
      for (int i = 0; i < 2; ++i) {
        const int c = ::accept4(fd.get(), nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) return;
        threads.emplace_back([c] {
          char buf[4096];
          for (;;) {
            const ssize_t n = ::recv(c, buf, sizeof buf, 0);
            if (n <= 0) break;
            (void)::send(c, buf, static_cast<size_t>(n), MSG_NOSIGNAL);
          }
          ::close(c);
        });
      }
    });
  }
  ~EchoServer() {
    ::shutdown(fd.get(), SHUT_RDWR);
    for (size_t i = 0; i < threads.size(); ++i) threads[i].join();
  }
};

std::string read_n(sc::ForwardStream& s, size_t n) {
  std::string got;
  char buf[256];
  while (got.size() < n) {
    auto r = s.read(buf, sizeof buf, std::chrono::seconds(5));
    if (!r.ok() || *r == 0) break;
    got.append(buf, *r);
  }
  return got;
}

}  // namespace

TEST_CASE("Exec: the URL runs the command in the container; both streams and the exit code come back") {
  StreamingFixture f;
  const std::string pod = f.run_pod("p");
  const std::string id = f.running(pod, "p", "c", {"sleep"});
  std::string url;
  REQUIRE(f.exec(exec_request(id, {"echo", "out"}), &url).ok());
  CHECK_THAT(url, StartsWith(f.streaming->base_url() + "/exec/"));
  Output o;
  auto session = sc::CommandSession::start(url, {}, o.to_out(), o.to_err());
  REQUIRE(session.ok());
  auto result = (*session)->wait(std::chrono::seconds(10));
  REQUIRE(result.ok());
  CHECK(result->exit_code == 0);
  CHECK(o.get_out() == "out\n");
  CHECK(f.zones.last_exec().container_id == id);
  CHECK(f.zones.last_exec().args == std::vector<std::string>{"echo", "out"});

  REQUIRE(f.exec(exec_request(id, {"exit", "3"}), &url).ok());
  auto failing = sc::CommandSession::start(url, {}, o.to_out(), o.to_err());
  REQUIRE(failing.ok());
  auto three = (*failing)->wait(std::chrono::seconds(10));
  REQUIRE(three.ok());
  CHECK(three->exit_code == 3);

  REQUIRE(f.exec(exec_request(id, {"echo-err", "oops"}), &url).ok());
  Output e;
  auto err = sc::CommandSession::start(url, {}, e.to_out(), e.to_err());
  REQUIRE(err.ok());
  REQUIRE((*err)->wait(std::chrono::seconds(10)).ok());
  std::lock_guard lock(e.mu);
  CHECK(e.err == "oops\n");
}

TEST_CASE("Exec with stdin: the client's input reaches the process; URLs are single use") {
  StreamingFixture f;
  const std::string pod = f.run_pod("p");
  const std::string id = f.running(pod, "p", "c", {"sleep"});
  auto request = exec_request(id, {"cat"});
  request.set_stdin(true);
  std::string url;
  REQUIRE(f.exec(request, &url).ok());
  Output o;
  sc::CommandOptions options;
  options.stdin = true;
  auto session = sc::CommandSession::start(url, options, o.to_out(), o.to_err());
  REQUIRE(session.ok());
  REQUIRE((*session)->write_stdin("piped\n").ok());
  REQUIRE((*session)->close_stdin().ok());
  auto result = (*session)->wait(std::chrono::seconds(10));
  REQUIRE(result.ok());
  CHECK(result->exit_code == 0);
  CHECK(o.get_out() == "piped\n");
  CHECK_FALSE(sc::CommandSession::start(url, options, o.to_out(), o.to_err()).ok());  // used
}

TEST_CASE("Exec, Attach, PortForward refuse bad requests as containerd does") {
  StreamingFixture f;
  const std::string pod = f.run_pod("p");
  const std::string id = f.running(pod, "p", "c", {"sleep"});
  std::string url;
  CHECK(f.exec(exec_request(id, {}), &url).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  auto tty_stderr = exec_request(id, {"echo"});
  tty_stderr.set_tty(true);
  CHECK(f.exec(tty_stderr, &url).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  auto no_streams = exec_request(id, {"echo"});
  no_streams.set_stdout(false);
  no_streams.set_stderr(false);
  CHECK(f.exec(no_streams, &url).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(f.exec(exec_request("nope", {"echo"}), &url).error_code() == grpc::StatusCode::NOT_FOUND);
  std::string created;
  REQUIRE(f.create_container(pod, f.pod_config("p"), f.container_config("idle", {"sleep"}), &created).ok());
  CHECK(f.exec(exec_request(created, {"echo"}), &url).error_code() == grpc::StatusCode::FAILED_PRECONDITION);

  v1::AttachRequest attach;
  attach.set_container_id(id);
  attach.set_stdin(true);  // created without stdin
  attach.set_stdout(true);
  CHECK(f.attach(attach, &url).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  attach.set_container_id("nope");
  CHECK(f.attach(attach, &url).error_code() == grpc::StatusCode::NOT_FOUND);

  CHECK(f.port_forward("nope", &url).error_code() == grpc::StatusCode::NOT_FOUND);
  REQUIRE(f.stop_pod(pod).ok());
  CHECK(f.port_forward(pod, &url).error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(f.exec(exec_request(id, {"echo"}), &url).error_code() == grpc::StatusCode::FAILED_PRECONDITION);

  f.service->set_streaming_server(nullptr);
  CHECK(f.exec(exec_request(id, {"echo"}), &url).error_code() == grpc::StatusCode::UNAVAILABLE);
}

TEST_CASE("Attach: the client writes to the container's stdin and reads its output") {
  StreamingFixture f;
  const std::string pod = f.run_pod("p");
  const std::string id = f.running(pod, "p", "c", {"sleep"}, true);
  v1::AttachRequest attach;
  attach.set_container_id(id);
  attach.set_stdin(true);
  attach.set_stdout(true);
  attach.set_stderr(true);
  std::string url;
  REQUIRE(f.attach(attach, &url).ok());
  CHECK_THAT(url, ContainsSubstring("/attach/"));
  Output o;
  sc::CommandOptions options;
  options.stdin = true;
  auto session = sc::CommandSession::start(url, options, o.to_out(), o.to_err());
  REQUIRE(session.ok());
  REQUIRE((*session)->write_stdin("hello attach\n").ok());
  for (int i = 0; i < 500 && o.get_out() != "hello attach\n"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(o.get_out() == "hello attach\n");
  CHECK(f.zones.last_attach().stdin);
  (*session)->abort();
}

TEST_CASE("PortForward: two connections at once through the URL to the pod's port") {
  StreamingFixture f;
  const std::string pod = f.run_pod("p");
  EchoServer echo;
  std::string url;
  REQUIRE(f.port_forward(pod, &url).ok());
  CHECK_THAT(url, ContainsSubstring("/portforward/"));
  auto session = sc::PortForwardSession::connect_spdy(url, std::chrono::seconds(10));
  REQUIRE(session.ok());
  auto a = (*session)->open(echo.port);
  REQUIRE(a.ok());
  auto b = (*session)->open(echo.port);
  REQUIRE(b.ok());
  REQUIRE((*a)->write("first").ok());
  REQUIRE((*b)->write("second").ok());
  CHECK(read_n(**b, 6) == "second");
  CHECK(read_n(**a, 5) == "first");
  REQUIRE((*a)->close_write().ok());
  (*session)->close();
}
