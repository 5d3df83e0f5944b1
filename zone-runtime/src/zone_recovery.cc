// After a daemon restart: find our zones' domains again, reconnect to their agents, learn what
// happened to their containers meanwhile. While running: notice zones that died or crashed.
#include <algorithm>

#include "zone_manager_impl.h"
#include "zoned/common/log.h"

namespace zoned::zone_runtime {

namespace {
constexpr int64_t kReconnectIntervalNs = 5'000'000'000;
constexpr size_t kCrashConsoleTail = 4096;

const DomainInfo* find_domain(const std::vector<DomainInfo>& domains, const ZoneRecord& zone) {
  for (const auto& d : domains) {
    if (d.name == zone.domain_name && (zone.uuid.empty() || d.uuid == zone.uuid)) return &d;
  }
  return nullptr;
}
}  // namespace

void ZoneManagerImpl::recover() {
  auto stored = store_.load_all();
  if (stored.empty()) return;
  auto domains = hypervisor_.list_domains();
  if (!domains.ok()) {
    log::error("cannot list domains; zones will be reattached by the monitor",
               {{"error", domains.error().describe()}});
  }
  for (auto& s : stored) {
    auto zone = std::make_shared<Zone>();
    zone->stored = std::move(s);
    ZoneRecord& rec = zone->stored.zone;
    const DomainInfo* domain = domains.ok() ? find_domain(*domains, rec) : nullptr;
    if (rec.state == ZoneState::kCreating) {
      // A create that never finished: undo it.
      if (domain) (void)hypervisor_.destroy_domain(domain->domid);
      (void)store_.remove(rec.id);
      log::info("removed a zone whose creation was interrupted", {{"zone", rec.id.substr(0, 12)}});
      continue;
    }
    {
      std::lock_guard lock(mu_);
      zones_[rec.id] = zone;
    }
    if (rec.state != ZoneState::kRunning && rec.state != ZoneState::kStopping) continue;
    if (!domains.ok()) continue;
    if (!domain) {
      std::lock_guard lock(mu_);
      rec.domid = 0;
    } else {
      std::lock_guard lock(mu_);
      rec.domid = domain->domid;
      // output resumes where it stopped: reopen the logs of containers that may still write
      for (const auto& c : zone->stored.containers) {
        if (c.state == ContainerState::kExited) continue;
        auto log_file = ContainerLog::open(c.log_path);
        if (!log_file.ok()) {
          log::warn("cannot reopen a container log", {{"path", c.log_path}, {"error", log_file.error().describe()}});
          continue;
        }
        zone->logs[c.id] = std::move(*log_file);
        zone->stream_to_container[c.stream_id] = c.id;
      }
      (void)persist_locked(*zone);
    }
    if (domain && domain->state == DomainRunState::kRunning) start_console(*zone, domain->domid);
    log::info("found zone after restart", {{"zone", rec.id.substr(0, 12)}, {"name", rec.spec.name},
                                           {"domid", domain ? domain->domid : 0}});
  }
  wake_monitor();
}

void ZoneManagerImpl::monitor_loop() {
  for (;;) {
    {
      std::unique_lock lock(monitor_mu_);
      monitor_cv_.wait_for(lock, std::chrono::seconds(2), [&] { return monitor_wake_ || stopping_; });
      if (stopping_) return;
      monitor_wake_ = false;
    }
    reconcile();
  }
}

void ZoneManagerImpl::reconcile() {
  std::vector<std::shared_ptr<idm::Client>> closed;
  std::vector<std::shared_ptr<Zone>> live;
  {
    std::lock_guard lock(mu_);
    closed.swap(closed_clients_);
    for (auto& [id, zone] : zones_) {
      const auto state = zone->stored.zone.state;
      if (state == ZoneState::kRunning || state == ZoneState::kStopping) live.push_back(zone);
    }
  }
  for (auto& c : closed) c->close();
  closed.clear();
  if (live.empty()) return;
  auto domains = hypervisor_.list_domains();
  if (!domains.ok()) {
    log::warn("monitor: cannot list domains", {{"error", domains.error().describe()}});
    return;
  }
  for (auto& zone : live) {
    std::unique_lock op(zone->op_mu, std::try_to_lock);
    if (!op.owns_lock()) continue;  // an operation is running on it; look again next round
    ZoneRecord rec;
    bool connected = false;
    {
      std::lock_guard lock(mu_);
      rec = zone->stored.zone;
      connected = zone->client != nullptr;
    }
    if (rec.state != ZoneState::kRunning && rec.state != ZoneState::kStopping) continue;
    const DomainInfo* domain = find_domain(*domains, rec);
    if (!domain) {
      teardown_domain(zone);
      zone_ended(zone, ZoneState::kStopped, "DomainGone", "the zone's domain no longer exists");
      continue;
    }
    if (rec.domid != domain->domid) {
      std::lock_guard lock(mu_);
      zone->stored.zone.domid = domain->domid;
    }
    switch (domain->state) {
      case DomainRunState::kCrashed: {
        std::string tail = console_tail(console_path_of(rec.id), kCrashConsoleTail, true);
        teardown_domain(zone);
        zone_ended(zone, ZoneState::kFailed, "Crashed", "the zone's kernel crashed; console tail:\n" + tail);
        log::warn("zone crashed", {{"zone", rec.id.substr(0, 12)}, {"name", rec.spec.name}});
        break;
      }
      case DomainRunState::kPoweroff:
      case DomainRunState::kReboot:
        teardown_domain(zone);
        zone_ended(zone, ZoneState::kStopped, "PoweredOff", "the zone powered itself off");
        break;
      case DomainRunState::kDying: break;
      case DomainRunState::kRunning:
        if (rec.state == ZoneState::kStopping) {
          // Stopping, yet no stop holds the zone's operation lock: the daemon died during
          // stop_zone. The stop was asked for and its grace has passed: finish it.
          teardown_domain(zone);
          zone_ended(zone, ZoneState::kStopped, "Stopped", "stopped on request (finished after a daemon restart)");
          log::info("finished an interrupted stop", {{"zone", rec.id.substr(0, 12)}, {"name", rec.spec.name}});
          break;
        }
        if (!connected && rec.state == ZoneState::kRunning) {
          const int64_t now = now_unix_ns();
          if (now - zone->last_reconnect_ns < kReconnectIntervalNs) break;
          zone->last_reconnect_ns = now;
          auto attached = reattach(zone);
          if (!attached.ok()) {
            log::warn("cannot reconnect to a zone's agent; will retry",
                      {{"zone", rec.id.substr(0, 12)}, {"error", attached.error().describe()}});
          }
        }
        break;
    }
  }
}

Status ZoneManagerImpl::reattach(const std::shared_ptr<Zone>& zone) {
  uint32_t domid = 0;
  {
    std::lock_guard lock(mu_);
    domid = zone->stored.zone.domid;
  }
  ZONED_TRY(connect_agent(zone, domid, std::chrono::seconds(15)));
  if (!zone->console) start_console(*zone, domid);
  sync_containers(zone);
  log::info("reconnected to a zone's agent", {{"zone", zone->stored.zone.id.substr(0, 12)}, {"domid", domid}});
  return ok_status();
}

void ZoneManagerImpl::sync_containers(const std::shared_ptr<Zone>& zone) {
  std::shared_ptr<idm::Client> client;
  {
    std::lock_guard lock(mu_);
    client = zone->client;
  }
  if (!client) return;
  idm::v1::Request req;
  req.mutable_list_containers();
  auto reply = client->call(req, options_.request_timeout);
  if (!reply.ok() || !reply->has_container_list()) {
    log::warn("cannot list a zone's containers", {{"zone", zone->stored.zone.id.substr(0, 12)}});
    return;
  }
  std::vector<std::shared_ptr<ContainerLog>> to_flush;
  {
    std::lock_guard lock(mu_);
    for (auto& [cid, l] : zone->logs) to_flush.push_back(l);
  }
  for (auto& l : to_flush) (void)l->flush();
  std::lock_guard lock(mu_);
  for (auto& c : zone->stored.containers) {
    if (c.state == ContainerState::kExited) continue;
    const auto& list = reply->container_list().containers();
    auto it = std::find_if(list.begin(), list.end(), [&](const auto& s) { return s.container_id() == c.id; });
    if (it == list.end()) {
      c.state = ContainerState::kExited;
      c.exit_code = 255;
      c.finished_at_ns = now_unix_ns();
      c.reason = "Lost";
      c.message = "the zone's agent no longer knows this container";
      continue;
    }
    switch (it->status()) {
      case idm::v1::ContainerState::STATUS_EXITED: apply_exit(*zone, it->exit()); break;
      case idm::v1::ContainerState::STATUS_RUNNING:
        c.state = ContainerState::kRunning;
        c.pid = it->pid();
        break;
      default: break;
    }
  }
  (void)persist_locked(*zone);
  state_cv_.notify_all();
}

}  // namespace zoned::zone_runtime
