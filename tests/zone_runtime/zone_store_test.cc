// ZoneStore: one zone.json per zone, every field surviving a round trip, atomic replacement,
// and unreadable files skipped (kept for a human) rather than failing the daemon's start.
#include "zone_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <optional>
#include <string>

#include "support/temp_dir.h"
#include "zoned/common/file_ops.h"

namespace zoned::zone_runtime {
namespace {

using testing::TempDir;

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

StoredZone sample_zone(char digit) {
  StoredZone s;
  ZoneRecord& z = s.zone;
  z.id = std::string(64, digit);
  z.spec.name = "web-" + std::string(1, digit);
  z.spec.hostname = "web-host";
  z.spec.images = {"docker.io/library/busybox:latest"};
  z.spec.labels = {{"app", "web"}, {"tier", "front"}};
  z.spec.memory_mib = 512;
  z.spec.vcpus = 2;
  z.type = DomainType::kPvh;
  z.spec.type = DomainType::kPvh;
  z.state = ZoneState::kRunning;
  z.domid = 7;
  z.domain_name = "zoned-" + z.id.substr(0, 16);
  z.uuid = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa";
  z.disks = {{"sha256:" + std::string(64, 'b'), "xvdb", "/dev/loop3"},
             {"sha256:" + std::string(64, 'c'), "xvdc", "/dev/loop4"}};
  z.created_at_ns = 1'700'000'000'000'000'001;
  z.started_at_ns = 1'700'000'000'000'000'002;
  z.finished_at_ns = 0;
  z.reason = "";
  z.message = "line one\nline \"two\"";
  s.next_stream_id = 9;

  ContainerRecord c;
  c.id = std::string(64, 'd');
  c.zone_id = z.id;
  c.spec.name = "nginx";
  c.spec.image = "docker.io/library/nginx:1.27";
  c.spec.labels = {{"io.kubernetes.container.name", "nginx"}};
  c.spec.oci.command = {"/docker-entrypoint.sh"};
  c.spec.oci.args = {"nginx", "-g", "daemon off;"};
  c.spec.oci.tty = true;
  c.spec.oci.stdin = true;
  c.image_id = "sha256:" + std::string(64, 'c');
  c.state = ContainerState::kExited;
  c.pid = 0;
  c.exit_code = 137;
  c.signal = 9;
  c.created_at_ns = 11;
  c.started_at_ns = 12;
  c.finished_at_ns = 13;
  c.reason = "Error";
  c.message = "killed";
  c.log_path = "/var/log/pods/x/nginx/0.log";
  c.spec.log_path = c.log_path;
  c.stream_id = 3;
  c.vdev = "xvdc";
  s.containers.push_back(c);
  z.container_ids.push_back(c.id);

  ContainerRecord r = c;
  r.id = std::string(64, 'e');
  r.spec.name = "sidecar";
  r.state = ContainerState::kRunning;
  r.pid = 42;
  r.exit_code = 0;
  r.signal = 0;
  r.stream_id = 4;
  s.containers.push_back(r);
  z.container_ids.push_back(r.id);
  return s;
}

void check_same(const StoredZone& a, const StoredZone& b) {
  const ZoneRecord& x = a.zone;
  const ZoneRecord& y = b.zone;
  CHECK(x.id == y.id);
  CHECK(x.spec.name == y.spec.name);
  CHECK(x.spec.hostname == y.spec.hostname);
  CHECK(x.spec.images == y.spec.images);
  CHECK(x.spec.labels == y.spec.labels);
  CHECK(x.spec.memory_mib == y.spec.memory_mib);
  CHECK(x.spec.vcpus == y.spec.vcpus);
  CHECK(x.spec.type == y.spec.type);
  CHECK(x.type == y.type);
  CHECK(x.state == y.state);
  CHECK(x.domid == y.domid);
  CHECK(x.domain_name == y.domain_name);
  CHECK(x.uuid == y.uuid);
  REQUIRE(x.disks.size() == y.disks.size());
  for (size_t i = 0; i < x.disks.size(); ++i) {
    CHECK(x.disks[i].image_id == y.disks[i].image_id);
    CHECK(x.disks[i].vdev == y.disks[i].vdev);
    CHECK(x.disks[i].loop_device == y.disks[i].loop_device);
  }
  CHECK(x.container_ids == y.container_ids);
  CHECK(x.created_at_ns == y.created_at_ns);
  CHECK(x.started_at_ns == y.started_at_ns);
  CHECK(x.finished_at_ns == y.finished_at_ns);
  CHECK(x.reason == y.reason);
  CHECK(x.message == y.message);
  CHECK(a.next_stream_id == b.next_stream_id);
  REQUIRE(a.containers.size() == b.containers.size());
  for (size_t i = 0; i < a.containers.size(); ++i) {
    const ContainerRecord& c = a.containers[i];
    const ContainerRecord& d = b.containers[i];
    CHECK(c.id == d.id);
    CHECK(c.zone_id == d.zone_id);
    CHECK(c.spec.name == d.spec.name);
    CHECK(c.spec.image == d.spec.image);
    CHECK(c.spec.labels == d.spec.labels);
    CHECK(c.spec.oci.command == d.spec.oci.command);
    CHECK(c.spec.oci.args == d.spec.oci.args);
    CHECK(c.spec.oci.tty == d.spec.oci.tty);
    CHECK(c.spec.oci.stdin == d.spec.oci.stdin);
    CHECK(c.spec.log_path == d.spec.log_path);
    CHECK(c.image_id == d.image_id);
    CHECK(c.state == d.state);
    CHECK(c.pid == d.pid);
    CHECK(c.exit_code == d.exit_code);
    CHECK(c.signal == d.signal);
    CHECK(c.created_at_ns == d.created_at_ns);
    CHECK(c.started_at_ns == d.started_at_ns);
    CHECK(c.finished_at_ns == d.finished_at_ns);
    CHECK(c.reason == d.reason);
    CHECK(c.message == d.message);
    CHECK(c.log_path == d.log_path);
    CHECK(c.stream_id == d.stream_id);
    CHECK(c.vdev == d.vdev);
  }
}

TEST_CASE("a zone and its containers survive the JSON round trip", "[zone-store]") {
  const StoredZone original = sample_zone('a');
  auto back = ZoneStore::from_json(ZoneStore::to_json(original));
  REQUIRE(back.ok());
  check_same(original, *back);
}

TEST_CASE("every zone and container state survives the round trip", "[zone-store]") {
  for (auto state :
       {ZoneState::kCreating, ZoneState::kRunning, ZoneState::kStopping, ZoneState::kStopped, ZoneState::kFailed}) {
    StoredZone s = sample_zone('a');
    s.zone.state = state;
    s.zone.type = DomainType::kPv;
    s.zone.spec.type = DomainType::kPv;
    s.containers[0].state = ContainerState::kCreated;
    auto back = ZoneStore::from_json(ZoneStore::to_json(s));
    REQUIRE(back.ok());
    CHECK(back->zone.state == state);
    CHECK(back->zone.type == DomainType::kPv);
    CHECK(back->containers[0].state == ContainerState::kCreated);
    CHECK(back->containers[1].state == ContainerState::kRunning);
  }
}

// The error code from_json gives; nullopt when it parsed.
std::optional<ErrorCode> refusal(const std::string& text) {
  auto parsed = ZoneStore::from_json(text);
  if (parsed.ok()) return std::nullopt;
  return parsed.error().code();
}

TEST_CASE("from_json refuses malformed files without throwing", "[zone-store]") {
  CHECK(refusal("") == ErrorCode::kInvalidArgument);
  CHECK(refusal("{not json") == ErrorCode::kInvalidArgument);
  CHECK(refusal("[]") == ErrorCode::kInvalidArgument);
  CHECK(refusal(R"({"version": 2, "id": "x"})") == ErrorCode::kInvalidArgument);
  CHECK(refusal(R"({"version": 1})") == ErrorCode::kInvalidArgument);
  CHECK(refusal(R"({"version": 1, "id": 5})") == ErrorCode::kInvalidArgument);
  CHECK(refusal(R"({"version": 1, "id": "x", "memory_mib": "lots"})") == ErrorCode::kInvalidArgument);
  CHECK(refusal(R"({"version": 1, "id": "x", "containers": [{"zone_id": "x"}]})") == ErrorCode::kInvalidArgument);
}

TEST_CASE("save and load_all keep every zone; remove forgets one", "[zone-store]") {
  TempDir dir;
  ZoneStore store(dir.path());
  REQUIRE(store.init().ok());
  CHECK(store.load_all().empty());

  const StoredZone a = sample_zone('a');
  const StoredZone b = sample_zone('b');
  for (const auto* s : {&a, &b}) {
    REQUIRE(store.create_zone_dir(s->zone.id).ok());
    REQUIRE(store.save(*s).ok());
  }
  CHECK(exists(store.zone_dir(a.zone.id) + "/containers"));
  CHECK_FALSE(exists(store.zone_dir(a.zone.id) + "/zone.json.tmp"));

  StoredZone changed = a;
  changed.zone.state = ZoneState::kStopped;
  changed.zone.reason = "Stopped";
  REQUIRE(store.save(changed).ok());  // replaces

  auto loaded = store.load_all();
  REQUIRE(loaded.size() == 2);
  const StoredZone& la = loaded[0].zone.id == a.zone.id ? loaded[0] : loaded[1];
  const StoredZone& lb = loaded[0].zone.id == a.zone.id ? loaded[1] : loaded[0];
  check_same(changed, la);
  check_same(b, lb);

  REQUIRE(store.remove(a.zone.id).ok());
  CHECK_FALSE(exists(store.zone_dir(a.zone.id)));
  loaded = store.load_all();
  REQUIRE(loaded.size() == 1);
  CHECK(loaded[0].zone.id == b.zone.id);
  CHECK(store.remove(a.zone.id).ok());  // already gone: fine
}

TEST_CASE("load_all skips unreadable zone files and keeps loading the rest", "[zone-store]") {
  TempDir dir;
  ZoneStore store(dir.path());
  REQUIRE(store.init().ok());
  const StoredZone good = sample_zone('a');
  REQUIRE(store.create_zone_dir(good.zone.id).ok());
  REQUIRE(store.save(good).ok());

  // garbage
  const std::string corrupt_id(64, 'b');
  REQUIRE(store.create_zone_dir(corrupt_id).ok());
  dir.write("zones/" + corrupt_id + "/zone.json", "{\"version\": 1, \"id\": \"" + corrupt_id + "\", \"disks\": [");
  // a directory without zone.json (an interrupted create)
  REQUIRE(store.create_zone_dir(std::string(64, 'c')).ok());
  // a valid file in a directory of another name: not trusted
  StoredZone moved = sample_zone('d');
  REQUIRE(store.create_zone_dir(std::string(64, 'e')).ok());
  dir.write("zones/" + std::string(64, 'e') + "/zone.json", ZoneStore::to_json(moved));
  // a stray file next to the zone directories
  dir.write("zones/README", "not a zone");

  auto loaded = store.load_all();
  REQUIRE(loaded.size() == 1);
  CHECK(loaded[0].zone.id == good.zone.id);
  // skipped files are kept for a human to look at
  CHECK(exists(store.zone_dir(corrupt_id) + "/zone.json"));
}

}  // namespace
}  // namespace zoned::zone_runtime
