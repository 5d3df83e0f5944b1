// Pod sandboxes: one zone each. RunPodSandbox, StopPodSandbox, RemovePodSandbox,
// PodSandboxStatus, ListPodSandbox.
#include <fcntl.h>
#include <google/protobuf/util/json_util.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "cri_util.h"
#include "pod_store.h"
#include "zoned/common/log.h"
#include "zoned/common/scope_guard.h"
#include "zoned/common/zone_annotations.h"
#include "zoned/cri/pod_network.h"
#include "zoned/cri/rpc.h"
#include "zoned/cri/runtime_service.h"
#include "zoned/oci/runtime_spec.h"

namespace zoned::cri {

namespace v1 = runtime::v1;

netplug::DnsConfig dns_of(const v1::PodSandboxConfig& config);

namespace {

// A zone cannot share the node's namespaces: it is a separate kernel.
Status check_namespaces(const v1::PodSandboxConfig& config) {
  const auto& ns = config.linux().security_context().namespace_options();
  std::string shared;
  if (ns.network() == v1::NODE) shared += "network (hostNetwork)";
  if (ns.pid() == v1::NODE) shared += std::string(shared.empty() ? "" : ", ") + "PID (hostPID)";
  if (ns.ipc() == v1::NODE) shared += std::string(shared.empty() ? "" : ", ") + "IPC (hostIPC)";
  if (!shared.empty()) {
    return Error(ErrorCode::kInvalidArgument,
                 "this pod asks to share the node's " + shared +
                     " namespace: a zone is a separate virtual machine with its own kernel and cannot share "
                     "the node's namespaces; run such pods with another RuntimeClass");
  }
  if (ns.has_userns_options() && ns.userns_options().mode() == v1::POD) {
    return Error(ErrorCode::kUnimplemented, "user namespaces for pods are not implemented by zoned");
  }
  return ok_status();
}

// The pod's hostname, or one made from its name (kubelet always sends one; crictl may not).
std::string zone_hostname(const v1::PodSandboxConfig& config) {
  if (!config.hostname().empty()) return config.hostname();
  std::string h;
  for (char c : config.metadata().name()) {
    if (h.size() == 63) break;
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a'), ok = true;
    h += ok ? c : '-';
  }
  while (!h.empty() && h.front() == '-') h.erase(0, 1);
  while (!h.empty() && h.back() == '-') h.pop_back();
  return h;
}

std::string config_json(const google::protobuf::Message& message) {
  std::string text;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  if (!google::protobuf::util::MessageToJsonString(message, &text, options).ok()) return "{}";
  return text;
}

// A new sandbox id (64 hex): also the zone id, the CNI container id and the netns name.
Result<std::string> new_sandbox_id() {
  unsigned char bytes[32];
  const int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error(ErrorCode::kInternal, "cannot open /dev/urandom", errno);
  const ssize_t n = ::read(fd, bytes, sizeof bytes);
  ::close(fd);
  if (n != static_cast<ssize_t>(sizeof bytes)) return Error(ErrorCode::kInternal, "short read from /dev/urandom");
  static const char kHex[] = "0123456789abcdef";
  std::string id;
  for (unsigned char b : bytes) {
    id += kHex[b >> 4];
    id += kHex[b & 15];
  }
  return id;
}

// The CNI capability args of a pod: portMappings (those with a host port, as containerd) and dns.
netplug::CapabilityArgs capability_args(const v1::PodSandboxConfig& config) {
  netplug::CapabilityArgs caps;
  for (const auto& p : config.port_mappings()) {
    if (p.host_port() <= 0) continue;
    netplug::PortMapping m;
    m.host_port = p.host_port();
    m.container_port = p.container_port();
    m.protocol = p.protocol() == v1::UDP ? "udp" : p.protocol() == v1::SCTP ? "sctp" : "tcp";
    m.host_ip = p.host_ip();
    caps.port_mappings.push_back(std::move(m));
  }
  if (config.has_dns_config()) caps.dns = dns_of(config);
  return caps;
}

}  // namespace

netplug::DnsConfig dns_of(const v1::PodSandboxConfig& config) {
  netplug::DnsConfig dns;
  const auto& d = config.dns_config();
  dns.servers.assign(d.servers().begin(), d.servers().end());
  dns.searches.assign(d.searches().begin(), d.searches().end());
  dns.options.assign(d.options().begin(), d.options().end());
  return dns;
}

bool RuntimeService::sandbox_ready(const SandboxRecord& record) {
  if (!record.ready) return false;
  auto zone = zones_.get_zone(record.id);
  return zone.ok() && zone->state == zone_runtime::ZoneState::kRunning;
}

zoned::Status RuntimeService::run_pod_sandbox(const v1::RunPodSandboxRequest& request,
                                              v1::RunPodSandboxResponse* response) {
  const v1::PodSandboxConfig& config = request.config();
  if (!config.has_metadata()) return Error(ErrorCode::kInvalidArgument, "sandbox config has no metadata");
  const auto& meta = config.metadata();
  ZONED_TRY(check_metadata_field("sandbox metadata name", meta.name()));
  ZONED_TRY(check_metadata_field("sandbox metadata namespace", meta.namespace_()));
  ZONED_TRY(check_metadata_field("sandbox metadata uid", meta.uid()));

  std::string handler =
      request.runtime_handler().empty() ? options_.default_runtime_handler : request.runtime_handler();
  if (handler != options_.runtime_handler) {
    return Error(ErrorCode::kFailedPrecondition,
                 "runtime handler \"" + handler + "\" is not served by zoned (it serves \"" + options_.runtime_handler +
                     "\") and no upstream CRI runtime is configured to forward it to");
  }
  ZONED_TRY(check_namespaces(config));
  for (const auto& [key, value] : config.linux().sysctls()) {
    auto valid = oci::validate_pod_sysctl(key, value);
    if (!valid.ok()) return std::move(valid).take_error().wrap("pod sysctls");
  }

  const std::string name = PodStore::sandbox_name(meta);
  ZONED_TRY(store_->reserve(name, "(a sandbox being created)"));
  ScopeGuard release([&] { store_->release(name); });

  zone_runtime::ZoneSpec spec;
  auto id = new_sandbox_id();
  if (!id.ok()) return std::move(id).take_error();
  spec.id = *id;
  spec.hostname = zone_hostname(config);
  spec.labels = {{"io.kubernetes.pod.name", meta.name()},
                 {"io.kubernetes.pod.namespace", meta.namespace_()},
                 {"io.kubernetes.pod.uid", meta.uid()},
                 {kCriSandboxZoneLabel, "true"}};
  // Pod network first: netns + CNI ADD; the zone gets the CNI eth0's MAC, its vif is wired into
  // the netns once the domain exists, and its agent configures eth0 (ZoneSpec hooks).
  PodNetwork* network = options_.network;
  ScopeGuard undo_network([&] {
    if (network == nullptr) return;
    if (auto released = network->release_network(spec.id, 0); !released.ok()) {
      log::warn("cannot release a failed pod's network", {{"id", spec.id}, {"error", released.error().describe()}});
    }
    (void)network->remove_netns(spec.id);
  });
  if (network != nullptr) {
    const netplug::PodRef pod{spec.id, meta.name(), meta.namespace_(), meta.uid()};
    auto prepared = network->prepare(pod, capability_args(config));
    if (!prepared.ok()) {
      return std::move(prepared).take_error().wrap("setting up the network of pod " + meta.namespace_() + "/" +
                                                   meta.name());
    }
    auto zone_config = network->zone_config_json(*prepared, dns_of(config), spec.hostname);
    if (!zone_config.ok()) return std::move(zone_config).take_error();
    spec.nic_mac = prepared->link.mac;
    spec.network_config_json = std::move(*zone_config);
    spec.on_domain_created = [network, id = spec.id](uint32_t domid) { return network->wire(id, domid); };
  }
  auto zone = zones_.create_zone(spec);
  if (!zone.ok())
    return std::move(zone).take_error().wrap("creating the zone of pod " + meta.namespace_() + "/" + meta.name());

  SandboxRecord record;
  record.id = zone->id;
  record.config = config;
  record.runtime_handler = handler;
  record.created_at_ns = zone->created_at_ns != 0 ? zone->created_at_ns : now_unix_ns();
  record.ready = true;
  auto saved = store_->put_sandbox(record);
  if (!saved.ok()) {
    (void)zones_.stop_zone(zone->id, std::chrono::seconds(0));
    (void)zones_.remove_zone(zone->id);
    return std::move(saved).take_error().wrap("recording pod " + meta.namespace_() + "/" + meta.name());
  }
  store_->reassign(name, record.id);
  release.dismiss();
  undo_network.dismiss();
  response->set_pod_sandbox_id(record.id);
  log::info("pod sandbox running", {{"pod", meta.namespace_() + "/" + meta.name()}, {"id", record.id.substr(0, 12)}});
  return ok_status();
}

zoned::Status RuntimeService::stop_sandbox_locked(SandboxRecord& record) {
  for (const auto& c : store_->containers(record.id)) {
    auto live = zones_.get_container(c.id);
    if (!live.ok() || live->state != zone_runtime::ContainerState::kRunning) continue;
    auto stopped = zones_.stop_container(c.id, std::chrono::seconds(0));
    if (!stopped.ok() && stopped.error().code() != ErrorCode::kNotFound) {
      return std::move(stopped).take_error().wrap("stopping container " + c.id.substr(0, 12));
    }
  }
  auto stopped = zones_.stop_zone(record.id, std::chrono::seconds(0));
  if (!stopped.ok() && stopped.error().code() != ErrorCode::kNotFound) {
    return std::move(stopped).take_error().wrap("stopping the zone of pod " + record.id.substr(0, 12));
  }
  // The domain (and its vif) is gone: CNI DEL frees the pod's IP and port mappings. Idempotent.
  if (options_.network != nullptr) ZONED_TRY(options_.network->release_network(record.id, 0));
  if (record.ready) {
    record.ready = false;
    ZONED_TRY(store_->put_sandbox(record));
  }
  return ok_status();
}

zoned::Status RuntimeService::stop_pod_sandbox(const std::string& id) {
  if (id.empty()) return Error(ErrorCode::kInvalidArgument, "pod sandbox id is empty");
  auto found = store_->sandbox(id);
  if (!found) return ok_status();  // kubelet relies on this: an unknown pod is already stopped
  auto mu = pod_lock(found->id);
  std::lock_guard lock(*mu);
  auto record = store_->sandbox(found->id);
  if (!record) return ok_status();
  return stop_sandbox_locked(*record);
}

zoned::Status RuntimeService::remove_pod_sandbox(const std::string& id) {
  if (id.empty()) return Error(ErrorCode::kInvalidArgument, "pod sandbox id is empty");
  auto found = store_->sandbox(id);
  if (!found) return ok_status();
  {
    auto mu = pod_lock(found->id);
    std::lock_guard lock(*mu);
    auto record = store_->sandbox(found->id);
    if (!record) return ok_status();
    ZONED_TRY(stop_sandbox_locked(*record));
    auto removed = zones_.remove_zone(record->id);  // forgets the zone's containers too
    if (!removed.ok() && removed.error().code() != ErrorCode::kNotFound) {
      return std::move(removed).take_error().wrap("removing the zone of pod " + record->id.substr(0, 12));
    }
    if (options_.network != nullptr) ZONED_TRY(options_.network->remove_netns(record->id));
    for (const auto& c : store_->containers(record->id)) ZONED_TRY(store_->remove_container(c.id));
    ZONED_TRY(store_->remove_sandbox(record->id));
    log::info("pod sandbox removed", {{"id", record->id.substr(0, 12)}});
  }
  forget_pod_lock(found->id);
  return ok_status();
}

grpc::Status RuntimeService::RunPodSandbox(Ctx*, const v1::RunPodSandboxRequest* request,
                                           v1::RunPodSandboxResponse* response) {
  return run_rpc("RunPodSandbox", [&] { return run_pod_sandbox(*request, response); });
}

grpc::Status RuntimeService::StopPodSandbox(Ctx*, const v1::StopPodSandboxRequest* request,
                                            v1::StopPodSandboxResponse*) {
  return run_rpc("StopPodSandbox", [&] { return stop_pod_sandbox(request->pod_sandbox_id()); });
}

grpc::Status RuntimeService::RemovePodSandbox(Ctx*, const v1::RemovePodSandboxRequest* request,
                                              v1::RemovePodSandboxResponse*) {
  return run_rpc("RemovePodSandbox", [&] { return remove_pod_sandbox(request->pod_sandbox_id()); });
}

grpc::Status RuntimeService::PodSandboxStatus(Ctx*, const v1::PodSandboxStatusRequest* request,
                                              v1::PodSandboxStatusResponse* response) {
  return run_rpc("PodSandboxStatus", [&]() -> zoned::Status {
    if (request->pod_sandbox_id().empty()) return Error(ErrorCode::kInvalidArgument, "pod sandbox id is empty");
    auto record = store_->sandbox(request->pod_sandbox_id());
    if (!record) return Error(ErrorCode::kNotFound, "pod sandbox " + request->pod_sandbox_id() + " not found");
    auto* s = response->mutable_status();
    s->set_id(record->id);
    *s->mutable_metadata() = record->config.metadata();
    s->set_state(sandbox_ready(*record) ? v1::SANDBOX_READY : v1::SANDBOX_NOTREADY);
    s->set_created_at(record->created_at_ns);
    // From the cached CNI result (kept on disk: also right after a restart), primary first.
    const auto ips = options_.network != nullptr ? options_.network->pod_ips(record->id) : std::vector<std::string>{};
    s->mutable_network()->set_ip(ips.empty() ? "" : ips.front());
    for (size_t i = 1; i < ips.size(); ++i) s->mutable_network()->add_additional_ips()->set_ip(ips[i]);
    auto* ns = s->mutable_linux()->mutable_namespaces()->mutable_options();
    *ns = record->config.linux().security_context().namespace_options();
    *s->mutable_labels() = record->config.labels();
    *s->mutable_annotations() = record->config.annotations();
    s->set_runtime_handler(record->runtime_handler);
    response->set_timestamp(now_unix_ns());
    if (request->verbose()) {
      nlohmann::json info = {{"sandboxId", record->id},
                             {"runtimeHandler", record->runtime_handler},
                             {"config", nlohmann::json::parse(config_json(record->config), nullptr, false)}};
      if (auto zone = zones_.get_zone(record->id); zone.ok()) {
        info["zone"] = {{"state", zone_runtime::zone_state_name(zone->state)},
                        {"domid", zone->domid},
                        {"domainName", zone->domain_name},
                        {"hostname", zone->spec.hostname},
                        {"memoryMiB", zone->spec.memory_mib},
                        {"vcpus", zone->spec.vcpus},
                        {"reason", zone->reason},
                        {"message", zone->message},
                        {"agentConnected", zone->agent_connected}};
      } else {
        info["zone"] = {{"state", "gone"}, {"error", zone.error().describe()}};
      }
      (*response->mutable_info())["info"] = info.dump();
    }
    return ok_status();
  });
}

grpc::Status RuntimeService::ListPodSandbox(Ctx*, const v1::ListPodSandboxRequest* request,
                                            v1::ListPodSandboxResponse* response) {
  return run_rpc("ListPodSandbox", [&]() -> zoned::Status {
    const auto& filter = request->filter();
    for (const auto& record : store_->sandboxes()) {
      if (!filter.id().empty() && !has_prefix(record.id, filter.id())) continue;
      if (!labels_match(record.config.labels(), filter.label_selector())) continue;
      auto state = sandbox_ready(record) ? v1::SANDBOX_READY : v1::SANDBOX_NOTREADY;
      if (filter.has_state() && filter.state().state() != state) continue;
      auto* item = response->add_items();
      item->set_id(record.id);
      *item->mutable_metadata() = record.config.metadata();
      item->set_state(state);
      item->set_created_at(record.created_at_ns);
      *item->mutable_labels() = record.config.labels();
      *item->mutable_annotations() = record.config.annotations();
      item->set_runtime_handler(record.runtime_handler);
    }
    return ok_status();
  });
}

}  // namespace zoned::cri
