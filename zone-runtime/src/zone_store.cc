#include "zone_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "zoned/common/file_ops.h"
#include "zoned/common/fs.h"
#include "zoned/common/log.h"
#include "zoned/common/unique_fd.h"

namespace zoned::zone_runtime {

using namespace zoned::fs;  // NOLINT: file helpers

using nlohmann::json;

namespace {

constexpr size_t kMaxZoneFileBytes = 16 * 1024 * 1024;

ZoneState parse_zone_state(const std::string& s) {
  if (s == "creating") return ZoneState::kCreating;
  if (s == "running") return ZoneState::kRunning;
  if (s == "stopping") return ZoneState::kStopping;
  if (s == "failed") return ZoneState::kFailed;
  return ZoneState::kStopped;
}

ContainerState parse_container_state(const std::string& s) {
  if (s == "created") return ContainerState::kCreated;
  if (s == "running") return ContainerState::kRunning;
  return ContainerState::kExited;
}

json container_to_json(const ContainerRecord& c) {
  return json{{"id", c.id},
              {"zone_id", c.zone_id},
              {"name", c.spec.name},
              {"image", c.spec.image},
              {"labels", c.spec.labels},
              {"command", c.spec.oci.command},
              {"args", c.spec.oci.args},
              {"tty", c.spec.oci.tty},
              {"stdin", c.spec.oci.stdin},
              {"image_id", c.image_id},
              {"state", std::string(container_state_name(c.state))},
              {"pid", c.pid},
              {"exit_code", c.exit_code},
              {"signal", c.signal},
              {"created_at_ns", c.created_at_ns},
              {"started_at_ns", c.started_at_ns},
              {"finished_at_ns", c.finished_at_ns},
              {"reason", c.reason},
              {"message", c.message},
              {"log_path", c.log_path},
              {"stream_id", c.stream_id},
              {"vdev", c.vdev}};
}

ContainerRecord container_from_json(const json& j) {
  ContainerRecord c;
  c.id = j.at("id").get<std::string>();
  c.zone_id = j.at("zone_id").get<std::string>();
  c.spec.name = j.value("name", "");
  c.spec.image = j.value("image", "");
  c.spec.labels = j.value("labels", std::map<std::string, std::string>{});
  c.spec.oci.command = j.value("command", std::vector<std::string>{});
  c.spec.oci.args = j.value("args", std::vector<std::string>{});
  c.spec.oci.tty = j.value("tty", false);
  c.spec.oci.stdin = j.value("stdin", false);
  c.image_id = j.value("image_id", "");
  c.state = parse_container_state(j.value("state", "exited"));
  c.pid = j.value("pid", 0u);
  c.exit_code = j.value("exit_code", 0);
  c.signal = j.value("signal", 0u);
  c.created_at_ns = j.value("created_at_ns", int64_t{0});
  c.started_at_ns = j.value("started_at_ns", int64_t{0});
  c.finished_at_ns = j.value("finished_at_ns", int64_t{0});
  c.reason = j.value("reason", "");
  c.message = j.value("message", "");
  c.log_path = j.value("log_path", "");
  c.spec.log_path = c.log_path;
  c.stream_id = j.value("stream_id", 0u);
  c.vdev = j.value("vdev", "");
  return c;
}

}  // namespace

ZoneStore::ZoneStore(std::string state_dir) : root_(std::move(state_dir) + "/zones") {}

Status ZoneStore::init() { return make_dirs(root_, 0700); }

std::string ZoneStore::zone_dir(const std::string& zone_id) const { return root_ + "/" + zone_id; }

Status ZoneStore::create_zone_dir(const std::string& zone_id) {
  return make_dirs(zone_dir(zone_id) + "/containers", 0700);
}

std::string ZoneStore::to_json(const StoredZone& stored) {
  const ZoneRecord& z = stored.zone;
  json disks = json::array();
  for (const auto& d : z.disks) disks.push_back({{"image_id", d.image_id}, {"vdev", d.vdev}, {"loop_device", d.loop_device}});
  json containers = json::array();
  for (const auto& c : stored.containers) containers.push_back(container_to_json(c));
  json j{{"version", 1},
         {"id", z.id},
         {"name", z.spec.name},
         {"hostname", z.spec.hostname},
         {"images", z.spec.images},
         {"labels", z.spec.labels},
         {"memory_mib", z.spec.memory_mib},
         {"vcpus", z.spec.vcpus},
         {"type", z.type == DomainType::kPvh ? "pvh" : "pv"},
         {"state", std::string(zone_state_name(z.state))},
         {"domid", z.domid},
         {"domain_name", z.domain_name},
         {"uuid", z.uuid},
         {"disks", disks},
         {"created_at_ns", z.created_at_ns},
         {"started_at_ns", z.started_at_ns},
         {"finished_at_ns", z.finished_at_ns},
         {"reason", z.reason},
         {"message", z.message},
         {"next_stream_id", stored.next_stream_id},
         {"containers", containers}};
  return j.dump(2);
}

Result<StoredZone> ZoneStore::from_json(const std::string& text) {
  try {
    const json j = json::parse(text);
    if (j.value("version", 0) != 1) return Error(ErrorCode::kInvalidArgument, "unknown zone file version");
    StoredZone s;
    ZoneRecord& z = s.zone;
    z.id = j.at("id").get<std::string>();
    z.spec.name = j.value("name", "");
    z.spec.hostname = j.value("hostname", "");
    z.spec.images = j.value("images", std::vector<std::string>{});
    z.spec.labels = j.value("labels", std::map<std::string, std::string>{});
    z.spec.memory_mib = j.value("memory_mib", uint64_t{0});
    z.spec.vcpus = j.value("vcpus", 0u);
    z.type = j.value("type", "pv") == "pvh" ? DomainType::kPvh : DomainType::kPv;
    z.spec.type = z.type;
    z.state = parse_zone_state(j.value("state", "stopped"));
    z.domid = j.value("domid", 0u);
    z.domain_name = j.value("domain_name", "");
    z.uuid = j.value("uuid", "");
    for (const auto& d : j.value("disks", json::array())) {
      z.disks.push_back({d.value("image_id", ""), d.value("vdev", ""), d.value("loop_device", "")});
    }
    z.created_at_ns = j.value("created_at_ns", int64_t{0});
    z.started_at_ns = j.value("started_at_ns", int64_t{0});
    z.finished_at_ns = j.value("finished_at_ns", int64_t{0});
    z.reason = j.value("reason", "");
    z.message = j.value("message", "");
    s.next_stream_id = j.value("next_stream_id", 1u);
    for (const auto& c : j.value("containers", json::array())) {
      s.containers.push_back(container_from_json(c));
      z.container_ids.push_back(s.containers.back().id);
    }
    return s;
  } catch (const json::exception& e) {
    return Error(ErrorCode::kInvalidArgument, std::string("malformed zone file: ") + e.what());
  }
}

Status ZoneStore::save(const StoredZone& zone) {
  const std::string dir = zone_dir(zone.zone.id);
  const std::string path = dir + "/zone.json";
  const std::string tmp = path + ".tmp";
  const std::string text = to_json(zone);
  {
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return sys_error("writing " + tmp);
    UniqueFd file(fd);
    ZONED_TRY(write_all(file.get(), text.data(), text.size()));
    if (::fsync(file.get()) != 0) return sys_error("fsync " + tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return sys_error("renaming " + tmp);
  return fsync_dir(dir);
}

std::vector<StoredZone> ZoneStore::load_all() {
  std::vector<StoredZone> zones;
  int fd = ::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return zones;
  UniqueFd dir(fd);
  auto names = list_dir(dir.get());
  if (!names.ok()) return zones;
  for (const auto& name : *names) {
    const std::string path = root_ + "/" + name + "/zone.json";
    auto text = read_file(path, kMaxZoneFileBytes);
    if (!text.ok()) {
      log::warn("skipping a zone directory without a readable zone.json", {{"path", path}});
      continue;
    }
    auto stored = from_json(*text);
    if (!stored.ok() || stored->zone.id != name) {
      log::error("skipping an unreadable zone file", {{"path", path}});
      continue;
    }
    zones.push_back(std::move(*stored));
  }
  return zones;
}

Status ZoneStore::remove(const std::string& zone_id) { return remove_tree(zone_dir(zone_id)); }

}  // namespace zoned::zone_runtime
