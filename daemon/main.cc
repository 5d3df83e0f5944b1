// zoned: the CRI runtime daemon. Wires config, hypervisor and the CRI server together, then
// waits for SIGTERM/SIGINT.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "options.h"
#include "state_lock.h"
#include "zoned/admin/admin_server.h"
#include "zoned/common/config.h"
#include "zoned/common/log.h"
#include "zoned/common/version.h"
#include "zoned/cri/image_service.h"
#include "zoned/cri/pod_network.h"
#include "zoned/cri/runtime_service.h"
#include "zoned/cri/server.h"
#include "zoned/cri/streaming_backend.h"
#include "zoned/cri/upstream.h"
#include "zoned/image_store/image_store.h"
#include "zoned/oci/http_registry_client.h"
#include "zoned/streaming/server.h"
#include "zoned/xen/xen_hypervisor.h"
#include "zoned/zone_runtime/loop_device.h"
#include "zoned/zone_runtime/zone_manager.h"

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

int fail(int code, const std::string& message) {
  std::fprintf(stderr, "zoned: %s\n", message.c_str());
  return code;
}

std::string config_json(const zoned::Config& c, const std::string& source) {
  nlohmann::json j = {
      {"config_file", source},
      {"socket_path", c.socket_path},
      {"socket_group", c.socket_group},
      {"state_dir", c.state_dir},
      {"data_dir", c.data_dir},
      {"log_level", zoned::log::level_name(c.log_level)},
      {"log_format", c.log_format == zoned::log::Format::kJson ? "json" : "text"},
      {"shutdown_timeout_seconds", c.shutdown_timeout_seconds},
      {"cri",
       {{"runtime_handler", c.cri.runtime_handler},
        {"default_runtime_handler", c.cri.default_runtime_handler},
        {"cgroup_driver", c.cri.cgroup_driver},
        {"upstream_endpoint", c.cri.upstream_endpoint}}},
  };
  for (const auto& [host, r] : c.registries) {
    j["registries"][host] = {
        {"mirrors", r.mirrors}, {"plain_http", r.plain_http}, {"insecure_skip_verify", r.insecure_skip_verify}};
  }
  return j.dump();
}

zoned::oci::RegistryClientOptions registry_options(const zoned::Config& config) {
  zoned::oci::RegistryClientOptions options;
  for (const auto& [host, settings] : config.registries) {
    options.hosts[host] = {settings.mirrors, settings.plain_http, settings.insecure_skip_verify};
  }
  return options;
}

zoned::Result<std::pair<zoned::Config, std::string>> load_config(const zoned::daemon::Options& options) {
  std::string path = options.config_path;
  zoned::Config config;
  if (path.empty()) {
    struct stat st {};
    if (::stat(zoned::kDefaultConfigPath, &st) == 0) path = zoned::kDefaultConfigPath;
  }
  if (!path.empty()) {
    auto loaded = zoned::load_config_file(path);
    if (!loaded.ok()) return std::move(loaded).take_error();
    config = std::move(*loaded);
  }
  if (options.log_level) {
    auto level = zoned::log::parse_level(*options.log_level);
    if (!level) {
      return zoned::Error(zoned::ErrorCode::kInvalidArgument,
                          "--log-level must be one of debug, info, warn, error; got '" + *options.log_level + "'");
    }
    config.log_level = *level;
  }
  return std::make_pair(std::move(config), path.empty() ? std::string("(built-in defaults)") : path);
}

// Image root files become read-only loop devices (autoclear: the kernel frees them once the
// zone's block backend lets go, even if zoned is gone by then).
class LoopAttachment final : public zoned::zone_runtime::AttachedDevice {
 public:
  explicit LoopAttachment(zoned::zone_runtime::LoopDevice loop) : loop_(std::move(loop)) {}
  const std::string& path() const override { return loop_.path(); }
  void release() override { loop_.release(); }

 private:
  zoned::zone_runtime::LoopDevice loop_;
};

zoned::Result<std::unique_ptr<zoned::zone_runtime::AttachedDevice>> attach_loop(const std::string& file) {
  auto loop = zoned::zone_runtime::LoopDevice::attach_read_only(file);
  if (!loop.ok()) return std::move(loop).take_error();
  return std::unique_ptr<zoned::zone_runtime::AttachedDevice>(new LoopAttachment(std::move(*loop)));
}

zoned::zone_runtime::ZoneManagerOptions zone_options(const zoned::Config& config) {
  zoned::zone_runtime::ZoneManagerOptions o;
  o.state_dir = config.state_dir;
  o.kernel = config.zones.kernel;
  o.initramfs = config.zones.initramfs;
  o.default_type =
      config.zones.type == "pvh" ? zoned::zone_runtime::DomainType::kPvh : zoned::zone_runtime::DomainType::kPv;
  o.default_memory_mib = config.zones.memory_mib;
  o.max_memory_mib = config.zones.max_memory_mib;
  o.default_vcpus = config.zones.vcpus;
  o.max_vcpus = config.zones.max_vcpus;
  o.agent_timeout = std::chrono::seconds(config.zones.agent_timeout_seconds);
  o.extra_cmdline = config.zones.extra_cmdline;
  o.agent_log_level = config.zones.agent_log_level;
  return o;
}

// The disk hotplug script: ours unless configured otherwise. A script named in the config must
// exist; the built-in default may be missing (zoned not installed by `cmake --install`), in
// which case Xen's own script is used, slower but correct.
zoned::Result<zoned::zone_runtime::XenPaths> xen_paths_for(const zoned::Config& config) {
  zoned::zone_runtime::XenPaths paths;
  const std::string& script = config.zones.block_script;
  if (!script.empty() && ::access(script.c_str(), X_OK) != 0) {
    const int err = errno;
    if (config.zones.block_script_set) {
      return zoned::Error(zoned::ErrorCode::kInvalidArgument,
                          "zones.block_script " + script + " is not an executable file", err);
    }
    zoned::log::warn("zoned's disk hotplug script is not installed: using Xen's /etc/xen/scripts/block (slower)",
                     {{"missing", script}});
    return paths;
  }
  paths.block_script = script;
  // The vif hotplug script likewise (zones.vif_script): zoned's only reports the vif connected.
  const std::string& vif = config.zones.vif_script;
  if (!vif.empty() && ::access(vif.c_str(), X_OK) != 0) {
    if (config.zones.vif_script_set) {
      return zoned::Error(zoned::ErrorCode::kInvalidArgument, "zones.vif_script " + vif + " is not an executable file",
                          errno);
    }
    zoned::log::warn("zoned's vif hotplug script is not installed: pod vifs use Xen's vif-bridge", {{"missing", vif}});
    return paths;
  }
  paths.vif_script = vif;
  return paths;
}

// [cni] -> the CRI layer's pod networking (CNI plugins, netns, vif wiring).
zoned::cri::PodNetworkOptions pod_network_options(const zoned::Config& config) {
  zoned::cri::PodNetworkOptions o;
  o.cni.conf_dir = config.cni.conf_dir;
  o.cni.exec.plugin_dirs = config.cni.plugin_dirs;
  o.cni.exec.timeout = std::chrono::seconds(config.cni.plugin_timeout_seconds);
  o.cni.cache_dir = config.cni.cache_dir.empty() ? config.state_dir + "/cni/results" : config.cni.cache_dir;
  o.netns_dir = config.cni.netns_dir;
  return o;
}

// The vif wiring runs ip/tc in the pod's netns: local processes like the plugins, bounded the same
// way (a loaded node, or emulated Xen booting ten zones, can take well over 10 s for them).
zoned::netplug::VifWiringOptions vif_wiring_options(const zoned::Config& config) {
  zoned::netplug::VifWiringOptions o;
  o.timeout = std::chrono::seconds(config.cni.plugin_timeout_seconds);
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  // Signals are taken synchronously by sigwait below. Blocking them before any thread starts
  // makes every thread (gRPC's included) inherit the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  auto options = zoned::daemon::parse_options(std::vector<std::string>(argv + 1, argv + argc));
  if (!options.ok()) return fail(kExitUsage, options.error().describe());
  if (options->show_help) {
    std::fputs(zoned::daemon::usage_text().c_str(), stdout);
    return 0;
  }
  if (options->show_version) {
    std::printf("%s %s (CRI API v1)\n", zoned::kRuntimeName, zoned::kVersion);
    return 0;
  }

  auto loaded = load_config(*options);
  if (!loaded.ok()) return fail(kExitUsage, "invalid configuration: " + loaded.error().describe());
  const zoned::Config& config = loaded->first;
  const std::string& config_source = loaded->second;
  auto dirs = zoned::prepare_config_dirs(config);
  if (!dirs.ok()) return fail(kExitUsage, "invalid configuration: " + dirs.error().describe());
  if (options->check_config) {
    std::printf("configuration OK: %s\n", config_source.c_str());
    return 0;
  }

  zoned::log::configure(config.log_level, config.log_format);
  auto lock = zoned::daemon::StateLock::acquire(config.state_dir);
  if (!lock.ok()) return fail(kExitFailure, lock.error().describe());

  zoned::log::info("starting", {{"version", zoned::kVersion}, {"pid", ::getpid()}, {"config", config_source}});
  auto xen_paths = xen_paths_for(config);
  if (!xen_paths.ok()) return fail(kExitUsage, "invalid configuration: " + xen_paths.error().describe());
  zoned::zone_runtime::XenHypervisor hypervisor(*xen_paths);
  auto hv = hypervisor.probe();
  if (hv.ready) {
    zoned::log::info("xen reachable: runtime ready", {{"xen_version", hv.details["xen_version"]}});
  } else {
    zoned::log::warn("xen not reachable: zones cannot run until it is",
                     {{"reason", hv.reason}, {"detail", hv.message}});
  }

  zoned::oci::HttpRegistryClient registry(registry_options(config));
  zoned::image_store::StoreOptions store_options;
  store_options.data_dir = config.data_dir;
  store_options.state_dir = config.state_dir;
  auto store = zoned::image_store::ImageStore::open(store_options, registry);
  if (!store.ok()) {
    zoned::log::error("cannot open the image store", {{"error", store.error().describe()}});
    return fail(kExitFailure, "opening the image store: " + store.error().describe());
  }
  auto zones = zoned::zone_runtime::ZoneManager::open(zone_options(config), hypervisor, **store, attach_loop);
  if (!zones.ok()) {
    zoned::log::error("cannot open the zone manager", {{"error", zones.error().describe()}});
    return fail(kExitFailure, "opening the zone manager: " + zones.error().describe());
  }
  auto* zone_manager = zones->get();
  (*store)->set_in_use_check([zone_manager](const std::string& id) { return zone_manager->image_in_use(id); });

  zoned::cri::RuntimeServiceOptions runtime_options;
  runtime_options.state_dir = config.state_dir;
  runtime_options.runtime_handler = config.cri.runtime_handler;
  runtime_options.default_runtime_handler = config.cri.default_runtime_handler;
  runtime_options.cgroup_driver = config.cri.cgroup_driver;
  runtime_options.config_json = config_json(config, config_source);
  zoned::cri::PodNetwork pod_network(pod_network_options(config),
                                     zoned::cri::make_vif_wirer(vif_wiring_options(config)));
  runtime_options.network = &pod_network;
  auto runtime_service = zoned::cri::RuntimeService::open(runtime_options, hypervisor, *zone_manager, store->get());
  if (!runtime_service.ok()) {
    zoned::log::error("cannot open the CRI runtime service", {{"error", runtime_service.error().describe()}});
    return fail(kExitFailure, "opening the CRI runtime service: " + runtime_service.error().describe());
  }
  // The streaming server behind Exec/Attach/PortForward URLs ([streaming]).
  auto streaming_backend = zoned::cri::make_zone_streaming_backend(*zone_manager);
  zoned::streaming::StreamingServerOptions streaming_options;
  const std::string& stream_host = config.streaming.address;
  streaming_options.address = (stream_host.find(':') != std::string::npos ? "[" + stream_host + "]" : stream_host) +
                              ":" + std::to_string(config.streaming.port);
  streaming_options.tls_cert_file = config.streaming.tls_cert_file;
  streaming_options.tls_key_file = config.streaming.tls_key_file;
  auto streaming = zoned::streaming::StreamingServer::start(streaming_options, *streaming_backend);
  if (!streaming.ok()) {
    zoned::log::error("cannot start the streaming server", {{"error", streaming.error().describe()}});
    return fail(kExitFailure, "starting the streaming server: " + streaming.error().describe());
  }
  (*runtime_service)->set_streaming_server(streaming->get());
  zoned::cri::ImageService image_service(**store);
  // With [cri] upstream_endpoint, the pods of other handlers go to that runtime (upstream.h).
  std::unique_ptr<zoned::cri::RoutingRuntimeService> routing_runtime;
  std::unique_ptr<zoned::cri::RoutingImageService> routing_images;
  std::vector<grpc::Service*> cri_services = {runtime_service->get(), &image_service};
  if (!config.cri.upstream_endpoint.empty()) {
    auto channel = zoned::cri::upstream_channel(config.cri.upstream_endpoint);
    if (!channel.ok()) return fail(kExitUsage, "invalid configuration: " + channel.error().describe());
    zoned::cri::RoutingOptions routing{config.cri.runtime_handler, config.cri.default_runtime_handler,
                                       config.cri.upstream_endpoint};
    routing_runtime = std::make_unique<zoned::cri::RoutingRuntimeService>(**runtime_service, *channel, routing);
    routing_images = std::make_unique<zoned::cri::RoutingImageService>(image_service, *channel, routing);
    cri_services = {routing_runtime.get(), routing_images.get()};
    zoned::log::info("pods of other handlers go to the upstream CRI runtime",
                     {{"upstream", config.cri.upstream_endpoint}});
  }
  zoned::cri::Server server(cri_services);
  auto started = server.start({config.socket_path, config.socket_group});
  if (!started.ok()) {
    zoned::log::error("cannot start the CRI server", {{"error", started.error().describe()}});
    return fail(kExitFailure, started.error().describe());
  }
  zoned::admin::AdminServer admin(*zone_manager);
  auto admin_started = admin.start(config.admin_socket_path);
  if (!admin_started.ok()) {
    zoned::log::error("cannot start the admin server", {{"error", admin_started.error().describe()}});
    server.shutdown(std::chrono::seconds(0));
    return fail(kExitFailure, admin_started.error().describe());
  }
  zoned::log::info("ready", {{"socket", config.socket_path},
                             {"admin_socket", config.admin_socket_path},
                             {"streaming", (*streaming)->base_url()}});

  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      zoned::log::warn("SIGHUP ignored: configuration reload is not supported; restart the daemon");
      continue;
    }
    zoned::log::info("shutting down", {{"signal", strsignal(sig)}});
    break;
  }
  admin.shutdown(std::chrono::seconds(config.shutdown_timeout_seconds));
  server.shutdown(std::chrono::seconds(config.shutdown_timeout_seconds));
  (*streaming)->stop();  // after the CRI server: no RPC hands out URLs any more
  zoned::log::info("stopped");
  return 0;
}
