// ZoneManager: construction, lookups, persistence, queries. The lifecycle, containers, IDM
// events and recovery live in zone_lifecycle.cc, zone_containers.cc, zone_events.cc and
// zone_recovery.cc.
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "zone_manager_impl.h"
#include "zoned/common/log.h"
#include "zoned/common/unique_fd.h"

namespace zoned::zone_runtime {

std::string_view zone_state_name(ZoneState state) {
  switch (state) {
    case ZoneState::kCreating: return "creating";
    case ZoneState::kRunning: return "running";
    case ZoneState::kStopping: return "stopping";
    case ZoneState::kStopped: return "stopped";
    case ZoneState::kFailed: return "failed";
  }
  return "unknown";
}

std::string_view container_state_name(ContainerState state) {
  switch (state) {
    case ContainerState::kCreated: return "created";
    case ContainerState::kRunning: return "running";
    case ContainerState::kExited: return "exited";
  }
  return "unknown";
}

std::string random_hex(size_t bytes) {
  std::string raw(bytes, '\0');
  for (size_t got = 0; got < bytes;) {
    const size_t chunk = std::min<size_t>(bytes - got, 256);
    if (::getentropy(raw.data() + got, chunk) != 0) std::abort();  // cannot fail for <= 256 bytes
    got += chunk;
  }
  static const char* digits = "0123456789abcdef";
  std::string hex;
  for (char ch : raw) {
    const auto c = static_cast<unsigned char>(ch);
    hex += digits[c >> 4];
    hex += digits[c & 15];
  }
  return hex;
}

Result<std::unique_ptr<ZoneManager>> ZoneManager::open(const ZoneManagerOptions& options, Hypervisor& hypervisor,
                                                       image_store::ImageStore& images, DeviceAttacher attach_device) {
  auto manager = std::make_unique<ZoneManagerImpl>(options, hypervisor, images, std::move(attach_device));
  ZONED_TRY(manager->init());
  return std::unique_ptr<ZoneManager>(std::move(manager));
}

ZoneManagerImpl::ZoneManagerImpl(const ZoneManagerOptions& options, Hypervisor& hypervisor,
                                 image_store::ImageStore& images, DeviceAttacher attach_device)
    : options_(options),
      hypervisor_(hypervisor),
      images_(images),
      attach_device_(std::move(attach_device)),
      store_(options.state_dir) {
  if (options_.max_memory_mib < options_.default_memory_mib) options_.max_memory_mib = options_.default_memory_mib;
  if (options_.max_vcpus < options_.default_vcpus) options_.max_vcpus = options_.default_vcpus;
}

Status ZoneManagerImpl::init() {
  ZONED_TRY(store_.init());
  hypervisor_.set_domain_change_callback([this] { wake_monitor(); });
  recover();
  monitor_ = std::thread([this] { monitor_loop(); });
  return ok_status();
}

ZoneManagerImpl::~ZoneManagerImpl() {
  // The hypervisor outlives us: it must not call into a destroyed manager.
  hypervisor_.set_domain_change_callback({});
  {
    std::lock_guard lock(monitor_mu_);
    stopping_ = true;
  }
  monitor_cv_.notify_all();
  if (monitor_.joinable()) monitor_.join();
  // Zones keep running: close our side of each channel (the agent waits for a new daemon).
  std::vector<std::shared_ptr<idm::Client>> clients;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, zone] : zones_) {
      if (zone->client) clients.push_back(std::move(zone->client));
    }
  }
  for (auto& c : clients) c->close();
  std::lock_guard lock(mu_);
  for (auto& [id, zone] : zones_) zone->console.reset();
}

std::shared_ptr<Zone> ZoneManagerImpl::find_zone_locked(const std::string& key, std::string* error) {
  if (key.empty()) {
    *error = "no zone named";
    return nullptr;
  }
  if (auto it = zones_.find(key); it != zones_.end()) return it->second;
  // A name is unique among live zones only: prefer the live one, else the newest.
  std::shared_ptr<Zone> named;
  auto live = [](const Zone& z) {
    return z.stored.zone.state != ZoneState::kStopped && z.stored.zone.state != ZoneState::kFailed;
  };
  for (auto& [id, zone] : zones_) {
    if (zone->stored.zone.spec.name != key) continue;
    if (!named || (live(*zone) && !live(*named)) ||
        (live(*zone) == live(*named) && zone->stored.zone.created_at_ns > named->stored.zone.created_at_ns)) {
      named = zone;
    }
  }
  if (named) return named;
  std::shared_ptr<Zone> found;
  int matches = 0;
  for (auto& [id, zone] : zones_) {
    if (id.compare(0, key.size(), key) == 0) {
      found = zone;
      ++matches;
    }
  }
  if (matches == 1) return found;
  *error = matches > 1 ? "zone id prefix " + key + " is ambiguous" : "zone " + key + " not found";
  return nullptr;
}

Result<std::shared_ptr<Zone>> ZoneManagerImpl::find_zone(const std::string& key) {
  std::lock_guard lock(mu_);
  std::string error;
  auto zone = find_zone_locked(key, &error);
  if (!zone)
    return Error(error.find("ambiguous") != std::string::npos ? ErrorCode::kInvalidArgument : ErrorCode::kNotFound,
                 error);
  return zone;
}

ContainerRecord* ZoneManagerImpl::container_in(Zone& zone, const std::string& id) {
  for (auto& c : zone.stored.containers) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

Status ZoneManagerImpl::check_container_state(Zone& zone, const std::string& key, const std::string& id,
                                              std::initializer_list<ContainerState> allowed, const char* wanted) {
  std::lock_guard lock(mu_);
  auto* rec = container_in(zone, id);
  if (!rec) return Error(ErrorCode::kNotFound, "container " + key + " not found");
  if (std::find(allowed.begin(), allowed.end(), rec->state) != allowed.end()) return ok_status();
  return Error(ErrorCode::kFailedPrecondition, "container " + rec->spec.name + " is " +
                                                   std::string(container_state_name(rec->state)) + ", not " + wanted);
}

Result<std::pair<std::shared_ptr<Zone>, std::string>> ZoneManagerImpl::find_container(const std::string& key) {
  if (key.empty()) return Error(ErrorCode::kInvalidArgument, "no container named");
  std::lock_guard lock(mu_);
  std::shared_ptr<Zone> found_zone;
  std::string found_id;
  int matches = 0;
  for (auto& [zid, zone] : zones_) {
    for (auto& c : zone->stored.containers) {
      if (c.id == key) return std::make_pair(zone, c.id);
      if (c.id.compare(0, key.size(), key) == 0) {
        found_zone = zone;
        found_id = c.id;
        ++matches;
      }
    }
  }
  if (matches == 1) return std::make_pair(found_zone, found_id);
  if (matches > 1) return Error(ErrorCode::kInvalidArgument, "container id prefix " + key + " is ambiguous");
  return Error(ErrorCode::kNotFound, "container " + key + " not found");
}

Status ZoneManagerImpl::persist_locked(const Zone& zone) {
  auto saved = store_.save(zone.stored);
  if (!saved.ok()) {
    log::error("cannot save zone state", {{"zone", zone.stored.zone.id}, {"error", saved.error().describe()}});
  }
  return saved;
}

void ZoneManagerImpl::persist(const std::shared_ptr<Zone>& zone) {
  std::lock_guard lock(mu_);
  (void)persist_locked(*zone);
}

Result<ZoneRecord> ZoneManagerImpl::get_zone(const std::string& key) {
  ZONED_TRY(find_zone(key));
  std::lock_guard lock(mu_);
  std::string error;
  auto zone = find_zone_locked(key, &error);
  if (!zone) return Error(ErrorCode::kNotFound, error);
  ZoneRecord rec = zone->stored.zone;
  rec.agent_connected = zone->client != nullptr;
  return rec;
}

std::vector<ZoneRecord> ZoneManagerImpl::list_zones() {
  std::lock_guard lock(mu_);
  std::vector<ZoneRecord> out;
  for (auto& [id, zone] : zones_) {
    out.push_back(zone->stored.zone);
    out.back().agent_connected = zone->client != nullptr;
  }
  std::sort(out.begin(), out.end(),
            [](const ZoneRecord& a, const ZoneRecord& b) { return a.created_at_ns < b.created_at_ns; });
  return out;
}

std::string ZoneManagerImpl::console_path_of(const std::string& zone_id) const {
  return store_.zone_dir(zone_id) + "/console.log";
}

Result<std::string> ZoneManagerImpl::console(const std::string& key, size_t max_bytes) {
  auto zone = find_zone(key);
  if (!zone.ok()) return zone.error();
  return console_tail(console_path_of((*zone)->stored.zone.id), max_bytes, false);
}

Result<ContainerRecord> ZoneManagerImpl::get_container(const std::string& key) {
  auto found = find_container(key);
  if (!found.ok()) return found.error();
  std::lock_guard lock(mu_);
  auto* rec = container_in(*found->first, found->second);
  if (!rec) return Error(ErrorCode::kNotFound, "container " + key + " not found");
  return *rec;
}

std::vector<ContainerRecord> ZoneManagerImpl::list_containers(const std::string& zone_filter) {
  std::lock_guard lock(mu_);
  std::vector<ContainerRecord> out;
  std::shared_ptr<Zone> only;
  if (!zone_filter.empty()) {
    std::string error;
    only = find_zone_locked(zone_filter, &error);
    if (!only) return out;
  }
  for (auto& [id, zone] : zones_) {
    if (only && zone != only) continue;
    for (auto& c : zone->stored.containers) out.push_back(c);
  }
  std::sort(out.begin(), out.end(),
            [](const ContainerRecord& a, const ContainerRecord& b) { return a.created_at_ns < b.created_at_ns; });
  return out;
}

bool ZoneManagerImpl::image_in_use(const std::string& image_id) {
  std::lock_guard lock(mu_);
  for (auto& [id, zone] : zones_) {
    const auto state = zone->stored.zone.state;
    if (state == ZoneState::kStopped || state == ZoneState::kFailed) continue;
    for (const auto& d : zone->stored.zone.disks) {
      if (d.image_id == image_id) return true;
    }
  }
  return false;
}

Result<std::shared_ptr<idm::Client>> ZoneManagerImpl::client_of(const std::string& zone_id) {
  std::lock_guard lock(mu_);
  auto it = zones_.find(zone_id);
  if (it == zones_.end()) return Error(ErrorCode::kNotFound, "zone " + zone_id + " not found");
  const auto& z = it->second->stored.zone;
  if (z.state != ZoneState::kRunning) {
    return Error(ErrorCode::kFailedPrecondition,
                 "zone " + z.spec.name + " is " + std::string(zone_state_name(z.state)) + ", not running");
  }
  if (!it->second->client) {
    return Error(ErrorCode::kUnavailable, "zone " + z.spec.name + ": its agent is not connected (yet); retry");
  }
  return it->second->client;
}

void ZoneManagerImpl::wake_monitor() {
  {
    std::lock_guard lock(monitor_mu_);
    monitor_wake_ = true;
  }
  monitor_cv_.notify_all();
}

}  // namespace zoned::zone_runtime
