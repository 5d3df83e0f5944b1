// The admin service over a real unix socket: the socket itself, zones, console, stats, and the
// mapping of errors to gRPC codes.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <cstring>

#include "admin_fixture.h"
#include "zoned/common/unique_fd.h"

using Catch::Matchers::ContainsSubstring;
using zoned::testing::AdminFixture;
namespace v1 = zoned::admin::v1;

namespace {

grpc::Status get_zone(AdminFixture& f, const std::string& key, v1::Zone* out = nullptr) {
  grpc::ClientContext cc;
  v1::GetZoneRequest request;
  request.set_zone(key);
  v1::GetZoneResponse response;
  auto status = f.stub->GetZone(&cc, request, &response);
  if (out != nullptr) *out = response.zone();
  return status;
}

grpc::Status create_zone(AdminFixture& f, const v1::ZoneSpec& spec) {
  grpc::ClientContext cc;
  v1::CreateZoneRequest request;
  *request.mutable_spec() = spec;
  v1::CreateZoneResponse response;
  return f.stub->CreateZone(&cc, request, &response);
}

// A unix socket bound at `path` with nobody accepting: what a crashed daemon leaves behind.
void leave_stale_socket(const std::string& path) {
  zoned::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
}

}  // namespace

TEST_CASE("the admin socket is root's only (0600), replaces a stale socket and refuses a live one") {
  AdminFixture f;
  struct stat st {};
  REQUIRE(::stat(f.socket.c_str(), &st) == 0);
  CHECK(S_ISSOCK(st.st_mode));
  CHECK((st.st_mode & 0777) == 0600);

  // A second server on the same, live socket must not steal it.
  zoned::testing::FakeZoneManager other_zones(f.tmp.path());
  zoned::admin::AdminServer second(other_zones);
  auto refused = second.start(f.socket);
  REQUIRE_FALSE(refused.ok());
  CHECK(get_zone(f, "nothing").error_code() == grpc::StatusCode::NOT_FOUND);  // the first one still serves

  std::string stale = f.tmp.file("stale.sock");
  leave_stale_socket(stale);
  zoned::admin::AdminServer third(other_zones);
  REQUIRE(third.start(stale).ok());
  REQUIRE(::stat(stale.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  third.shutdown(std::chrono::seconds(0));
  CHECK(::stat(stale.c_str(), &st) != 0);  // removed on shutdown
}

TEST_CASE("zones: create, get by id, prefix and name, list, stop and remove") {
  AdminFixture f;
  v1::ZoneSpec spec;
  spec.set_name("web");
  spec.set_type("pvh");
  spec.set_memory_mib(512);
  spec.set_vcpus(2);
  spec.set_hostname("web.local");
  spec.add_images("busybox");
  (*spec.mutable_labels())["team"] = "infra";
  grpc::ClientContext cc;
  v1::CreateZoneRequest request;
  *request.mutable_spec() = spec;
  v1::CreateZoneResponse created;
  REQUIRE(f.stub->CreateZone(&cc, request, &created).ok());
  const v1::Zone& z = created.zone();
  CHECK(z.id().size() == 64);
  CHECK(z.name() == "web");
  CHECK(z.state() == "running");
  CHECK(z.type() == "pvh");
  CHECK(z.memory_mib() == 512);
  CHECK(z.vcpus() == 2);
  CHECK(z.hostname() == "web.local");
  CHECK(z.domid() > 0);
  CHECK(z.domain_name() == "zoned-" + z.id().substr(0, 16));
  CHECK_FALSE(z.uuid().empty());
  REQUIRE(z.images_size() == 1);
  CHECK(z.images(0) == "busybox");
  CHECK(z.labels().at("team") == "infra");
  REQUIRE(z.disks_size() == 1);
  CHECK(z.disks(0).vdev() == "xvdb");
  CHECK(z.disks(0).loop_device() == "/dev/loop0");
  CHECK(z.created_at_ns() > 0);
  CHECK(z.agent_connected());

  for (const std::string& key : {z.id(), z.id().substr(0, 8), std::string("web")}) {
    v1::Zone got;
    REQUIRE(get_zone(f, key, &got).ok());
    CHECK(got.id() == z.id());
  }

  f.create_zone("db");
  {
    grpc::ClientContext list_cc;
    v1::ListZonesResponse listed;
    REQUIRE(f.stub->ListZones(&list_cc, v1::ListZonesRequest(), &listed).ok());
    REQUIRE(listed.zones_size() == 2);
    CHECK(listed.zones(0).name() == "web");  // by creation time
    CHECK(listed.zones(1).name() == "db");
  }

  grpc::ClientContext stop_cc;
  v1::StopZoneRequest stop;
  stop.set_zone("web");
  stop.set_grace_seconds(7);
  v1::StopZoneResponse stopped;
  REQUIRE(f.stub->StopZone(&stop_cc, stop, &stopped).ok());
  CHECK(f.zones.last_grace() == std::chrono::seconds(7));
  v1::Zone after;
  REQUIRE(get_zone(f, "web", &after).ok());
  CHECK(after.state() == "stopped");
  CHECK(after.reason() == "Stopped");
  CHECK(after.domid() == 0);

  grpc::ClientContext rm_cc;
  v1::RemoveZoneRequest rm;
  rm.set_zone(z.id());
  v1::RemoveZoneResponse removed;
  REQUIRE(f.stub->RemoveZone(&rm_cc, rm, &removed).ok());
  CHECK(get_zone(f, "web").error_code() == grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("errors keep their meaning as gRPC status codes, with the message") {
  AdminFixture f;
  f.create_zone("one");

  SECTION("not found") {
    auto status = get_zone(f, "nope");
    CHECK(status.error_code() == grpc::StatusCode::NOT_FOUND);
    CHECK_THAT(status.error_message(), ContainsSubstring("zone nope not found"));
    v1::ZoneSpec spec;
    spec.add_images("no-such-image");
    CHECK(create_zone(f, spec).error_code() == grpc::StatusCode::NOT_FOUND);
  }
  SECTION("invalid arguments, checked by the service before the manager sees them") {
    auto before = f.zones.calls().size();
    v1::ZoneSpec bad_type;
    bad_type.set_type("hvm");
    auto status = create_zone(f, bad_type);
    CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_THAT(status.error_message(), ContainsSubstring("spec.type") && ContainsSubstring("hvm"));
    v1::ZoneSpec empty_image;
    empty_image.add_images("");
    CHECK(create_zone(f, empty_image).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(get_zone(f, "").error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    v1::ZoneSpec reserved_label;  // would pass the zone off as a CRI pod's, which restarts remove
    (*reserved_label.mutable_labels())["io.zoned.cri-sandbox"] = "true";
    auto reserved = create_zone(f, reserved_label);
    CHECK(reserved.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_THAT(reserved.error_message(), ContainsSubstring("io.zoned.cri-sandbox") && ContainsSubstring("reserved"));

    grpc::ClientContext cc;
    v1::StopZoneRequest stop;
    stop.set_zone("one");
    stop.set_grace_seconds(-1);
    v1::StopZoneResponse stopped;
    CHECK(f.stub->StopZone(&cc, stop, &stopped).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(f.zones.calls().size() == before);
  }
  SECTION("already exists") {
    v1::ZoneSpec spec;
    spec.set_name("one");
    CHECK(create_zone(f, spec).error_code() == grpc::StatusCode::ALREADY_EXISTS);
  }
  SECTION("an ambiguous prefix is an invalid argument, not a guess") {
    for (int i = 0; i < 40; ++i) f.create_zone("z" + std::to_string(i));
    // 41 zones with random hex ids: some one-character prefix is shared.
    std::map<char, int> first_chars;
    grpc::ClientContext cc;
    v1::ListZonesResponse listed;
    REQUIRE(f.stub->ListZones(&cc, v1::ListZonesRequest(), &listed).ok());
    for (const auto& z : listed.zones()) ++first_chars[z.id()[0]];
    auto shared = std::find_if(first_chars.begin(), first_chars.end(), [](const auto& e) { return e.second > 1; });
    REQUIRE(shared != first_chars.end());
    auto status = get_zone(f, std::string(1, shared->first));
    CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_THAT(status.error_message(), ContainsSubstring("ambiguous"));
  }
  SECTION("failures of the runtime pass through with their code and message") {
    f.zones.set_fail_next(zoned::Error(zoned::ErrorCode::kUnavailable, "xen is not reachable"));
    v1::ZoneSpec spec;
    auto status = create_zone(f, spec);
    CHECK(status.error_code() == grpc::StatusCode::UNAVAILABLE);
    CHECK(status.error_message() == "xen is not reachable");
    f.zones.set_fail_next(zoned::Error(zoned::ErrorCode::kResourceExhausted, "out of memory", ENOMEM));
    status = create_zone(f, spec);
    CHECK(status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
    CHECK_THAT(status.error_message(), ContainsSubstring("out of memory") && ContainsSubstring(std::strerror(ENOMEM)));
  }
  SECTION("a stopped zone refuses what needs a running one") {
    grpc::ClientContext cc;
    v1::StopZoneRequest stop;
    stop.set_zone("one");
    v1::StopZoneResponse stopped;
    REQUIRE(f.stub->StopZone(&cc, stop, &stopped).ok());
    grpc::ClientContext stats_cc;
    v1::ZoneStatsRequest stats;
    stats.set_zone("one");
    v1::ZoneStatsResponse response;
    auto status = f.stub->ZoneStats(&stats_cc, stats, &response);
    CHECK(status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK_THAT(status.error_message(), ContainsSubstring("not running"));
  }
}

TEST_CASE("console: the tail, and following it") {
  AdminFixture f;
  auto z = f.create_zone("con");
  f.zones.set_console(z.id(), "line one\nline two\n");
  {
    grpc::ClientContext cc;
    v1::ConsoleRequest request;
    request.set_zone("con");
    v1::ConsoleResponse response;
    REQUIRE(f.stub->Console(&cc, request, &response).ok());
    CHECK(response.data() == "line one\nline two\n");
  }
  {
    grpc::ClientContext cc;
    v1::ConsoleRequest request;
    request.set_zone("con");
    request.set_tail_bytes(9);
    v1::ConsoleResponse response;
    REQUIRE(f.stub->Console(&cc, request, &response).ok());
    CHECK(response.data() == "line two\n");
  }

  grpc::ClientContext cc;
  v1::ConsoleRequest request;
  request.set_zone(z.id());
  request.set_tail_bytes(9);
  auto reader = f.stub->FollowConsole(&cc, request);
  std::string seen;
  v1::ConsoleChunk chunk;
  REQUIRE(reader->Read(&chunk));
  seen += chunk.data();
  CHECK(seen == "line two\n");
  f.zones.append_console(z.id(), "line three\n");
  REQUIRE(reader->Read(&chunk));
  seen += chunk.data();
  CHECK(seen == "line two\nline three\n");
  // The zone stops: the stream ends after the last output.
  f.zones.append_console(z.id(), "reboot: Power down\n");
  f.zones.stop_zone_now(z.id(), "PoweredOff");
  while (reader->Read(&chunk)) seen += chunk.data();
  CHECK(reader->Finish().ok());
  CHECK(seen == "line two\nline three\nreboot: Power down\n");
}

TEST_CASE("FollowConsole of an unknown zone is NOT_FOUND") {
  AdminFixture f;
  grpc::ClientContext cc;
  v1::ConsoleRequest request;
  request.set_zone("ghost");
  auto reader = f.stub->FollowConsole(&cc, request);
  v1::ConsoleChunk chunk;
  CHECK_FALSE(reader->Read(&chunk));
  CHECK(reader->Finish().error_code() == grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("zone stats carry the zone's and its containers' numbers") {
  AdminFixture f;
  auto z = f.create_zone("st");
  auto c = f.create_container("st", "app", {"sleep"});
  grpc::ClientContext cc;
  v1::ZoneStatsRequest request;
  request.set_zone("st");
  v1::ZoneStatsResponse response;
  REQUIRE(f.stub->ZoneStats(&cc, request, &response).ok());
  CHECK(response.zone_id() == z.id());
  CHECK(response.memory_total_bytes() == 256ULL << 20);
  CHECK(response.memory_available_bytes() == 128ULL << 20);
  CHECK(response.cpu_usage_ns() == 123456789);
  CHECK(response.timestamp_ns() > 0);
  REQUIRE(response.containers_size() == 1);
  CHECK(response.containers(0).id() == c.id());
  CHECK(response.containers(0).memory_working_set_bytes() == 4096);
}
