// Forwarding other handlers' pods to an upstream CRI runtime (cri/include/zoned/cri/upstream.h).
// The upstream is a second, real CRI server over its own unix socket: another RuntimeService
// (over its own FakeZoneManager) that serves the handler "runc", and an ImageService over its
// own FakeImageStore. The router is served on a third socket, and the tests talk to it only.
#include "zoned/cri/upstream.h"

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "fakes/fake_image_store.h"
#include "runtime_fixture.h"
#include "zoned/cri/image_service.h"

namespace v1 = runtime::v1;
using Catch::Matchers::ContainsSubstring;
using zoned::testing::RuntimeFixture;

namespace {

zoned::image_store::ImageRecord image(const std::string& name) {
  zoned::image_store::ImageRecord r;
  r.id = zoned::oci::sha256_of("config " + name).str();
  r.repo_tags = {"docker.io/library/" + name};
  r.manifest_digest = zoned::oci::sha256_of("manifest " + name).str();
  r.size = 100;
  return r;
}

struct Routed {
  RuntimeFixture ours;      // serves "edera", the default handler
  RuntimeFixture upstream;  // serves "runc"
  zoned::testing::FakeImageStore our_store, their_store;
  zoned::cri::ImageService our_images{our_store}, their_images{their_store};
  std::unique_ptr<zoned::cri::Server> upstream_images_server;
  std::unique_ptr<zoned::cri::RoutingRuntimeService> router;
  std::unique_ptr<zoned::cri::RoutingImageService> image_router;
  std::unique_ptr<zoned::cri::Server> router_server;
  std::unique_ptr<v1::ImageService::Stub> images;
  std::string upstream_socket;

  Routed() {
    ours.hv.next.ready = true;
    upstream.hv.next.ready = true;
    upstream.options.runtime_handler = "runc";
    upstream.options.default_runtime_handler = "runc";
    // Restarted with its image service on the same socket as its runtime service.
    upstream.stop();
    auto opened = zoned::cri::RuntimeService::open(upstream.options, upstream.hv, upstream.zones);
    REQUIRE(opened.ok());
    upstream.service = std::move(*opened);
    upstream.server =
        std::make_unique<zoned::cri::Server>(std::vector<grpc::Service*>{upstream.service.get(), &their_images});
    REQUIRE(upstream.server->start({upstream.socket, "", 0660, "upstream CRI"}).ok());
    upstream_socket = upstream.socket;
    route_to("unix://" + upstream_socket);
  }
  ~Routed() {
    if (router_server) router_server->shutdown(std::chrono::seconds(1));
  }

  void route_to(const std::string& endpoint) {
    if (router_server) router_server->shutdown(std::chrono::seconds(1));
    auto channel = zoned::cri::upstream_channel(endpoint);
    REQUIRE(channel.ok());
    zoned::cri::RoutingOptions o{"edera", "edera", endpoint};
    router = std::make_unique<zoned::cri::RoutingRuntimeService>(*ours.service, *channel, o);
    image_router = std::make_unique<zoned::cri::RoutingImageService>(our_images, *channel, o);
    const std::string socket = ours.tmp.file("router.sock");
    router_server = std::make_unique<zoned::cri::Server>(std::vector<grpc::Service*>{router.get(), image_router.get()});
    REQUIRE(router_server->start({socket, "", 0660, "routing CRI"}).ok());
    auto routed = grpc::CreateChannel("unix:" + socket, grpc::InsecureChannelCredentials());
    ours.stub = v1::RuntimeService::NewStub(routed);  // ours' helpers now go through the router
    images = v1::ImageService::NewStub(routed);
  }
};

}  // namespace

TEST_CASE("pods of another handler run upstream, unchanged; ids route their calls; lists merge") {
  Routed r;
  const std::string zoned_pod = r.ours.run_pod("in-zone");
  std::string runc_pod;
  auto ran = r.ours.run_pod(r.ours.pod_config("in-runc"), &runc_pod, "runc");
  INFO(ran.error_message());
  REQUIRE(ran.ok());
  CHECK(runc_pod != zoned_pod);
  // Each runtime holds its own pod only.
  CHECK(r.ours.service->owns_sandbox(zoned_pod));
  CHECK_FALSE(r.ours.service->owns_sandbox(runc_pod));
  CHECK(r.upstream.service->owns_sandbox(runc_pod));
  CHECK(r.upstream.zones.get_zone(runc_pod).ok());
  CHECK_FALSE(r.ours.zones.get_zone(runc_pod).ok());

  auto pods = r.ours.list_pods();
  REQUIRE(pods.size() == 2);
  CHECK(((pods[0].id() == zoned_pod && pods[1].id() == runc_pod) ||
         (pods[1].id() == zoned_pod && pods[0].id() == runc_pod)));
  v1::PodSandboxStatusResponse status;
  REQUIRE(r.ours.pod_status(runc_pod, &status).ok());
  CHECK(status.status().metadata().name() == "in-runc");
  CHECK(status.status().runtime_handler() == "runc");
  REQUIRE(r.ours.pod_status(zoned_pod, &status).ok());
  CHECK(status.status().runtime_handler() == "edera");

  // A container in the upstream pod is created, started and listed there.
  const std::string c = r.ours.create_container(runc_pod, "in-runc", "app", {"sleep"});
  CHECK(r.upstream.service->owns_container(c));
  CHECK_FALSE(r.ours.service->owns_container(c));
  REQUIRE(r.ours.start_container(c).ok());
  v1::ContainerStatusResponse cs;
  REQUIRE(r.ours.container_status(c, &cs).ok());
  CHECK(cs.status().state() == v1::CONTAINER_RUNNING);
  const std::string mine = r.ours.create_container(zoned_pod, "in-zone", "app", {"sleep"});
  REQUIRE(r.ours.start_container(mine).ok());
  CHECK(r.ours.list_containers().size() == 2);
  {
    grpc::ClientContext cc;
    v1::ListContainerStatsResponse stats;
    REQUIRE(r.ours.stub->ListContainerStats(&cc, v1::ListContainerStatsRequest{}, &stats).ok());
    CHECK(stats.stats_size() == 2);
  }
  {
    grpc::ClientContext cc;
    v1::ListPodSandboxStatsResponse stats;
    REQUIRE(r.ours.stub->ListPodSandboxStats(&cc, v1::ListPodSandboxStatsRequest{}, &stats).ok());
    CHECK(stats.stats_size() == 2);
  }

  // Stop and remove go where the pod lives; unknown ids stay idempotent.
  REQUIRE(r.ours.stop_pod(runc_pod).ok());
  REQUIRE(r.ours.remove_pod(runc_pod).ok());
  CHECK_FALSE(r.upstream.service->owns_sandbox(runc_pod));
  CHECK(r.ours.remove_pod(runc_pod).ok());
  CHECK(r.ours.stop_pod(std::string(64, 'a')).ok());
  CHECK(r.ours.list_pods().size() == 1);
  REQUIRE(r.ours.remove_pod(zoned_pod).ok());
  CHECK(r.ours.list_pods().empty());
}

TEST_CASE("Status lists both runtimes' handlers; an unreachable upstream is said, not hidden") {
  Routed r;
  auto status = [&](v1::StatusResponse* out) {
    grpc::ClientContext cc;
    v1::StatusRequest request;
    return r.ours.stub->Status(&cc, request, out);
  };
  v1::StatusResponse ready;
  REQUIRE(status(&ready).ok());
  std::vector<std::string> handlers;
  for (const auto& h : ready.runtime_handlers()) handlers.push_back(h.name());
  CHECK(handlers == std::vector<std::string>{"", "edera", "runc"});
  for (const auto& c : ready.status().conditions()) {
    if (c.type() == "RuntimeReady") CHECK(c.status());
  }

  // Reachable but not ready: so is the merged runtime, with upstream's reason.
  r.upstream.hv.next.ready = false;
  r.upstream.hv.next.reason = "XenUnavailable";
  v1::StatusResponse not_ready;
  REQUIRE(status(&not_ready).ok());
  for (const auto& c : not_ready.status().conditions()) {
    if (c.type() != "RuntimeReady") continue;
    CHECK_FALSE(c.status());
    CHECK(c.reason() == "UpstreamRuntimeNotReady");
    CHECK_THAT(c.message(), ContainsSubstring("XenUnavailable"));
  }
  r.upstream.hv.next.ready = true;

  // The upstream goes away: RuntimeReady turns false naming it, lists fail instead of leaving
  // its pods out, and its handler's pods get a clear error. Our own pods still work by id.
  const std::string zoned_pod = r.ours.run_pod("stays");
  r.upstream.stop();
  v1::StatusResponse down;
  REQUIRE(status(&down).ok());
  bool saw = false;
  for (const auto& c : down.status().conditions()) {
    if (c.type() != "RuntimeReady") continue;
    saw = true;
    CHECK_FALSE(c.status());
    CHECK(c.reason() == "UpstreamRuntimeNotReady");
  }
  CHECK(saw);
  grpc::ClientContext cc;
  v1::ListPodSandboxResponse listed;
  auto list = r.ours.stub->ListPodSandbox(&cc, v1::ListPodSandboxRequest(), &listed);
  CHECK(list.error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK_THAT(list.error_message(), ContainsSubstring("upstream CRI runtime") && ContainsSubstring(r.upstream_socket));
  auto refused = r.ours.run_pod(r.ours.pod_config("elsewhere"), nullptr, "runc");
  CHECK(refused.error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK_THAT(refused.error_message(), ContainsSubstring("RunPodSandbox (handler \"runc\")"));
  v1::PodSandboxStatusResponse ps;
  CHECK(r.ours.pod_status(zoned_pod, &ps).ok());
  CHECK(r.ours.remove_pod(zoned_pod).ok());
}

TEST_CASE("images: a pull naming no handler goes to both runtimes, one naming a handler to its runtime") {
  Routed r;
  r.our_store.available["busybox"] = image("busybox");
  r.their_store.available["busybox"] = image("busybox");
  r.their_store.available["nginx"] = image("nginx");
  auto pull = [&](const std::string& ref, const std::string& handler) {
    grpc::ClientContext cc;
    v1::PullImageRequest request;
    request.mutable_image()->set_image(ref);
    request.mutable_image()->set_runtime_handler(handler);
    v1::PullImageResponse response;
    auto s = r.images->PullImage(&cc, request, &response);
    return std::make_pair(s, response.image_ref());
  };
  auto both = pull("busybox", "");
  REQUIRE(both.first.ok());
  CHECK(both.second == image("busybox").id);
  CHECK(r.our_store.images.size() == 1);
  CHECK(r.their_store.images.size() == 1);

  auto theirs = pull("nginx", "runc");
  REQUIRE(theirs.first.ok());
  CHECK(theirs.second == image("nginx").id);
  CHECK(r.our_store.images.size() == 1);  // not pulled into zoned's store
  CHECK(r.their_store.images.size() == 2);
  auto not_ours = pull("nginx", "edera");  // only zoned is asked, and it cannot find it
  CHECK(not_ours.first.error_code() == grpc::StatusCode::NOT_FOUND);

  // One list, without the image both hold twice; status finds the upstream-only image.
  grpc::ClientContext list_cc;
  v1::ListImagesResponse listed;
  REQUIRE(r.images->ListImages(&list_cc, v1::ListImagesRequest(), &listed).ok());
  CHECK(listed.images_size() == 2);
  grpc::ClientContext status_cc;
  v1::ImageStatusRequest status_request;
  status_request.mutable_image()->set_image("docker.io/library/nginx");
  v1::ImageStatusResponse status;
  REQUIRE(r.images->ImageStatus(&status_cc, status_request, &status).ok());
  REQUIRE(status.has_image());
  CHECK(status.image().id() == image("nginx").id);

  // Removal removes from both; a failing upstream pull is reported as the upstream's.
  grpc::ClientContext remove_cc;
  v1::RemoveImageRequest remove;
  remove.mutable_image()->set_image(image("busybox").id);
  v1::RemoveImageResponse removed;
  REQUIRE(r.images->RemoveImage(&remove_cc, remove, &removed).ok());
  CHECK(r.our_store.images.empty());
  CHECK(r.their_store.images.size() == 1);
  r.their_store.pull_error = zoned::Error(zoned::ErrorCode::kPermissionDenied, "401 unauthorized");
  auto failed = pull("busybox", "");
  CHECK(failed.first.error_code() == grpc::StatusCode::PERMISSION_DENIED);
  CHECK_THAT(failed.first.error_message(), ContainsSubstring("upstream CRI runtime") && ContainsSubstring("401"));
}

TEST_CASE("upstream_channel takes unix sockets only") {
  CHECK(zoned::cri::upstream_channel("unix:///run/containerd/containerd.sock").ok());
  CHECK(zoned::cri::upstream_channel("/run/containerd/containerd.sock").ok());
  for (const std::string bad : {"", "unix:", "tcp://1.2.3.4:5", "localhost:1234"}) {
    CAPTURE(bad);
    auto c = zoned::cri::upstream_channel(bad);
    REQUIRE_FALSE(c.ok());
    CHECK_THAT(c.error().message(), ContainsSubstring("must be a unix socket"));
  }
}
