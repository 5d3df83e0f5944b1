// Containers in zones: create (with the image's disk hot-added if needed), start, stop, remove, wait.
#include <algorithm>
#include <csignal>
#include <cstring>
#include <nlohmann/json.hpp>

#include "zone_manager_impl.h"
#include "zoned/common/fs.h"
#include "zoned/common/log.h"
#include "zoned/common/scope_guard.h"

namespace zoned::zone_runtime {

namespace {

// "SIGTERM", "TERM" or "15" -> 15; 0 when unknown.
uint32_t parse_signal(std::string name) {
  if (name.empty()) return 0;
  if (std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    const unsigned long n = name.size() > 3 ? 0 : std::stoul(name);
    return n >= 1 && n <= 64 ? static_cast<uint32_t>(n) : 0;
  }
  std::transform(name.begin(), name.end(), name.begin(), [](char c) { return static_cast<char>(std::toupper(c)); });
  if (name.rfind("SIG", 0) == 0) name = name.substr(3);
  static const std::pair<const char*, uint32_t> known[] = {{"HUP", SIGHUP},     {"INT", SIGINT},   {"QUIT", SIGQUIT},
                                                           {"KILL", SIGKILL},   {"USR1", SIGUSR1}, {"USR2", SIGUSR2},
                                                           {"TERM", SIGTERM},   {"STOP", SIGSTOP}, {"CONT", SIGCONT},
                                                           {"WINCH", SIGWINCH}, {"PWR", SIGPWR}};
  for (const auto& [n, v] : known) {
    if (name == n) return v;
  }
  return 0;
}

}  // namespace

Result<ContainerRecord> ZoneManagerImpl::create_container(const std::string& zone_key, const ContainerSpec& spec) {
  auto found = find_zone(zone_key);
  if (!found.ok()) return found.error();
  auto zone = *found;
  std::lock_guard op(zone->op_mu);
  const std::string zone_id = zone->stored.zone.id;
  auto client = client_of(zone_id);
  if (!client.ok()) return client.error();
  if (spec.name.empty()) return Error(ErrorCode::kInvalidArgument, "container name is empty");
  {
    std::lock_guard lock(mu_);
    for (const auto& c : zone->stored.containers) {
      if (c.spec.name == spec.name) {
        return Error(ErrorCode::kAlreadyExists, "zone " + zone->stored.zone.spec.name +
                                                    " already has a container named " + spec.name + " (" +
                                                    c.id.substr(0, 12) + ")");
      }
    }
  }
  auto image = images_.find(spec.image);
  if (!image.ok()) return image.error().wrap("container " + spec.name);

  // The image's disk: attached at boot, or hot-added now.
  std::string vdev;
  {
    std::lock_guard lock(mu_);
    for (const auto& d : zone->stored.zone.disks) {
      if (d.image_id == image->id) vdev = d.vdev;
    }
  }
  if (vdev.empty()) {
    std::vector<std::unique_ptr<AttachedDevice>> held;
    auto disk = attach_image_disk(*zone, *image, held);
    if (!disk.ok()) return disk.error();
    auto added = hypervisor_.add_disk(zone->stored.zone.domid, {disk->loop_device, disk->vdev, true});
    if (!added.ok()) {
      std::lock_guard lock(mu_);
      auto& disks = zone->stored.zone.disks;
      disks.erase(std::remove_if(disks.begin(), disks.end(), [&](const ZoneDisk& d) { return d.vdev == disk->vdev; }),
                  disks.end());
      return added.error().wrap("adding the image's disk to zone " + zone->stored.zone.spec.name);
    }
    for (auto& h : held) h->release();
    vdev = disk->vdev;
    persist(zone);
  }

  ContainerRecord rec;
  rec.id = random_hex(32);
  rec.zone_id = zone_id;
  rec.spec = spec;
  rec.image_id = image->id;
  rec.vdev = vdev;
  rec.created_at_ns = now_unix_ns();
  rec.state = ContainerState::kCreated;
  oci::ContainerSpecInput input = spec.oci;
  if (input.hostname.empty()) input.hostname = zone->stored.zone.spec.hostname;
  input.cgroups_path = "/zoned/" + rec.id;
  auto generated = oci::generate_runtime_spec(image->config, input);
  if (!generated.ok()) return generated.error().wrap("container " + spec.name);

  rec.log_path = spec.log_path.empty() ? store_.zone_dir(zone_id) + "/containers/" + rec.id + ".log" : spec.log_path;
  if (rec.log_path.front() != '/')
    return Error(ErrorCode::kInvalidArgument, "log path " + rec.log_path + " is not absolute");
  auto log_file = ContainerLog::open(rec.log_path);
  if (!log_file.ok()) return log_file.error().wrap("container " + spec.name);
  std::shared_ptr<ContainerLog> log_ptr = std::move(*log_file);
  {
    std::lock_guard lock(mu_);
    rec.stream_id = zone->stored.next_stream_id++;
    zone->stored.containers.push_back(rec);
    zone->stored.zone.container_ids.push_back(rec.id);
    zone->logs[rec.id] = log_ptr;
    zone->stream_to_container[rec.stream_id] = rec.id;
  }
  ScopeGuard forget([&] {
    std::lock_guard lock(mu_);
    auto& cs = zone->stored.containers;
    cs.erase(std::remove_if(cs.begin(), cs.end(), [&](const ContainerRecord& c) { return c.id == rec.id; }), cs.end());
    auto& ids = zone->stored.zone.container_ids;
    ids.erase(std::remove(ids.begin(), ids.end(), rec.id), ids.end());
    zone->logs.erase(rec.id);
    zone->stream_to_container.erase(rec.stream_id);
    (void)persist_locked(*zone);
  });

  idm::v1::Request req;
  auto* create = req.mutable_create_container();
  create->set_container_id(rec.id);
  create->set_oci_config_json(generated->config_json);
  create->set_rootfs_device(vdev);
  create->set_stream_id(rec.stream_id);
  create->set_stdin(spec.oci.stdin);
  std::string username = generated->username;
  if (username.empty() && generated->gid_from_passwd) {
    // a bare uid: the agent takes its group (and supplementary groups) from the image's passwd
    try {
      username = std::to_string(
          nlohmann::json::parse(generated->config_json).at("process").at("user").at("uid").get<uint32_t>());
    } catch (const nlohmann::json::exception&) {
      return Error(ErrorCode::kInternal, "generated container spec has no process.user.uid");
    }
  }
  create->set_username(username);
  create->set_groupname(generated->groupname);
  // The agent may wait up to 20 s for the hot-plugged disk, then run crun create (30 s at most).
  auto created = (*client)->call(req, 2 * options_.request_timeout);
  if (!created.ok())
    return created.error().wrap("creating container " + spec.name + " in zone " + zone->stored.zone.spec.name);
  forget.dismiss();
  std::lock_guard lock(mu_);
  (void)persist_locked(*zone);
  log::info("container created",
            {{"zone", zone_id.substr(0, 12)}, {"container", rec.id.substr(0, 12)}, {"name", spec.name}});
  return rec;
}

Status ZoneManagerImpl::start_container(const std::string& key) {
  auto found = find_container(key);
  if (!found.ok()) return found.error();
  auto [zone, id] = *found;
  std::lock_guard op(zone->op_mu);
  ZONED_TRY(check_container_state(*zone, key, id, {ContainerState::kCreated}, "created"));
  auto client = client_of(zone->stored.zone.id);
  if (!client.ok()) return client.error();
  idm::v1::Request req;
  req.mutable_start_container()->set_container_id(id);
  auto started = (*client)->call(req, options_.request_timeout);
  if (!started.ok()) return started.error().wrap("starting container " + id.substr(0, 12));
  std::lock_guard lock(mu_);
  if (auto* rec = container_in(*zone, id); rec && rec->state == ContainerState::kCreated) {
    rec->state = ContainerState::kRunning;
    if (rec->started_at_ns == 0) rec->started_at_ns = now_unix_ns();
    (void)persist_locked(*zone);
  }
  state_cv_.notify_all();
  return ok_status();
}

Status ZoneManagerImpl::update_container_resources(const std::string& key, const std::string& resources_json) {
  auto found = find_container(key);
  if (!found.ok()) return found.error();
  auto [zone, id] = *found;
  std::lock_guard op(zone->op_mu);
  ZONED_TRY(check_container_state(*zone, key, id, {ContainerState::kCreated, ContainerState::kRunning},
                                  "created or running"));
  auto client = client_of(zone->stored.zone.id);
  if (!client.ok()) return client.error();
  idm::v1::Request req;
  req.mutable_update_container()->set_container_id(id);
  req.mutable_update_container()->set_resources_json(resources_json);
  auto updated = (*client)->call(req, options_.request_timeout);
  if (!updated.ok()) return updated.error().wrap("updating the resources of container " + id.substr(0, 12));
  return ok_status();
}

Status ZoneManagerImpl::stop_container(const std::string& key, std::chrono::seconds grace) {
  auto found = find_container(key);
  if (!found.ok()) {
    if (found.error().code() == ErrorCode::kNotFound) return ok_status();  // idempotent
    return found.error();
  }
  auto [zone, id] = *found;
  std::lock_guard op(zone->op_mu);
  std::string image_id;
  {
    std::lock_guard lock(mu_);
    auto* rec = container_in(*zone, id);
    if (!rec || rec->state == ContainerState::kExited) return ok_status();
    image_id = rec->image_id;
  }
  auto client = client_of(zone->stored.zone.id);
  if (!client.ok()) return client.error();
  uint32_t sig = SIGTERM;
  if (auto image = images_.find(image_id); image.ok()) {
    if (uint32_t s = parse_signal(image->config.stop_signal); s != 0) sig = s;
  }
  auto exited_within = [&](std::chrono::milliseconds limit) {
    std::unique_lock lock(mu_);
    return state_cv_.wait_for(lock, limit, [&] {
      auto* rec = container_in(*zone, id);
      return !rec || rec->state == ContainerState::kExited;
    });
  };
  if (grace.count() > 0) {
    idm::v1::Request req;
    req.mutable_signal_container()->set_container_id(id);
    req.mutable_signal_container()->set_signal(sig);
    auto sent = (*client)->call(req, options_.request_timeout);
    if (!sent.ok() && sent.error().code() != ErrorCode::kNotFound)
      return sent.error().wrap("stopping container " + id.substr(0, 12));
    if (exited_within(grace)) return ok_status();
  }
  idm::v1::Request kill;
  kill.mutable_signal_container()->set_container_id(id);
  kill.mutable_signal_container()->set_signal(SIGKILL);
  auto killed = (*client)->call(kill, options_.request_timeout);
  if (!killed.ok() && killed.error().code() != ErrorCode::kNotFound)
    return killed.error().wrap("killing container " + id.substr(0, 12));
  if (exited_within(std::chrono::seconds(10))) return ok_status();
  return Error(ErrorCode::kDeadlineExceeded, "container " + id.substr(0, 12) + " did not exit 10 s after SIGKILL");
}

Status ZoneManagerImpl::remove_container(const std::string& key) {
  auto found = find_container(key);
  if (!found.ok()) {
    if (found.error().code() == ErrorCode::kNotFound) return ok_status();
    return found.error();
  }
  auto [zone, id] = *found;
  bool running = false;
  {
    std::lock_guard lock(mu_);
    auto* rec = container_in(*zone, id);
    running = rec && rec->state != ContainerState::kExited;
  }
  if (running) ZONED_TRY(stop_container(id, std::chrono::seconds(0)));
  std::lock_guard op(zone->op_mu);
  auto client = client_of(zone->stored.zone.id);
  if (client.ok()) {
    idm::v1::Request req;
    req.mutable_delete_container()->set_container_id(id);
    auto deleted = (*client)->call(req, options_.request_timeout);
    if (!deleted.ok() && deleted.error().code() != ErrorCode::kNotFound) {
      return deleted.error().wrap("removing container " + id.substr(0, 12));
    }
  }
  std::shared_ptr<ContainerLog> log;
  std::string default_log = store_.zone_dir(zone->stored.zone.id) + "/containers/" + id + ".log";
  bool remove_log = false;
  {
    std::lock_guard lock(mu_);
    auto* rec = container_in(*zone, id);
    if (!rec) return ok_status();
    remove_log = rec->log_path == default_log;
    zone->stream_to_container.erase(rec->stream_id);
    if (auto it = zone->logs.find(id); it != zone->logs.end()) {
      log = it->second;
      zone->logs.erase(it);
    }
    auto& cs = zone->stored.containers;
    cs.erase(std::remove_if(cs.begin(), cs.end(), [&](const ContainerRecord& c) { return c.id == id; }), cs.end());
    auto& ids = zone->stored.zone.container_ids;
    ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
    (void)persist_locked(*zone);
  }
  if (log) (void)log->flush();
  if (remove_log) ::unlink(default_log.c_str());
  state_cv_.notify_all();
  return ok_status();
}

Result<ContainerRecord> ZoneManagerImpl::wait_container(const std::string& key, std::chrono::milliseconds timeout) {
  auto found = find_container(key);
  if (!found.ok()) return found.error();
  auto [zone, id] = *found;
  std::unique_lock lock(mu_);
  const bool done = state_cv_.wait_for(lock, timeout, [&] {
    auto* rec = container_in(*zone, id);
    return !rec || rec->state == ContainerState::kExited;
  });
  auto* rec = container_in(*zone, id);
  if (!rec) return Error(ErrorCode::kNotFound, "container " + key + " was removed");
  if (!done) return Error(ErrorCode::kDeadlineExceeded, "container " + key + " is still running");
  return *rec;
}

Status ZoneManagerImpl::reopen_container_log(const std::string& key) {
  auto found = find_container(key);
  if (!found.ok()) return found.error();
  auto [zone, id] = *found;
  std::shared_ptr<ContainerLog> log;
  {
    std::lock_guard lock(mu_);
    auto* rec = container_in(*zone, id);
    if (!rec) return Error(ErrorCode::kNotFound, "container " + key + " not found");
    if (rec->state != ContainerState::kRunning) {
      return Error(ErrorCode::kFailedPrecondition, "container " + rec->spec.name + " is " +
                                                       std::string(container_state_name(rec->state)) + ", not running");
    }
    if (auto it = zone->logs.find(id); it != zone->logs.end()) log = it->second;
  }
  if (!log) return Error(ErrorCode::kFailedPrecondition, "container " + id.substr(0, 12) + " has no open log");
  return log->reopen();
}

}  // namespace zoned::zone_runtime
