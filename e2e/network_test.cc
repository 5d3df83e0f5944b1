// Pod networking on real Xen (the devbox, issue 7): the devbox's CNI config (bridge +
// host-local 10.88.0.0/16 + portmap, deploy/devbox/build-image.sh) gives each pod an IP; the
// zone's vif is wired into the pod's netns. Two pods ping each other, dom0 reaches an HTTP
// server in a pod by its IP and through a hostPort, and the pod's DNS settings are the
// container's /etc/resolv.conf. Set up by e2e/run.
//
#include <grpcpp/grpcpp.h>

#include <array>
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
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

std::string pull(v1::ImageService::Stub& images) {
  v1::PullImageRequest request;
  request.mutable_image()->set_image(kImage);
  v1::PullImageResponse response;
  grpc::ClientContext ctx;
  with_deadline(ctx, 300s);
  auto s = images.PullImage(&ctx, request, &response);
  INFO(s.error_message());
  REQUIRE(s.ok());
  return response.image_ref();
}

v1::PodSandboxConfig pod_config(const std::string& name) {
  v1::PodSandboxConfig c;
  c.mutable_metadata()->set_name(name);
  c.mutable_metadata()->set_namespace_("e2e");
  c.mutable_metadata()->set_uid("uid-" + name);
  c.set_hostname(name);
  c.set_log_directory("/var/log/pods/e2e_" + name);
  c.mutable_dns_config()->add_servers("10.96.0.10");
  c.mutable_dns_config()->add_searches("e2e.svc.cluster.local");
  c.mutable_dns_config()->add_options("ndots:5");
  return c;
}

struct Pod {
  std::string id, ip;
  v1::PodSandboxConfig config;
};

Pod run_pod(v1::RuntimeService::Stub& rt, v1::PodSandboxConfig config) {
  REQUIRE(dom0("mkdir -p " + config.log_directory()).first == 0);
  v1::RunPodSandboxRequest request;
  *request.mutable_config() = config;
  v1::RunPodSandboxResponse response;
  grpc::ClientContext ctx;
  with_deadline(ctx, 180s);
  auto s = rt.RunPodSandbox(&ctx, request, &response);
  INFO(s.error_message());
  REQUIRE(s.ok());
  v1::PodSandboxStatusRequest status_request;
  status_request.set_pod_sandbox_id(response.pod_sandbox_id());
  v1::PodSandboxStatusResponse status;
  grpc::ClientContext status_ctx;
  with_deadline(status_ctx, 30s);
  REQUIRE(rt.PodSandboxStatus(&status_ctx, status_request, &status).ok());
  INFO(status.status().network().ip());
  REQUIRE(status.status().network().ip().rfind("10.88.", 0) == 0);
  return {response.pod_sandbox_id(), status.status().network().ip(), config};
}

std::string start_container(v1::RuntimeService::Stub& rt, const Pod& pod, const std::string& image,
                            const std::vector<std::string>& command) {
  v1::CreateContainerRequest create;
  create.set_pod_sandbox_id(pod.id);
  *create.mutable_sandbox_config() = pod.config;
  create.mutable_config()->mutable_metadata()->set_name("main");
  create.mutable_config()->mutable_image()->set_image(image);
  for (const auto& a : command) create.mutable_config()->add_command(a);
  create.mutable_config()->set_log_path("main/0.log");
  v1::CreateContainerResponse created;
  grpc::ClientContext ctx;
  with_deadline(ctx, 120s);
  auto s = rt.CreateContainer(&ctx, create, &created);
  INFO(s.error_message());
  REQUIRE(s.ok());
  v1::StartContainerRequest start;
  start.set_container_id(created.container_id());
  v1::StartContainerResponse started;
  grpc::ClientContext start_ctx;
  with_deadline(start_ctx, 60s);
  REQUIRE(rt.StartContainer(&start_ctx, start, &started).ok());
  return created.container_id();
}

std::pair<int, std::string> exec(v1::RuntimeService::Stub& rt, const std::string& container,
                                 const std::vector<std::string>& cmd) {
  v1::ExecSyncRequest request;
  request.set_container_id(container);
  for (const auto& a : cmd) request.add_cmd(a);
  request.set_timeout(60);
  v1::ExecSyncResponse response;
  grpc::ClientContext ctx;
  with_deadline(ctx, 90s);
  auto s = rt.ExecSync(&ctx, request, &response);
  INFO(s.error_message());
  REQUIRE(s.ok());
  return {response.exit_code(), response.stdout() + response.stderr()};
}

void remove_pod(v1::RuntimeService::Stub& rt, const std::string& id) {
  v1::StopPodSandboxRequest stop;
  stop.set_pod_sandbox_id(id);
  v1::StopPodSandboxResponse stopped;
  grpc::ClientContext stop_ctx;
  with_deadline(stop_ctx, 120s);
  CHECK(rt.StopPodSandbox(&stop_ctx, stop, &stopped).ok());
  v1::RemovePodSandboxRequest request;
  request.set_pod_sandbox_id(id);
  v1::RemovePodSandboxResponse response;
  grpc::ClientContext ctx;
  with_deadline(ctx, 120s);
  CHECK(rt.RemovePodSandbox(&ctx, request, &response).ok());
}

// What the node holds for pods, one line each: zone domains, pod network namespaces, the
// host-local IP leases of the devbox's "zoned" network, and vifs left in dom0's namespace.
std::string node_pod_state() {
  auto [rc, out] = dom0(
      "echo \"state domains: $(xl list | awk '/^zoned-/{print $1}' | sort | tr '\\n' ' ')\"; "
      "echo \"state netns: $(ls /run/netns 2>/dev/null | grep '^zoned-' | sort | tr '\\n' ' ')\"; "
      "echo \"state leases: $(ls /var/lib/cni/networks/zoned 2>/dev/null | grep '^10\\.88' | sort | tr '\\n' ' ')\"; "
      "echo \"state vifs: $(ip -o link show | grep -o 'vif[0-9]*\\.[0-9]*' | sort | tr '\\n' ' ')\"");
  INFO(out);
  REQUIRE(rc == 0);
  std::string state;
  size_t at = 0;
  while ((at = out.find("state ", at)) != std::string::npos) {
    const size_t end = out.find('\n', at);
    state += out.substr(at, end - at) + "\n";
    at = end;
  }
  return state;
}

}  // namespace

TEST_CASE("network: pods ping each other, dom0 reaches a pod by IP and hostPort, DNS in resolv.conf") {
  auto images = v1::ImageService::NewStub(channel());
  auto rt = v1::RuntimeService::NewStub(channel());
  const std::string image = pull(*images);

  auto web_config = pod_config("netweb");
  auto* port = web_config.add_port_mappings();
  port->set_protocol(v1::TCP);
  port->set_container_port(80);
  port->set_host_port(18080);
  const Pod web = run_pod(*rt, web_config);
  const Pod client = run_pod(*rt, pod_config("netclient"));
  CHECK(web.ip != client.ip);

  const std::string httpd = start_container(
      *rt, web, image,
      {"sh", "-c", "mkdir -p /www && echo hello-from-zone > /www/index.html && httpd -f -p 80 -h /www"});
  const std::string shell = start_container(*rt, client, image, {"sleep", "3600"});

  // pod to pod, both ways
  auto ping = exec(*rt, shell, {"ping", "-c", "3", "-W", "5", web.ip});
  INFO(ping.second);
  CHECK(ping.first == 0);
  auto pong = exec(*rt, httpd, {"ping", "-c", "3", "-W", "5", client.ip});
  INFO(pong.second);
  CHECK(pong.first == 0);

  // dom0 to the pod's IP, and through the hostPort (portmap DNAT on the node)
  // timeout(1), not wget -T: busybox 1.35's static wget crashes (SIGSEGV) with -T in dom0.
  auto direct =
      dom0("for i in 1 2 3 4 5; do timeout 10 wget -q -O - http://" + web.ip + "/ && exit 0; sleep 2; done; exit 1");
  INFO(direct.second);
  CHECK(direct.first == 0);
  CHECK_THAT(direct.second, ContainsSubstring("hello-from-zone"));
  auto mapped =
      dom0("timeout 10 wget -q -O - http://10.0.2.15:18080/ || timeout 10 wget -q -O - http://127.0.0.1:18080/");
  INFO(mapped.second);
  CHECK_THAT(mapped.second, ContainsSubstring("hello-from-zone"));

  // the pod's DNS config, hostname and hosts, as the container sees them
  auto resolv = exec(*rt, shell, {"cat", "/etc/resolv.conf", "/etc/hostname", "/etc/hosts"});
  CHECK_THAT(resolv.second, ContainsSubstring("nameserver 10.96.0.10"));
  CHECK_THAT(resolv.second, ContainsSubstring("search e2e.svc.cluster.local"));
  CHECK_THAT(resolv.second, ContainsSubstring("options ndots:5"));
  CHECK_THAT(resolv.second, ContainsSubstring("netclient"));
  CHECK_THAT(resolv.second, ContainsSubstring(client.ip));

  remove_pod(*rt, client.id);
  remove_pod(*rt, web.id);
  // nothing left: no pod netns, the IPs are free again
  auto leftovers = dom0("ls /run/netns; ls /var/lib/cni/networks/zoned 2>/dev/null | grep -c '^10\\.88' || true");
  INFO(leftovers.second);
  CHECK(leftovers.second.find("zoned-") == std::string::npos);
}

TEST_CASE("network: a daemon killed after or inside RunPodSandbox leaks no domain, netns, IP lease or vif") {
  auto images = v1::ImageService::NewStub(channel());
  pull(*images);
  const std::string before = node_pod_state();
  INFO("before:\n" << before);

  // Killed (SIGKILL) between RunPodSandbox and StopPodSandbox: the restarted daemon knows the
  // pod and stop + remove release everything.
  {
    auto rt = v1::RuntimeService::NewStub(channel());
    const Pod pod = run_pod(*rt, pod_config("netkilled"));
    auto killed = dom0("/usr/lib/devbox/zoned-restart --kill");
    INFO(killed.second);
    REQUIRE(killed.first == 0);
    auto after_restart = v1::RuntimeService::NewStub(channel());
    remove_pod(*after_restart, pod.id);
    CHECK(node_pod_state() == before);
  }

  // Killed inside RunPodSandbox, once the pod's domain exists (its netns, CNI ADD and IP lease
  // are done by then): the restarted daemon undoes the half-made pod on its own.
  {
    auto count = dom0("xl list | grep -c '^zoned-' || true");
    REQUIRE(count.first == 0);
    const std::string domains_before = std::to_string(std::atoi(count.second.c_str()));
    auto config = pod_config("netinterrupted");
    REQUIRE(dom0("mkdir -p " + config.log_directory()).first == 0);
    grpc::Status run_status;
    std::string run_id;
    std::thread call([&] {
      auto rt = v1::RuntimeService::NewStub(channel());
      v1::RunPodSandboxRequest request;
      *request.mutable_config() = config;
      v1::RunPodSandboxResponse response;
      grpc::ClientContext ctx;
      with_deadline(ctx, 120s);  // the daemon dies under it: UNAVAILABLE, or at worst this
      run_status = rt->RunPodSandbox(&ctx, request, &response);
      run_id = response.pod_sandbox_id();
    });
    auto killed = dom0("for i in $(seq 1 900); do [ \"$(xl list | grep -c '^zoned-')\" -gt " + domains_before +
                       " ] && break; sleep 0.2; done; xl list | grep '^zoned-'; /usr/lib/devbox/zoned-restart --kill");
    call.join();
    INFO(killed.second);
    REQUIRE(killed.first == 0);
    INFO(run_status.error_message());
    auto rt = v1::RuntimeService::NewStub(channel());
    if (run_status.ok()) {  // the kill came too late to interrupt it: still nothing may leak
      WARN("RunPodSandbox finished before the daemon was killed");
      remove_pod(*rt, run_id);
    }
    v1::ListPodSandboxRequest list;
    v1::ListPodSandboxResponse listed;
    grpc::ClientContext ctx;
    with_deadline(ctx, 30s);
    REQUIRE(rt->ListPodSandbox(&ctx, list, &listed).ok());
    for (const auto& item : listed.items()) CHECK(item.metadata().name() != "netinterrupted");
    CHECK(node_pod_state() == before);
  }
}
