// Exec, Attach and PortForward on real Xen (the devbox): URLs from the CRI socket, then the
// in-repo client zoned-stream-client run in dom0 (the streaming server listens on dom0's
// loopback), as kubelet would proxy kubectl. e2e/run ships the client to dom0
// (ZONED_E2E_STREAM_CLIENT is its path there).
#include <grpcpp/grpcpp.h>

#include <array>
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "api.grpc.pb.h"
#include "e2e_support.h"

namespace v1 = runtime::v1;
using Catch::Matchers::ContainsSubstring;
using namespace std::chrono_literals;

namespace {

using zoned::e2e::channel;
using zoned::e2e::dom0;
using zoned::e2e::env;
using zoned::e2e::quote;
using zoned::e2e::with_deadline;

const char* kImage = "registry.k8s.io/busybox:1.36";

std::string client() {
  return env("ZONED_E2E_STREAM_CLIENT");
}

#define REQUIRE_RPC(call)              \
  do {                                 \
    auto rpc_status_ = (call);         \
    INFO(rpc_status_.error_message()); \
    REQUIRE(rpc_status_.ok());         \
  } while (false)

// A pod with one running busybox container; removed at the end.
struct Pod {
  std::unique_ptr<v1::RuntimeService::Stub> rt = v1::RuntimeService::NewStub(channel());
  v1::PodSandboxConfig config;
  std::string id;
  std::string image;

  explicit Pod(const std::string& name) {
    auto images = v1::ImageService::NewStub(channel());
    v1::PullImageRequest pull;
    pull.mutable_image()->set_image(kImage);
    v1::PullImageResponse pulled;
    grpc::ClientContext pctx;
    with_deadline(pctx, 300s);
    REQUIRE_RPC(images->PullImage(&pctx, pull, &pulled));
    image = pulled.image_ref();
    config.mutable_metadata()->set_name(name);
    config.mutable_metadata()->set_namespace_("e2e");
    config.mutable_metadata()->set_uid("uid-" + name);
    config.set_hostname(name);
    config.set_log_directory("/var/log/pods/e2e_" + name);
    v1::RunPodSandboxRequest run;
    *run.mutable_config() = config;
    v1::RunPodSandboxResponse ran;
    grpc::ClientContext ctx;
    with_deadline(ctx, 180s);
    REQUIRE_RPC(rt->RunPodSandbox(&ctx, run, &ran));
    id = ran.pod_sandbox_id();
  }
  ~Pod() {
    v1::StopPodSandboxRequest stop;
    stop.set_pod_sandbox_id(id);
    v1::StopPodSandboxResponse stopped;
    grpc::ClientContext sctx;
    with_deadline(sctx, 120s);
    (void)rt->StopPodSandbox(&sctx, stop, &stopped);
    v1::RemovePodSandboxRequest remove;
    remove.set_pod_sandbox_id(id);
    v1::RemovePodSandboxResponse removed;
    grpc::ClientContext ctx;
    with_deadline(ctx, 120s);
    (void)rt->RemovePodSandbox(&ctx, remove, &removed);
  }

  std::string container(const std::string& name, const std::vector<std::string>& command, bool stdin = false,
                        bool stdin_once = false) {
    v1::CreateContainerRequest create;
    create.set_pod_sandbox_id(id);
    *create.mutable_sandbox_config() = config;
    auto* c = create.mutable_config();
    c->mutable_metadata()->set_name(name);
    c->mutable_image()->set_image(image);
    for (const auto& a : command) c->add_command(a);
    c->set_log_path(name + "/0.log");
    c->set_stdin(stdin);
    c->set_stdin_once(stdin_once);
    v1::CreateContainerResponse created;
    {
      grpc::ClientContext ctx;
      with_deadline(ctx, 120s);
      REQUIRE_RPC(rt->CreateContainer(&ctx, create, &created));
    }
    v1::StartContainerRequest start;
    start.set_container_id(created.container_id());
    v1::StartContainerResponse started;
    grpc::ClientContext ctx;
    with_deadline(ctx, 60s);
    REQUIRE_RPC(rt->StartContainer(&ctx, start, &started));
    return created.container_id();
  }

  std::string exec_url(const std::string& ctr, const std::vector<std::string>& cmd, bool stdin, bool tty) {
    v1::ExecRequest request;
    request.set_container_id(ctr);
    for (const auto& a : cmd) request.add_cmd(a);
    request.set_stdin(stdin);
    request.set_stdout(true);
    request.set_stderr(!tty);
    request.set_tty(tty);
    v1::ExecResponse response;
    grpc::ClientContext ctx;
    with_deadline(ctx, 30s);
    REQUIRE_RPC(rt->Exec(&ctx, request, &response));
    return response.url();
  }
};

}  // namespace

TEST_CASE("streaming: exec gives both streams and the exit code; stdin is piped; tty with resize") {
  Pod pod("stream-exec");
  const std::string ctr = pod.container("main", {"sleep", "3600"});

  auto start = std::chrono::steady_clock::now();
  auto [status, out] = dom0(client() + " exec " +
                            quote(pod.exec_url(ctr, {"sh", "-c", "echo out; echo err >&2; exit 3"}, false, false)));
  WARN("exec round trip through dom0: "
       << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() << " s");
  INFO(out);
  CHECK(status == 3);
  CHECK_THAT(out, ContainsSubstring("out"));
  CHECK_THAT(out, ContainsSubstring("err"));

  auto piped =
      dom0("echo piped-through | " + client() + " exec " + quote(pod.exec_url(ctr, {"cat"}, true, false)) + " --stdin");
  INFO(piped.second);
  CHECK(piped.first == 0);
  CHECK_THAT(piped.second, ContainsSubstring("piped-through"));

  // The resize is sent right after the session starts; the command looks a little later.
  auto tty = dom0(client() + " exec " +
                  quote(pod.exec_url(ctr, {"sh", "-c", "tty; sleep 3; stty size; exit 4"}, false, true)) +
                  " --tty --size 100x40");
  INFO(tty.second);
  CHECK(tty.first == 4);
  CHECK_THAT(tty.second, ContainsSubstring("/dev/pts/"));
  CHECK_THAT(tty.second, ContainsSubstring("40 100"));
}

TEST_CASE("streaming: attach reaches the container's main process stdin and output") {
  Pod pod("stream-attach");
  const std::string ctr =
      pod.container("reader", {"sh", "-c", "while read line; do echo got $line; done; echo done"}, true, true);
  v1::AttachRequest request;
  request.set_container_id(ctr);
  request.set_stdin(true);
  request.set_stdout(true);
  request.set_stderr(true);
  v1::AttachResponse response;
  grpc::ClientContext ctx;
  with_deadline(ctx, 30s);
  REQUIRE_RPC(pod.rt->Attach(&ctx, request, &response));
  // stdin_once: the client's EOF closes the container's stdin, the loop ends, so does attach.
  auto [status, out] = dom0("echo hello | timeout 60 " + client() + " attach " + quote(response.url()) + " --stdin");
  INFO(out);
  CHECK(status == 0);
  CHECK_THAT(out, ContainsSubstring("got hello"));
}

TEST_CASE("streaming: port-forward reaches servers bound to the pod's 127.0.0.1, two connections at once") {
  Pod pod("stream-pf");
  // busybox httpd binds the given address (busybox nc cannot): reachable only from inside the pod.
  pod.container("srv1",
                {"sh", "-c", "mkdir -p /w1 && echo from-8080 > /w1/index.html && httpd -f -p 127.0.0.1:8080 -h /w1"});
  pod.container("srv2",
                {"sh", "-c", "mkdir -p /w2 && echo from-8081 > /w2/index.html && httpd -f -p 127.0.0.1:8081 -h /w2"});
  std::this_thread::sleep_for(2s);  // the servers listen
  v1::PortForwardRequest request;
  request.set_pod_sandbox_id(pod.id);
  request.add_port(8080);
  request.add_port(8081);
  v1::PortForwardResponse response;
  grpc::ClientContext ctx;
  with_deadline(ctx, 30s);
  REQUIRE_RPC(pod.rt->PortForward(&ctx, request, &response));
  // One session, two local ports, both connections open at the same time.
  auto [status, out] = dom0(client() + " port-forward " + quote(response.url()) +
                            " 18080:8080 18081:8081 & pf=$!; sleep 2; "
                            "timeout 20 wget -q -O /tmp/pf1 http://127.0.0.1:18080/ & a=$!; "
                            "timeout 20 wget -q -O /tmp/pf2 http://127.0.0.1:18081/ & b=$!; "
                            "wait $a; wait $b; kill $pf; cat /tmp/pf1 /tmp/pf2");
  INFO(out);
  CHECK_THAT(out, ContainsSubstring("from-8080"));
  CHECK_THAT(out, ContainsSubstring("from-8081"));
}
