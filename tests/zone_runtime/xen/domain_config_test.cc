// DomainSpec -> libxl_domain_config, checked through libxl's own JSON rendering (what
// libxl_domain_create_new will be given), and the spec checks that guard it.
#include "zoned/xen/domain_config.h"

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <nlohmann/json.hpp>

using Catch::Matchers::ContainsSubstring;
using zoned::ErrorCode;
using zoned::xen::DomainConfig;
using zoned::zone_runtime::DiskAttachment;
using zoned::zone_runtime::DomainSpec;
using zoned::zone_runtime::DomainType;
using json = nlohmann::json;

namespace {

DomainSpec sample_spec(DomainType type = DomainType::kPv) {
  DomainSpec spec;
  spec.name = "zoned-0123abcd";
  spec.uuid = "0123abcd-4567-89ef-0011-223344556677";
  spec.type = type;
  spec.memory_mib = 256;
  spec.max_memory_mib = 512;
  spec.vcpus = 2;
  spec.max_vcpus = 4;
  spec.kernel = "/usr/share/zoned/vmlinux";
  spec.initramfs = "/usr/share/zoned/initramfs.cpio.gz";
  spec.cmdline = "console=hvc0 quiet";
  spec.disks = {{"/dev/loop3", "xvdb", true}, {"/dev/loop4", "xvdc", false}};
  return spec;
}

json rendered(const DomainSpec& spec) {
  DomainConfig config;
  auto built = zoned::xen::build_domain_config(spec, config);
  REQUIRE(built.ok());
  std::string text = config.to_json();
  REQUIRE_FALSE(text.empty());
  return json::parse(text);
}

ErrorCode rejection(const DomainSpec& spec) {
  auto s = zoned::xen::validate_domain_spec(spec);
  REQUIRE_FALSE(s.ok());
  return s.error().code();
}

}  // namespace

TEST_CASE("a PV spec becomes a PV direct-boot config with its name, uuid, memory and vcpus") {
  json j = rendered(sample_spec());
  CHECK(j["c_info"]["type"] == "pv");
  CHECK(j["c_info"]["name"] == "zoned-0123abcd");
  CHECK(j["c_info"]["uuid"] == "0123abcd-4567-89ef-0011-223344556677");
  CHECK(j["b_info"]["max_memkb"] == 512 * 1024);
  CHECK(j["b_info"]["target_memkb"] == 256 * 1024);
  CHECK(j["b_info"]["max_vcpus"] == 4);
  CHECK(j["b_info"]["avail_vcpus"] == json::array({0, 1}));
  CHECK(j["b_info"]["kernel"] == "/usr/share/zoned/vmlinux");
  CHECK(j["b_info"]["ramdisk"] == "/usr/share/zoned/initramfs.cpio.gz");
  CHECK(j["b_info"]["cmdline"] == "console=hvc0 quiet");
  CHECK(j["b_info"]["type.pv"].is_object());
  CHECK_FALSE(j["b_info"]["type.pv"].contains("bootloader"));
}

TEST_CASE("a PVH spec becomes a PVH config (no shim, no firmware)") {
  json j = rendered(sample_spec(DomainType::kPvh));
  CHECK(j["c_info"]["type"] == "pvh");
  CHECK(j["b_info"].contains("type.pvh"));
  CHECK_FALSE(j["b_info"].contains("type.pv"));
  CHECK(j["b_info"]["kernel"] == "/usr/share/zoned/vmlinux");
}

TEST_CASE("shutdown actions: poweroff and reboot destroy, a crash preserves") {
  DomainConfig config;
  REQUIRE(zoned::xen::build_domain_config(sample_spec(), config).ok());
  CHECK(config.get()->on_poweroff == LIBXL_ACTION_ON_SHUTDOWN_DESTROY);
  CHECK(config.get()->on_reboot == LIBXL_ACTION_ON_SHUTDOWN_DESTROY);
  CHECK(config.get()->on_watchdog == LIBXL_ACTION_ON_SHUTDOWN_DESTROY);
  CHECK(config.get()->on_crash == LIBXL_ACTION_ON_SHUTDOWN_PRESERVE);
  json j = json::parse(config.to_json());
  CHECK(j["on_crash"] == "preserve");  // libxl's JSON leaves out values equal to its defaults
}

TEST_CASE("disks are phy, raw, read-only unless asked; no network, framebuffer or keyboard") {
  json j = rendered(sample_spec());
  REQUIRE(j["disks"].size() == 2);
  CHECK(j["disks"][0]["pdev_path"] == "/dev/loop3");
  CHECK(j["disks"][0]["vdev"] == "xvdb");
  CHECK(j["disks"][0]["backend"] == "phy");
  CHECK(j["disks"][0]["format"] == "raw");
  CHECK_FALSE(j["disks"][0].contains("readwrite"));  // libxl omits a 0
  CHECK(j["disks"][1]["readwrite"] == 1);
  CHECK_FALSE(j.contains("nics"));
  CHECK_FALSE(j.contains("vfbs"));
  CHECK_FALSE(j.contains("vkbs"));
}

TEST_CASE("no initramfs, no cmdline, no disks: those fields stay unset") {
  DomainSpec spec = sample_spec();
  spec.initramfs.clear();
  spec.cmdline.clear();
  spec.disks.clear();
  json j = rendered(spec);
  CHECK_FALSE(j["b_info"].contains("ramdisk"));
  CHECK_FALSE(j["b_info"].contains("cmdline"));
  CHECK_FALSE(j.contains("disks"));
}

TEST_CASE("one vcpu of one") {
  DomainSpec spec = sample_spec();
  spec.vcpus = spec.max_vcpus = 1;
  json j = rendered(spec);
  CHECK(j["b_info"]["max_vcpus"] == 1);
  CHECK(j["b_info"]["avail_vcpus"] == json::array({0}));
}

TEST_CASE("the sample spec is valid") {
  CHECK(zoned::xen::validate_domain_spec(sample_spec()).ok());
  CHECK(zoned::xen::validate_domain_spec(sample_spec(DomainType::kPvh)).ok());
}

TEST_CASE("names: bounded, a safe alphabet") {
  DomainSpec spec = sample_spec();
  spec.name = "";
  CHECK(rejection(spec) == ErrorCode::kInvalidArgument);
  spec.name = std::string(65, 'a');
  CHECK(rejection(spec) == ErrorCode::kInvalidArgument);
  spec.name = std::string(64, 'a');
  CHECK(zoned::xen::validate_domain_spec(spec).ok());
  for (const char* bad : {"a b", "a/b", "-a", ".a", "a\nb", "zoned-é"}) {
    spec.name = bad;
    CHECK(rejection(spec) == ErrorCode::kInvalidArgument);
  }
}

TEST_CASE("memory and vcpus must be ordered and bounded") {
  DomainSpec spec = sample_spec();
  spec.memory_mib = 1024;  // above max_memory_mib (512)
  CHECK(rejection(spec) == ErrorCode::kInvalidArgument);
  spec = sample_spec();
  spec.memory_mib = 8;  // below the minimum
  CHECK(rejection(spec) == ErrorCode::kInvalidArgument);
  spec = sample_spec();
  spec.max_memory_mib = zoned::xen::kMaxMemoryMib + 1;
  CHECK(rejection(spec) == ErrorCode::kInvalidArgument);
  spec = sample_spec();
  spec.vcpus = 0;
  CHECK(rejection(spec) == ErrorCode::kInvalidArgument);
  spec = sample_spec();
  spec.vcpus = 5;  // above max_vcpus (4)
  CHECK(rejection(spec) == ErrorCode::kInvalidArgument);
  spec = sample_spec();
  spec.vcpus = spec.max_vcpus = zoned::xen::kMaxVcpus + 1;
  CHECK(rejection(spec) == ErrorCode::kInvalidArgument);
}

TEST_CASE("paths are absolute; the kernel is required, the initramfs is not") {
  DomainSpec spec = sample_spec();
  spec.kernel = "";
  CHECK(rejection(spec) == ErrorCode::kInvalidArgument);
  spec.kernel = "vmlinux";
  CHECK(rejection(spec) == ErrorCode::kInvalidArgument);
  spec = sample_spec();
  spec.initramfs = "initrd.img";
  CHECK(rejection(spec) == ErrorCode::kInvalidArgument);
  spec.initramfs = std::string("/a\0b", 4);
  CHECK(rejection(spec) == ErrorCode::kInvalidArgument);
}

TEST_CASE("the command line fits Xen's buffer and has no NUL") {
  DomainSpec spec = sample_spec();
  spec.cmdline = std::string(zoned::xen::kMaxCmdlineLength, 'x');
  CHECK(zoned::xen::validate_domain_spec(spec).ok());
  spec.cmdline += "x";
  CHECK(rejection(spec) == ErrorCode::kInvalidArgument);
  spec.cmdline = std::string("quiet\0x", 7);
  CHECK(rejection(spec) == ErrorCode::kInvalidArgument);
}

TEST_CASE("disks: xvda..xvdz, absolute targets, no duplicates, bounded count") {
  DomainSpec spec = sample_spec();
  spec.disks = {{"/dev/loop1", "sda", true}};
  CHECK(rejection(spec) == ErrorCode::kInvalidArgument);
  spec.disks = {{"/dev/loop1", "xvdaa", true}};
  CHECK(rejection(spec) == ErrorCode::kInvalidArgument);
  spec.disks = {{"loop1", "xvdb", true}};
  CHECK(rejection(spec) == ErrorCode::kInvalidArgument);
  spec.disks = {{"/dev/loop1", "xvdb", true}, {"/dev/loop2", "xvdb", true}};
  auto s = zoned::xen::validate_domain_spec(spec);
  REQUIRE_FALSE(s.ok());
  CHECK_THAT(s.error().message(), ContainsSubstring("xvdb"));
  spec.disks.clear();
  for (char c = 'a'; c <= 'q'; ++c) spec.disks.push_back({"/dev/loop1", std::string("xvd") + c, true});
  CHECK(spec.disks.size() > zoned::xen::kMaxDisks);
  CHECK(rejection(spec) == ErrorCode::kInvalidArgument);
}

TEST_CASE("build_domain_config validates too") {
  DomainSpec spec = sample_spec();
  spec.uuid = "not-a-uuid";
  DomainConfig config;
  auto built = zoned::xen::build_domain_config(spec, config);
  REQUIRE_FALSE(built.ok());
  CHECK(built.error().code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("uuids: canonical lower-case text round-trips") {
  const std::string text = "0123abcd-4567-89ef-a0b1-c2d3e4f5a6b7";
  auto uuid = zoned::xen::parse_uuid(text);
  REQUIRE(uuid.ok());
  CHECK(zoned::xen::format_uuid(*uuid) == text);
  CHECK(libxl_uuid_bytearray(&*uuid)[0] == 0x01);
  CHECK(libxl_uuid_bytearray(&*uuid)[15] == 0xb7);
}

TEST_CASE("uuids: anything but the canonical form is rejected") {
  for (const char* bad : {"", "0123abcd456789ef0011223344556677", "0123ABCD-4567-89ef-0011-223344556677",
                          "0123abcd-4567-89ef-0011-22334455667", "0123abcd-4567-89ef-0011-2233445566778",
                          "0123abcd+4567-89ef-0011-223344556677", "0123abcg-4567-89ef-0011-223344556677",
                          "{0123abcd-4567-89ef-0011-2233445566}"}) {
    INFO(bad);
    auto uuid = zoned::xen::parse_uuid(bad);
    REQUIRE_FALSE(uuid.ok());
    CHECK(uuid.error().code() == ErrorCode::kInvalidArgument);
  }
}

TEST_CASE("fill_device_disk: a read-only phy disk") {
  libxl_device_disk disk;
  libxl_device_disk_init(&disk);
  auto s = zoned::xen::fill_device_disk(DiskAttachment{"/dev/loop9", "xvdd", true}, disk);
  REQUIRE(s.ok());
  CHECK(std::string(disk.pdev_path) == "/dev/loop9");
  CHECK(std::string(disk.vdev) == "xvdd");
  CHECK(disk.backend == LIBXL_DISK_BACKEND_PHY);
  CHECK(disk.format == LIBXL_DISK_FORMAT_RAW);
  CHECK(disk.readwrite == 0);
  CHECK(disk.backend_domid == 0);
  libxl_device_disk_dispose(&disk);
}

TEST_CASE("a block hotplug script, when given, is set on every disk; it must be absolute") {
  DomainConfig config;
  REQUIRE(zoned::xen::build_domain_config(sample_spec(), config, "/usr/libexec/zoned/block-zoned").ok());
  json j = json::parse(config.to_json());
  CHECK(j["disks"][0]["script"] == "/usr/libexec/zoned/block-zoned");
  CHECK(j["disks"][1]["script"] == "/usr/libexec/zoned/block-zoned");
  DomainConfig defaults;
  REQUIRE(zoned::xen::build_domain_config(sample_spec(), defaults).ok());
  CHECK_FALSE(json::parse(defaults.to_json())["disks"][0].contains("script"));
  DomainConfig relative;
  auto s = zoned::xen::build_domain_config(sample_spec(), relative, "block-zoned");
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("no nic in the spec: the domain has no network device") {
  json j = rendered(sample_spec());
  CHECK_FALSE(j.contains("nics"));
}

TEST_CASE("a nic becomes one unbridged vif (devid 0) with the pod's MAC and the vif script") {
  DomainSpec spec = sample_spec();
  spec.nic = zoned::zone_runtime::NicAttachment{"02:42:0A:58:00:05"};
  DomainConfig config;
  REQUIRE(zoned::xen::build_domain_config(spec, config, "/usr/libexec/zoned/block-zoned",
                                          "/usr/libexec/zoned/vif-zoned")
              .ok());
  json j = json::parse(config.to_json());
  REQUIRE(j["nics"].size() == 1);
  const json& nic = j["nics"][0];
  CHECK(nic["mac"] == "02:42:0a:58:00:05");
  CHECK(nic["script"] == "/usr/libexec/zoned/vif-zoned");
  CHECK(nic["nictype"] == "vif");
  CHECK_FALSE(nic.contains("bridge"));
  CHECK(nic.value("devid", 0) == 0);
  CHECK(config.get()->num_nics == 1);

  DomainConfig defaults;
  REQUIRE(zoned::xen::build_domain_config(spec, defaults).ok());
  CHECK_FALSE(json::parse(defaults.to_json())["nics"][0].contains("script"));
  DomainConfig relative;
  CHECK(zoned::xen::build_domain_config(spec, relative, {}, "vif-zoned").error().code() ==
        ErrorCode::kInvalidArgument);
}

TEST_CASE("the nic's MAC must be six hex pairs and unicast") {
  DomainSpec spec = sample_spec();
  for (const char* bad : {"", "02:42:0a:58:00", "02:42:0a:58:00:05:06", "02-42-0a-58-00-05", "02:42:0g:58:00:05",
                          "03:42:0a:58:00:05", "ff:ff:ff:ff:ff:ff"}) {
    CAPTURE(bad);
    spec.nic = zoned::zone_runtime::NicAttachment{bad};
    CHECK(rejection(spec) == ErrorCode::kInvalidArgument);
  }
  auto mac = zoned::xen::parse_mac("0a:1B:2c:3D:4e:5F");
  REQUIRE(mac.ok());
  CHECK((*mac)[0] == 0x0a);
  CHECK((*mac)[5] == 0x5f);
  CHECK(zoned::zone_runtime::nic_device_name(7) == "vif7.0");
}
