#include "zoned/netplug/cni_network.h"

#include <unistd.h>

#include <algorithm>

#include "json_util.h"
#include "zoned/common/log.h"
#include "zoned/common/scope_guard.h"
#include "zoned/netplug/cni_result.h"

namespace zoned::netplug {
namespace {

using nlohmann::json;

constexpr const char* kLoopbackName = "cni-loopback";

// prevResult on DEL and CHECK exist from spec 0.4.0 on.
bool has_prev_result_semantics(const std::string& version) {
  return version != "0.3.0" && version != "0.3.1";
}

NetworkConfigList loopback_list() {
  auto list = parse_conflist(R"({"cniVersion":"1.0.0","name":"cni-loopback","plugins":[{"type":"loopback"}]})",
                             "<built-in loopback>");
  return std::move(list).value();
}

bool carriable(const std::string& value) {
  return value.size() <= 253 && std::none_of(value.begin(), value.end(), [](char c) {
           return c == ';' || c == '=' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
         });
}

json port_mapping_json(const PortMapping& m) {
  json j = {{"hostPort", m.host_port}, {"containerPort", m.container_port}, {"protocol", m.protocol}};
  if (!m.host_ip.empty()) j["hostIP"] = m.host_ip;
  return j;
}

}  // namespace

Result<std::string> build_cni_args(const PodRef& pod) {
  for (const std::string* value : {&pod.pod_namespace, &pod.name, &pod.sandbox_id, &pod.uid}) {
    if (!carriable(*value))
      return Error(ErrorCode::kInvalidArgument, "pod field \"" + *value + "\" cannot go in CNI_ARGS");
  }
  return "IgnoreUnknown=1;K8S_POD_NAMESPACE=" + pod.pod_namespace + ";K8S_POD_NAME=" + pod.name +
         ";K8S_POD_INFRA_CONTAINER_ID=" + pod.sandbox_id + ";K8S_POD_UID=" + pod.uid;
}

std::string capability_args_json(const CapabilityArgs& args) {
  json caps = json::object();
  if (!args.port_mappings.empty()) {
    json mappings = json::array();
    for (const PortMapping& m : args.port_mappings) mappings.push_back(port_mapping_json(m));
    caps["portMappings"] = std::move(mappings);
  }
  if (args.bandwidth) {
    const Bandwidth& b = *args.bandwidth;
    caps["bandwidth"] = {{"ingressRate", b.ingress_rate},
                         {"ingressBurst", b.ingress_burst},
                         {"egressRate", b.egress_rate},
                         {"egressBurst", b.egress_burst}};
  }
  if (args.dns)
    caps["dns"] = {{"servers", args.dns->servers}, {"searches", args.dns->searches}, {"options", args.dns->options}};
  return caps.dump();
}

Result<std::string> build_plugin_config(const NetworkConfigList& list, size_t index, const std::string& prev_result,
                                        const std::string& capability_args) {
  if (index >= list.plugins.size()) return Error(ErrorCode::kInternal, "plugin index out of range");
  const PluginConfig& plugin = list.plugins[index];
  auto conf = detail::parse_json_object(plugin.raw_json, kMaxConfigBytes, "plugin config");
  if (!conf.ok()) return std::move(conf).take_error();
  (*conf)["name"] = list.name;
  (*conf)["cniVersion"] = list.cni_version;
  if (!prev_result.empty()) {
    auto prev = detail::parse_json_object(prev_result, kMaxPluginOutputBytes, "prevResult");
    if (!prev.ok()) return std::move(prev).take_error();
    (*conf)["prevResult"] = std::move(*prev);
  }
  json caps = json::object();
  if (!capability_args.empty()) {
    auto parsed = detail::parse_json_object(capability_args, kMaxConfigBytes, "capability args");
    if (!parsed.ok()) return std::move(parsed).take_error();
    caps = std::move(*parsed);
  }
  json runtime = json::object();
  for (const auto& [capability, enabled] : plugin.capabilities) {
    if (enabled && caps.contains(capability)) runtime[capability] = caps[capability];
  }
  if (!runtime.empty()) (*conf)["runtimeConfig"] = std::move(runtime);
  return conf->dump();
}

CniNetwork::CniNetwork(CniOptions options)
    : options_(std::move(options)),
      exec_(options_.exec),
      selector_(options_.conf_dir, exec_),
      cache_(options_.cache_dir) {}

NetworkStatus CniNetwork::status() {
  ConfigChoice choice = selector_.current();
  NetworkStatus status;
  status.ready = choice.ready;
  status.reason = choice.reason;
  status.message = choice.message;
  if (choice.ready) {
    status.network_name = choice.network.list.name;
    status.config_file = choice.network.list.source;
  }
  return status;
}

Result<PodAttachment> CniNetwork::add_network(const ResolvedNetwork& network, const AttachRequest& request,
                                              const std::string& ifname) {
  auto cni_args = build_cni_args(request.pod);
  if (!cni_args.ok()) return std::move(cni_args).take_error();
  CachedAttachment entry{network.list.name,
                         request.pod.sandbox_id,
                         ifname,
                         request.netns_path,
                         network.list.raw_json,
                         *cni_args,
                         capability_args_json(request.capabilities),
                         "",
                         request.pod};
  // Recorded before ADD: a crash from here on leaves something reconciliation can DEL.
  ZONED_TRY(cache_.store(entry));
  bool added = false;
  ScopeGuard undo([&] {
    if (added) return;
    auto deleted = run_del(network, entry);
    if (!deleted.ok()) log::warn("CNI DEL after a failed ADD failed", {{"error", deleted.error().describe()}});
    if (deleted.ok()) (void)cache_.remove(entry.network_name, entry.container_id, entry.ifname);
  });
  std::string prev;
  for (size_t i = 0; i < network.list.plugins.size(); ++i) {
    auto config = build_plugin_config(network.list, i, prev, entry.capability_args_json);
    if (!config.ok()) return std::move(config).take_error();
    PluginRequest plugin_request{CniCommand::kAdd, entry.container_id, entry.netns, ifname, entry.cni_args, *config};
    auto out = exec_.run(network.plugin_paths[i], plugin_request);
    if (!out.ok()) return std::move(out).take_error().wrap("network " + network.list.name);
    auto parsed = parse_cni_result(*out);
    if (!parsed.ok()) {
      return std::move(parsed).take_error().wrap("network " + network.list.name + ": plugin " +
                                                 network.list.plugins[i].type);
    }
    prev = std::move(*out);
  }
  entry.result_json = prev;
  ZONED_TRY(cache_.store(entry));
  auto result = parse_cni_result(prev);
  if (!result.ok()) return std::move(result).take_error();
  added = true;
  return PodAttachment{network.list.name, ifname, std::move(*result)};
}

Result<PodAttachment> CniNetwork::setup(const AttachRequest& request) {
  if (!is_valid_container_id(request.pod.sandbox_id)) {
    return Error(ErrorCode::kInvalidArgument, "bad sandbox id \"" + request.pod.sandbox_id + "\"");
  }
  if (request.netns_path.empty() || request.netns_path[0] != '/') {
    return Error(ErrorCode::kInvalidArgument, "network namespace path must be absolute");
  }
  ConfigChoice choice = selector_.current();
  if (!choice.ready) return Error(ErrorCode::kFailedPrecondition, "pod network not ready: " + choice.message);
  std::optional<ResolvedNetwork> loopback;
  if (options_.loopback) {
    auto resolved = selector_.resolve(loopback_list());
    if (!resolved.ok()) return std::move(resolved).take_error().wrap("loopback");
    loopback = std::move(*resolved);
    auto lo = add_network(*loopback, request, "lo");
    if (!lo.ok()) return std::move(lo).take_error();
  }
  auto main = add_network(choice.network, request, options_.ifname);
  if (!main.ok() && loopback) {
    auto entry = cache_.load(kLoopbackName, request.pod.sandbox_id, "lo");
    if (entry.ok() && *entry && run_del(*loopback, **entry).ok()) {
      (void)cache_.remove(kLoopbackName, request.pod.sandbox_id, "lo");
    }
  }
  return main;
}

Status CniNetwork::run_del(const ResolvedNetwork& network, const CachedAttachment& entry) {
  std::string netns = entry.netns;
  if (!netns.empty() && ::access(netns.c_str(), F_OK) != 0) netns.clear();  // gone: plugins only free allocations
  const std::string prev = has_prev_result_semantics(network.list.cni_version) ? entry.result_json : "";
  Status first_error;
  for (size_t i = network.list.plugins.size(); i-- > 0;) {
    auto config = build_plugin_config(network.list, i, prev, entry.capability_args_json);
    if (!config.ok()) return std::move(config).take_error();
    PluginRequest request{CniCommand::kDel, entry.container_id, netns, entry.ifname, entry.cni_args, *config};
    auto out = exec_.run(network.plugin_paths[i], request);
    if (!out.ok() && first_error.ok()) first_error = std::move(out).take_error().wrap("network " + network.list.name);
  }
  return first_error;
}

Status CniNetwork::delete_cached(const CachedAttachment& entry) {
  auto list = parse_conflist(entry.config_json, "cached config of " + entry.network_name);
  if (!list.ok()) return std::move(list).take_error();
  auto resolved = selector_.resolve(*list);
  if (!resolved.ok()) return std::move(resolved).take_error().wrap("CNI DEL");
  ZONED_TRY(run_del(*resolved, entry));
  return cache_.remove(entry.network_name, entry.container_id, entry.ifname);
}

Status CniNetwork::teardown(const std::string& sandbox_id, const std::string& netns_path) {
  if (!is_valid_container_id(sandbox_id))
    return Error(ErrorCode::kInvalidArgument, "bad sandbox id \"" + sandbox_id + "\"");
  auto entries = cache_.list();
  if (!entries.ok()) return std::move(entries).take_error();
  std::vector<CachedAttachment> mine;
  for (auto& entry : *entries) {
    if (entry.container_id == sandbox_id) mine.push_back(std::move(entry));
  }
  if (mine.empty()) {
    ConfigChoice choice = selector_.current();
    if (!choice.ready) return ok_status();  // nothing was ever added that we know of
    CachedAttachment entry{choice.network.list.name, sandbox_id, options_.ifname, netns_path, "", "", "", "", {}};
    entry.pod.sandbox_id = sandbox_id;
    auto args = build_cni_args(entry.pod);
    if (args.ok()) entry.cni_args = *args;
    return run_del(choice.network, entry);
  }
  // The loopback went first at setup, so it goes last.
  std::stable_partition(mine.begin(), mine.end(),
                        [](const CachedAttachment& e) { return e.network_name != kLoopbackName; });
  Status first_error;
  for (const CachedAttachment& entry : mine) {
    auto deleted = delete_cached(entry);
    if (!deleted.ok() && first_error.ok()) first_error = std::move(deleted);
  }
  return first_error;
}

Status CniNetwork::check(const std::string& sandbox_id) {
  auto found = attachment(sandbox_id);
  if (!found.ok()) return std::move(found).take_error();
  if (!*found) return Error(ErrorCode::kNotFound, "no CNI attachment cached for sandbox " + sandbox_id);
  auto entry = cache_.load((*found)->network_name, sandbox_id, (*found)->ifname);
  if (!entry.ok()) return std::move(entry).take_error();
  if (!*entry) return Error(ErrorCode::kNotFound, "no CNI attachment cached for sandbox " + sandbox_id);
  auto list = parse_conflist((*entry)->config_json, "cached config");
  if (!list.ok()) return std::move(list).take_error();
  if (!has_prev_result_semantics(list->cni_version) || list->disable_check) return ok_status();
  auto resolved = selector_.resolve(*list);
  if (!resolved.ok()) return std::move(resolved).take_error();
  for (size_t i = 0; i < resolved->list.plugins.size(); ++i) {
    auto config = build_plugin_config(resolved->list, i, (*entry)->result_json, (*entry)->capability_args_json);
    if (!config.ok()) return std::move(config).take_error();
    PluginRequest request{CniCommand::kCheck, sandbox_id,         (*entry)->netns,
                          (*entry)->ifname,   (*entry)->cni_args, *config};
    auto out = exec_.run(resolved->plugin_paths[i], request);
    if (!out.ok()) return std::move(out).take_error().wrap("CNI CHECK of network " + resolved->list.name);
  }
  return ok_status();
}

Result<std::optional<PodAttachment>> CniNetwork::attachment(const std::string& sandbox_id) const {
  auto entries = cache_.list();
  if (!entries.ok()) return std::move(entries).take_error();
  for (const CachedAttachment& entry : *entries) {
    if (entry.container_id != sandbox_id || entry.network_name == kLoopbackName || entry.result_json.empty()) continue;
    auto result = parse_cni_result(entry.result_json);
    if (!result.ok()) return std::move(result).take_error().wrap("cached result of " + sandbox_id);
    return std::optional<PodAttachment>(PodAttachment{entry.network_name, entry.ifname, std::move(*result)});
  }
  return std::optional<PodAttachment>();
}

Result<std::vector<CachedAttachment>> CniNetwork::cached() const {
  return cache_.list();
}

}  // namespace zoned::netplug
