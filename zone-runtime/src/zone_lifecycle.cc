// Zone lifecycle: create (disks, domain, console, agent), stop, remove, stats.
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "zone_manager_impl.h"
#include "zoned/common/log.h"
#include "zoned/common/scope_guard.h"

namespace zoned::zone_runtime {

namespace {

constexpr size_t kConsoleTailInErrors = 2048;

bool valid_name(std::string_view name, size_t max) {
  if (name.empty() || name.size() > max) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.';
  });
}

bool valid_hostname(std::string_view name) {
  if (name.empty() || name.size() > 63 || name.front() == '-' || name.back() == '-') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
  });
}

// "8-4-4-4-12" from the first 32 hex digits of a zone id.
std::string uuid_from_id(const std::string& id) {
  return id.substr(0, 8) + "-" + id.substr(8, 4) + "-" + id.substr(12, 4) + "-" + id.substr(16, 4) + "-" +
         id.substr(20, 12);
}

}  // namespace

std::string ZoneManagerImpl::next_vdev(const Zone& zone) const {
  for (char c = 'b'; c <= 'z'; ++c) {
    const std::string vdev = std::string("xvd") + c;
    bool used = std::any_of(zone.stored.zone.disks.begin(), zone.stored.zone.disks.end(),
                            [&](const ZoneDisk& d) { return d.vdev == vdev; });
    if (!used) return vdev;
  }
  return {};
}

Result<ZoneDisk> ZoneManagerImpl::attach_image_disk(Zone& zone, const image_store::ImageRecord& image,
                                                    std::vector<std::unique_ptr<AttachedDevice>>& held) {
  std::string vdev;
  {
    std::lock_guard lock(mu_);
    vdev = next_vdev(zone);
  }
  if (vdev.empty()) return Error(ErrorCode::kResourceExhausted, "the zone has no free disk slot (xvdb..xvdz used)");
  auto device = attach_device_(image.root_image_path);
  if (!device.ok()) return device.error().wrap("attaching the root image of " + image.id);
  ZoneDisk disk{image.id, vdev, (*device)->path()};
  held.push_back(std::move(*device));
  std::lock_guard lock(mu_);
  zone.stored.zone.disks.push_back(disk);
  return disk;
}

DomainSpec ZoneManagerImpl::domain_spec(const ZoneRecord& zone) const {
  DomainSpec spec;
  spec.name = zone.domain_name;
  spec.uuid = zone.uuid;
  spec.type = zone.type;
  spec.memory_mib = zone.spec.memory_mib;
  spec.max_memory_mib = std::max(options_.max_memory_mib, zone.spec.memory_mib);
  spec.vcpus = zone.spec.vcpus;
  spec.max_vcpus = std::max(options_.max_vcpus, zone.spec.vcpus);
  spec.kernel = options_.kernel;
  spec.initramfs = options_.initramfs;
  spec.cmdline = "console=hvc0 quiet zoned.hostname=" + zone.spec.hostname + " zoned.loglevel=" +
                 options_.agent_log_level;
  if (!options_.extra_cmdline.empty()) spec.cmdline += " " + options_.extra_cmdline;
  for (const auto& d : zone.disks) spec.disks.push_back({d.loop_device, d.vdev, true});
  if (!zone.spec.nic_mac.empty()) spec.nic = NicAttachment{zone.spec.nic_mac};
  return spec;
}

idm::Client::Handlers ZoneManagerImpl::handlers_for(const std::string& zone_id) {
  idm::Client::Handlers h;
  h.on_event = [this, zone_id](const idm::v1::Event& e) { on_event(zone_id, e); };
  h.on_stream = [this, zone_id](const idm::v1::StreamData& d) { on_stream(zone_id, d); };
  h.on_closed = [this, zone_id](const Error& e) { on_closed(zone_id, e); };
  return h;
}

Status ZoneManagerImpl::connect_agent(const std::shared_ptr<Zone>& zone, uint32_t domid,
                                      std::chrono::milliseconds timeout) {
  using clock = std::chrono::steady_clock;
  const std::string base = "/local/domain/" + std::to_string(domid) + "/data/zoned";
  const std::string generation = random_hex(8);
  ZONED_TRY(hypervisor_.xenstore_write(base + "/idm-request", generation));
  const auto deadline = clock::now() + timeout;
  auto next_alive_check = clock::now() + std::chrono::seconds(1);
  for (;;) {
    auto ready = hypervisor_.xenstore_read(base + "/idm-ready");
    if (ready.ok() && ready->has_value() && **ready == generation) break;
    if (clock::now() > deadline) {
      return Error(ErrorCode::kDeadlineExceeded,
                   "the zone's agent did not answer within " +
                       std::to_string(std::chrono::duration_cast<std::chrono::seconds>(timeout).count()) + " s");
    }
    if (clock::now() > next_alive_check) {
      next_alive_check = clock::now() + std::chrono::seconds(1);
      auto domains = hypervisor_.list_domains();
      if (domains.ok()) {
        auto it = std::find_if(domains->begin(), domains->end(), [&](const DomainInfo& d) { return d.domid == domid; });
        if (it == domains->end()) return Error(ErrorCode::kFailedPrecondition, "the zone's domain disappeared while booting");
        if (it->state == DomainRunState::kCrashed) return Error(ErrorCode::kFailedPrecondition, "the zone crashed while booting");
        if (it->state != DomainRunState::kRunning) return Error(ErrorCode::kFailedPrecondition, "the zone shut down while booting");
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  Result<std::unique_ptr<idm::ByteChannel>> channel = Error(ErrorCode::kUnavailable, "not tried");
  for (int attempt = 0; attempt < 40; ++attempt) {
    channel = hypervisor_.connect_channel(domid, base + "/idm");
    if (channel.ok() || channel.error().code() != ErrorCode::kUnavailable) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!channel.ok()) return channel.error().wrap("connecting to the zone's IDM channel");
  auto client = idm::Client::connect(std::move(*channel), handlers_for(zone->stored.zone.id), idm::Endpoint::Limits{},
                                     std::chrono::milliseconds(10000));
  if (!client.ok()) return client.error().wrap("IDM handshake with the zone's agent");
  std::lock_guard lock(mu_);
  zone->client = std::shared_ptr<idm::Client>(std::move(*client));
  return ok_status();
}

void ZoneManagerImpl::start_console(Zone& zone, uint32_t domid) {
  for (int attempt = 0; attempt < 40; ++attempt) {
    auto path = hypervisor_.console_path(domid);
    if (path.ok() && !path->empty()) {
      auto reader = ConsoleReader::start(*path, console_path_of(zone.stored.zone.id), options_.console_log_bytes);
      if (reader.ok()) {
        zone.console = std::move(*reader);
        return;
      }
      log::warn("cannot read the zone's console", {{"zone", zone.stored.zone.id}, {"error", reader.error().describe()}});
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  log::warn("the zone has no console tty", {{"zone", zone.stored.zone.id}});
}

Status ZoneManagerImpl::configure_network(const std::shared_ptr<Zone>& zone, const std::string& config_json) {
  std::shared_ptr<idm::Client> client;
  {
    std::lock_guard lock(mu_);
    client = zone->client;
  }
  const std::string what = "configuring the network of zone " + zone->stored.zone.spec.name;
  if (!client) return Error(ErrorCode::kUnavailable, what + ": the agent is not connected");
  idm::v1::Request req;
  req.mutable_configure_network()->set_config_json(config_json);
  auto configured = client->call(req, options_.request_timeout);
  if (!configured.ok()) return configured.error().wrap(what);
  return ok_status();
}

Result<ZoneRecord> ZoneManagerImpl::create_zone(const ZoneSpec& in) {
  auto zone = std::make_shared<Zone>();
  ZoneRecord& rec = zone->stored.zone;
  if (!in.id.empty() && (in.id.size() != 64 || in.id.find_first_not_of("0123456789abcdef") != std::string::npos)) {
    return Error(ErrorCode::kInvalidArgument, "zone id '" + in.id.substr(0, 80) + "': use 64 lower-case hex digits");
  }
  rec.id = in.id.empty() ? random_hex(32) : in.id;
  rec.spec = in;
  rec.spec.on_domain_created = nullptr;  // the caller's, for this call only (in.on_domain_created runs)
  if (rec.spec.name.empty()) rec.spec.name = rec.id.substr(0, 12);
  if (!valid_name(rec.spec.name, 63)) {
    return Error(ErrorCode::kInvalidArgument, "zone name '" + rec.spec.name + "': use 1-63 of [A-Za-z0-9_.-]");
  }
  if (rec.spec.hostname.empty()) rec.spec.hostname = rec.spec.name;
  if (!valid_hostname(rec.spec.hostname)) {
    return Error(ErrorCode::kInvalidArgument, "zone hostname '" + rec.spec.hostname + "' is not a valid hostname");
  }
  rec.type = in.type.value_or(options_.default_type);
  rec.spec.type = rec.type;
  if (rec.spec.memory_mib == 0) rec.spec.memory_mib = options_.default_memory_mib;
  if (rec.spec.memory_mib < 64 || rec.spec.memory_mib > 1024 * 1024) {
    return Error(ErrorCode::kInvalidArgument, "zone memory " + std::to_string(rec.spec.memory_mib) + " MiB: use 64 MiB or more");
  }
  if (rec.spec.vcpus == 0) rec.spec.vcpus = options_.default_vcpus;
  if (rec.spec.vcpus > 128) return Error(ErrorCode::kInvalidArgument, "zone vcpus: at most 128");
  rec.domain_name = "zoned-" + rec.id.substr(0, 16);
  rec.uuid = uuid_from_id(rec.id);
  rec.created_at_ns = now_unix_ns();
  rec.state = ZoneState::kCreating;

  // Check what can be checked before taking any resource.
  for (const auto* path : {&options_.kernel, &options_.initramfs}) {
    if (::access(path->c_str(), R_OK) != 0) {
      return Error(ErrorCode::kFailedPrecondition,
                   "zone asset " + *path + " is missing: build the zone assets (zone-runtime/assets) or set [zones] " +
                       (path == &options_.kernel ? "kernel" : "initramfs") + " in the config");
    }
  }
  std::vector<image_store::ImageRecord> images;
  for (const auto& ref : in.images) {
    auto image = images_.find(ref);
    if (!image.ok()) return image.error().wrap("image " + ref);
    images.push_back(std::move(*image));
  }
  {
    std::lock_guard lock(mu_);
    if (zones_.count(rec.id) != 0) return Error(ErrorCode::kAlreadyExists, "a zone with id " + rec.id + " exists");
    for (auto& [id, other] : zones_) {
      const auto& o = other->stored.zone;
      if (o.spec.name == rec.spec.name && o.state != ZoneState::kStopped && o.state != ZoneState::kFailed) {
        return Error(ErrorCode::kAlreadyExists, "a zone named " + rec.spec.name + " exists (" + o.id.substr(0, 12) + ")");
      }
    }
    zones_[rec.id] = zone;
  }
  std::lock_guard op(zone->op_mu);
  const std::string id = rec.id;
  ScopeGuard undo([&] {
    uint32_t domid = 0;
    std::shared_ptr<idm::Client> client;
    {
      std::lock_guard lock(mu_);
      domid = zone->stored.zone.domid;
      client = std::move(zone->client);
    }
    if (client) client->close();
    if (domid != 0) {
      auto destroyed = hypervisor_.destroy_domain(domid);
      if (!destroyed.ok()) log::error("cannot destroy a failed zone's domain", {{"domid", domid}, {"error", destroyed.error().describe()}});
    }
    zone->console.reset();
    (void)store_.remove(id);
    std::lock_guard lock(mu_);
    zones_.erase(id);
  });
  ZONED_TRY(store_.create_zone_dir(id));
  ZONED_TRY([&]() -> Status {
    std::lock_guard lock(mu_);
    return persist_locked(*zone);
  }());
  std::vector<std::unique_ptr<AttachedDevice>> held;
  for (const auto& image : images) ZONED_TRY(attach_image_disk(*zone, image, held));

  const auto t0 = std::chrono::steady_clock::now();
  DomainSpec spec;
  {
    std::lock_guard lock(mu_);
    spec = domain_spec(rec);
  }
  auto domid = hypervisor_.create_domain(spec);
  if (!domid.ok()) return domid.error().wrap("creating zone " + rec.spec.name);
  {
    std::lock_guard lock(mu_);
    rec.domid = *domid;
    (void)persist_locked(*zone);
  }
  for (auto& device : held) device->release();  // blkback holds them now; they go when it lets go
  held.clear();
  const auto t1 = std::chrono::steady_clock::now();
  start_console(*zone, *domid);
  if (in.on_domain_created) {
    auto prepared = in.on_domain_created(*domid);
    if (!prepared.ok()) {
      return std::move(prepared).take_error().wrap("preparing zone " + rec.spec.name + " (domain " +
                                                   std::to_string(*domid) + ")");
    }
  }
  auto connected = connect_agent(zone, *domid, options_.agent_timeout);
  if (!connected.ok()) {
    std::string tail = console_tail(console_path_of(id), kConsoleTailInErrors, true);
    return connected.error().wrap("starting zone " + rec.spec.name + (tail.empty() ? "" : " (console tail: " + tail + ")"));
  }
  if (!in.network_config_json.empty()) ZONED_TRY(configure_network(zone, in.network_config_json));
  const auto t2 = std::chrono::steady_clock::now();
  ZoneRecord result;
  {
    std::lock_guard lock(mu_);
    rec.state = ZoneState::kRunning;
    rec.started_at_ns = now_unix_ns();
    (void)persist_locked(*zone);
    result = rec;
    result.agent_connected = true;
  }
  undo.dismiss();
  auto ms = [](auto d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
  log::info("zone running", {{"zone", id.substr(0, 12)},
                             {"name", result.spec.name},
                             {"domid", result.domid},
                             {"type", result.type == DomainType::kPvh ? "pvh" : "pv"},
                             {"domain_ms", ms(t1 - t0)},
                             {"agent_ms", ms(t2 - t1)}});
  return result;
}

void ZoneManagerImpl::teardown_domain(const std::shared_ptr<Zone>& zone) {
  uint32_t domid = 0;
  std::shared_ptr<idm::Client> client;
  {
    std::lock_guard lock(mu_);
    domid = zone->stored.zone.domid;
    client = std::move(zone->client);
  }
  if (client) client->close();
  if (domid != 0) {
    auto destroyed = hypervisor_.destroy_domain(domid);
    if (!destroyed.ok()) {
      log::error("cannot destroy a zone's domain", {{"zone", zone->stored.zone.id}, {"domid", domid},
                                                    {"error", destroyed.error().describe()}});
      return;  // keep the domid: the monitor tries again
    }
  }
  zone->console.reset();
  std::lock_guard lock(mu_);
  zone->stored.zone.domid = 0;
  (void)persist_locked(*zone);
}

void ZoneManagerImpl::zone_ended(const std::shared_ptr<Zone>& zone, ZoneState state, const std::string& reason,
                                 const std::string& message) {
  std::vector<std::shared_ptr<ContainerLog>> logs;
  std::vector<std::shared_ptr<ExecState>> execs;
  {
    std::lock_guard lock(mu_);
    for (auto& [cid, log] : zone->logs) logs.push_back(log);
  }
  for (auto& l : logs) (void)l->flush();
  {
    std::lock_guard lock(mu_);
    ZoneRecord& rec = zone->stored.zone;
    rec.state = state;
    if (rec.finished_at_ns == 0) rec.finished_at_ns = now_unix_ns();
    rec.reason = reason;
    rec.message = message;
    for (auto& c : zone->stored.containers) {
      if (c.state == ContainerState::kExited) continue;
      c.state = ContainerState::kExited;
      c.exit_code = 255;
      c.finished_at_ns = now_unix_ns();
      c.reason = "ZoneStopped";
      c.message = "the zone ended (" + reason + ") before the container exited";
    }
    zone->logs.clear();
    zone->stream_to_container.clear();
    for (auto& [stream, exec] : zone->stream_to_exec) execs.push_back(exec);
    zone->stream_to_exec.clear();
    (void)persist_locked(*zone);
  }
  state_cv_.notify_all();
  for (auto& e : execs) {
    std::lock_guard lock(e->mu);
    e->zone_gone = true;
    e->cv.notify_all();
  }
  log::info("zone ended", {{"zone", zone->stored.zone.id.substr(0, 12)}, {"state", zone_state_name(state)},
                           {"reason", reason}});
}

Status ZoneManagerImpl::stop_zone(const std::string& key, std::chrono::seconds grace) {
  auto found = find_zone(key);
  if (!found.ok()) return found.error();
  auto zone = *found;
  std::lock_guard op(zone->op_mu);
  std::shared_ptr<idm::Client> client;
  std::vector<std::string> running;
  {
    std::lock_guard lock(mu_);
    auto& rec = zone->stored.zone;
    if (rec.state == ZoneState::kStopped || rec.state == ZoneState::kFailed) return ok_status();
    if (rec.state == ZoneState::kCreating) return Error(ErrorCode::kFailedPrecondition, "zone " + key + " is still being created");
    rec.state = ZoneState::kStopping;
    (void)persist_locked(*zone);
    client = zone->client;
    for (auto& c : zone->stored.containers) {
      if (c.state != ContainerState::kExited) running.push_back(c.id);
    }
  }
  if (client) {
    // Containers first, gracefully, all at once; then the zone powers itself off.
    for (const auto& cid : running) {
      idm::v1::Request req;
      req.mutable_signal_container()->set_container_id(cid);
      req.mutable_signal_container()->set_signal(15);
      (void)client->call(req, options_.request_timeout);
    }
    {
      std::unique_lock lock(mu_);
      state_cv_.wait_for(lock, grace, [&] {
        return std::all_of(zone->stored.containers.begin(), zone->stored.containers.end(),
                           [](const ContainerRecord& c) { return c.state == ContainerState::kExited; });
      });
    }
    idm::v1::Request shutdown;
    shutdown.mutable_shutdown();
    auto answered = client->call(shutdown, options_.request_timeout);
    if (answered.ok()) {
      // wait (bounded) for the domain to power off by itself
      const uint32_t domid = zone->stored.zone.domid;
      for (int i = 0; i < 100; ++i) {
        auto domains = hypervisor_.list_domains();
        if (!domains.ok()) break;
        auto it = std::find_if(domains->begin(), domains->end(), [&](const DomainInfo& d) { return d.domid == domid; });
        if (it == domains->end() || it->state != DomainRunState::kRunning) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
  }
  teardown_domain(zone);
  zone_ended(zone, ZoneState::kStopped, "Stopped", "stopped on request");
  return ok_status();
}

Status ZoneManagerImpl::remove_zone(const std::string& key) {
  auto found = find_zone(key);
  if (!found.ok()) {
    if (found.error().code() == ErrorCode::kNotFound) return ok_status();
    return found.error();
  }
  auto zone = *found;
  std::lock_guard op(zone->op_mu);
  bool live = false;
  {
    std::lock_guard lock(mu_);
    const auto state = zone->stored.zone.state;
    live = state != ZoneState::kStopped && state != ZoneState::kFailed;
  }
  teardown_domain(zone);
  {
    std::lock_guard lock(mu_);
    if (zone->stored.zone.domid != 0) {
      return Error(ErrorCode::kInternal, "zone " + key + ": its domain could not be destroyed; try again");
    }
  }
  if (live) zone_ended(zone, ZoneState::kStopped, "Removed", "removed while running");
  const std::string id = zone->stored.zone.id;
  auto removed = store_.remove(id);
  if (!removed.ok()) return removed.error().wrap("removing zone state");
  std::lock_guard lock(mu_);
  zones_.erase(id);
  return ok_status();
}

Result<ZoneStats> ZoneManagerImpl::stats(const std::string& key) {
  auto found = find_zone(key);
  if (!found.ok()) return found.error();
  auto client = client_of((*found)->stored.zone.id);
  if (!client.ok()) return client.error();
  idm::v1::Request req;
  req.mutable_stats();
  auto reply = (*client)->call(req, options_.request_timeout);
  if (!reply.ok()) return reply.error();
  if (!reply->has_stats()) return Error(ErrorCode::kInternal, "the zone's agent answered stats with something else");
  ZoneStats out;
  const auto& s = reply->stats();
  out.timestamp_ns = now_unix_ns();
  out.memory_total_bytes = s.zone().memory_total_bytes();
  out.memory_available_bytes = s.zone().memory_available_bytes();
  out.cpu_usage_ns = s.zone().cpu_usage_ns();
  std::lock_guard lock(mu_);
  for (const auto& c : s.containers()) {
    if (!container_in(**found, c.container_id())) continue;  // only ours (the zone may make names up)
    out.containers.push_back({c.container_id(), c.cpu_usage_ns(), c.memory_usage_bytes()});
  }
  return out;
}

}  // namespace zoned::zone_runtime
