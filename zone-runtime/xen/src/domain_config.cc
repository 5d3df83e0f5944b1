#include "zoned/xen/domain_config.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <set>

namespace zoned::xen {
namespace {

using zone_runtime::DiskAttachment;
using zone_runtime::DomainSpec;
using zone_runtime::DomainType;

Error invalid(std::string message) {
  return Error(ErrorCode::kInvalidArgument, std::move(message));
}

bool has_nul(std::string_view s) {
  return s.find('\0') != std::string_view::npos;
}

Status check_path(std::string_view what, const std::string& path, bool optional) {
  if (path.empty()) {
    if (optional) return ok_status();
    return invalid(std::string(what) + " is missing");
  }
  if (path.front() != '/' || has_nul(path) || path.size() > kMaxPathLength) {
    return invalid(std::string(what) + " must be an absolute path of at most " + std::to_string(kMaxPathLength) +
                   " bytes: '" + path + "'");
  }
  return ok_status();
}

bool name_char_ok(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

Status check_name(const std::string& name) {
  if (name.empty() || name.size() > kMaxDomainNameLength) {
    return invalid("domain name must be 1 to " + std::to_string(kMaxDomainNameLength) + " characters");
  }
  for (char c : name) {
    if (!name_char_ok(c)) return invalid("domain name '" + name + "' may only contain [A-Za-z0-9._-]");
  }
  if (name.front() == '-' || name.front() == '.')
    return invalid("domain name '" + name + "' must not start with '-' or '.'");
  return ok_status();
}

Status check_sizes(const DomainSpec& spec) {
  if (spec.memory_mib < kMinMemoryMib || spec.max_memory_mib > kMaxMemoryMib || spec.memory_mib > spec.max_memory_mib) {
    return invalid("memory must satisfy " + std::to_string(kMinMemoryMib) + " <= memory_mib (" +
                   std::to_string(spec.memory_mib) + ") <= max_memory_mib (" + std::to_string(spec.max_memory_mib) +
                   ") <= " + std::to_string(kMaxMemoryMib));
  }
  if (spec.vcpus < 1 || spec.vcpus > spec.max_vcpus || spec.max_vcpus > kMaxVcpus) {
    return invalid("vcpus must satisfy 1 <= vcpus (" + std::to_string(spec.vcpus) + ") <= max_vcpus (" +
                   std::to_string(spec.max_vcpus) + ") <= " + std::to_string(kMaxVcpus));
  }
  return ok_status();
}

Status check_disks(const std::vector<DiskAttachment>& disks) {
  if (disks.size() > kMaxDisks) return invalid("at most " + std::to_string(kMaxDisks) + " disks per domain");
  std::set<std::string> seen;
  for (const auto& disk : disks) {
    ZONED_TRY(validate_disk(disk));
    if (!seen.insert(disk.vdev).second) return invalid("disk " + disk.vdev + " is given twice");
  }
  return ok_status();
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Copies `value` into a libxl-owned (malloc'd) string field, which dispose frees.
Status set_string(char*& field, const std::string& value) {
  std::free(field);
  field = ::strdup(value.c_str());
  if (field == nullptr) return Error(ErrorCode::kResourceExhausted, "out of memory building the domain config");
  return ok_status();
}

Status set_vcpus(libxl_domain_build_info& b_info, uint32_t online, uint32_t max) {
  b_info.max_vcpus = static_cast<int>(max);
  // libxl_bitmap_alloc wants a ctx for nothing but its allocator; dispose frees with free().
  libxl_bitmap_dispose(&b_info.avail_vcpus);
  libxl_bitmap_init(&b_info.avail_vcpus);
  const uint32_t bytes = (max + 7) / 8;
  b_info.avail_vcpus.map = static_cast<uint8_t*>(std::calloc(bytes, 1));
  if (b_info.avail_vcpus.map == nullptr) return Error(ErrorCode::kResourceExhausted, "out of memory (vcpu bitmap)");
  b_info.avail_vcpus.size = bytes;
  for (uint32_t cpu = 0; cpu < online; ++cpu) libxl_bitmap_set(&b_info.avail_vcpus, static_cast<int>(cpu));
  return ok_status();
}

Status set_disks(libxl_domain_config& config, const std::vector<DiskAttachment>& disks, const std::string& script) {
  if (disks.empty()) return ok_status();
  config.disks = static_cast<libxl_device_disk*>(std::calloc(disks.size(), sizeof(libxl_device_disk)));
  if (config.disks == nullptr) return Error(ErrorCode::kResourceExhausted, "out of memory (disks)");
  for (const auto& disk : disks) {
    libxl_device_disk& d = config.disks[config.num_disks];
    libxl_device_disk_init(&d);
    ++config.num_disks;  // counted before filling: dispose must see every initialised entry
    ZONED_TRY(fill_device_disk(disk, d, script));
  }
  return ok_status();
}

Status set_nic(libxl_domain_config& config, const zone_runtime::NicAttachment& nic, const std::string& script) {
  auto mac = parse_mac(nic.mac);
  if (!mac.ok()) return std::move(mac).take_error();
  config.nics = static_cast<libxl_device_nic*>(std::calloc(1, sizeof(libxl_device_nic)));
  if (config.nics == nullptr) return Error(ErrorCode::kResourceExhausted, "out of memory (nic)");
  libxl_device_nic& n = config.nics[0];
  libxl_device_nic_init(&n);
  config.num_nics = 1;  // counted before filling: dispose must see the initialised entry
  n.backend_domid = 0;
  n.devid = 0;
  n.nictype = LIBXL_NIC_TYPE_VIF;
  std::memcpy(n.mac, mac->data(), sizeof n.mac);
  if (!script.empty()) {
    ZONED_TRY(check_path("vif hotplug script", script, false));
    ZONED_TRY(set_string(n.script, script));
  }
  return ok_status();
}

}  // namespace

Result<std::array<uint8_t, 6>> parse_mac(std::string_view text) {
  auto bad = [&] { return invalid("MAC address '" + std::string(text.substr(0, 64)) + "' is not six hex pairs"); };
  if (text.size() != 17) return bad();
  std::array<uint8_t, 6> mac{};
  for (size_t i = 0; i < 6; ++i) {
    const size_t at = i * 3;
    if (i > 0 && text[at - 1] != ':') return bad();
    const char hi_c = static_cast<char>(text[at] | 0x20), lo_c = static_cast<char>(text[at + 1] | 0x20);
    const int hi = hex_value(hi_c), lo = hex_value(lo_c);
    if (hi < 0 || lo < 0) return bad();
    mac[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  if ((mac[0] & 0x01) != 0) return invalid("MAC address '" + std::string(text) + "' is multicast");
  return mac;
}

Status validate_vdev(std::string_view vdev) {
  if (vdev.size() != 4 || vdev.substr(0, 3) != "xvd" || vdev[3] < 'a' || vdev[3] > 'z') {
    return invalid("disk name '" + std::string(vdev) + "' must be xvda..xvdz");
  }
  return ok_status();
}

Status validate_disk(const DiskAttachment& disk) {
  ZONED_TRY(validate_vdev(disk.vdev));
  ZONED_TRY(check_path("disk " + disk.vdev + " target", disk.target, false));
  return ok_status();
}

Status validate_domain_spec(const DomainSpec& spec) {
  ZONED_TRY(check_name(spec.name));
  auto uuid = parse_uuid(spec.uuid);
  if (!uuid.ok()) return std::move(uuid).take_error();
  if (spec.type != DomainType::kPv && spec.type != DomainType::kPvh) return invalid("unknown domain type");
  ZONED_TRY(check_sizes(spec));
  ZONED_TRY(check_path("kernel", spec.kernel, false));
  ZONED_TRY(check_path("initramfs", spec.initramfs, true));
  if (spec.cmdline.size() > kMaxCmdlineLength || has_nul(spec.cmdline)) {
    return invalid("kernel command line must be at most " + std::to_string(kMaxCmdlineLength) + " bytes, without NUL");
  }
  ZONED_TRY(check_disks(spec.disks));
  if (spec.nic) {
    auto mac = parse_mac(spec.nic->mac);
    if (!mac.ok()) return std::move(mac).take_error();
  }
  return ok_status();
}

Result<libxl_uuid> parse_uuid(std::string_view text) {
  // 8-4-4-4-12: dashes at 8, 13, 18, 23.
  constexpr size_t kLength = 36;
  if (text.size() != kLength) return invalid("uuid '" + std::string(text) + "' is not 8-4-4-4-12 lower-case hex");
  uint8_t bytes[16] = {};
  size_t nibble = 0;
  for (size_t i = 0; i < kLength; ++i) {
    bool dash_here = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash_here) {
      if (text[i] != '-') return invalid("uuid '" + std::string(text) + "' is not 8-4-4-4-12 lower-case hex");
      continue;
    }
    int v = hex_value(text[i]);
    if (v < 0) return invalid("uuid '" + std::string(text) + "' is not 8-4-4-4-12 lower-case hex");
    bytes[nibble / 2] = static_cast<uint8_t>(bytes[nibble / 2] | (nibble % 2 == 0 ? v << 4 : v));
    ++nibble;
  }
  libxl_uuid uuid;
  libxl_uuid_clear(&uuid);
  std::memcpy(libxl_uuid_bytearray(&uuid), bytes, sizeof bytes);
  return uuid;
}

std::string format_uuid(const libxl_uuid& uuid) {
  const uint8_t* b = libxl_uuid_bytearray_const(&uuid);
  char buf[LIBXL_UUID_FMTLEN + 1];
  std::snprintf(buf, sizeof buf, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return buf;
}

std::string DomainConfig::to_json(libxl_ctx* ctx) {
  std::unique_ptr<char, decltype(&std::free)> json(libxl_domain_config_to_json(ctx, &config_), &std::free);
  return json ? std::string(json.get()) : std::string();
}

Status fill_device_disk(const DiskAttachment& disk, libxl_device_disk& out, const std::string& block_script) {
  ZONED_TRY(validate_disk(disk));
  if (!block_script.empty()) {
    ZONED_TRY(check_path("block hotplug script", block_script, false));
    ZONED_TRY(set_string(out.script, block_script));
  }
  out.backend_domid = 0;
  out.backend = LIBXL_DISK_BACKEND_PHY;
  out.format = LIBXL_DISK_FORMAT_RAW;
  out.readwrite = disk.read_only ? 0 : 1;
  out.removable = 0;
  out.is_cdrom = 0;
  ZONED_TRY(set_string(out.pdev_path, disk.target));
  ZONED_TRY(set_string(out.vdev, disk.vdev));
  return ok_status();
}

Status build_domain_config(const DomainSpec& spec, DomainConfig& config, const std::string& block_script,
                           const std::string& vif_script) {
  ZONED_TRY(validate_domain_spec(spec));
  libxl_domain_config& c = *config.get();
  const libxl_domain_type type =
      spec.type == zone_runtime::DomainType::kPvh ? LIBXL_DOMAIN_TYPE_PVH : LIBXL_DOMAIN_TYPE_PV;
  c.c_info.type = type;
  ZONED_TRY(set_string(c.c_info.name, spec.name));
  c.c_info.uuid = *parse_uuid(spec.uuid);

  // The build info's type-specific defaults depend on the type: re-initialise for it.
  libxl_domain_build_info_dispose(&c.b_info);
  libxl_domain_build_info_init(&c.b_info);
  libxl_domain_build_info_init_type(&c.b_info, type);
  c.b_info.max_memkb = spec.max_memory_mib * 1024;
  c.b_info.target_memkb = spec.memory_mib * 1024;
  ZONED_TRY(set_vcpus(c.b_info, spec.vcpus, spec.max_vcpus));
  // Direct kernel boot (since libxl 4.10 these live in b_info for PV and PVH alike).
  ZONED_TRY(set_string(c.b_info.kernel, spec.kernel));
  if (!spec.initramfs.empty()) ZONED_TRY(set_string(c.b_info.ramdisk, spec.initramfs));
  if (!spec.cmdline.empty()) ZONED_TRY(set_string(c.b_info.cmdline, spec.cmdline));

  c.on_poweroff = LIBXL_ACTION_ON_SHUTDOWN_DESTROY;
  c.on_reboot = LIBXL_ACTION_ON_SHUTDOWN_DESTROY;
  c.on_watchdog = LIBXL_ACTION_ON_SHUTDOWN_DESTROY;
  c.on_crash = LIBXL_ACTION_ON_SHUTDOWN_PRESERVE;
  ZONED_TRY(set_disks(c, spec.disks, block_script));
  if (spec.nic) ZONED_TRY(set_nic(c, *spec.nic, vif_script));
  return ok_status();
}

}  // namespace zoned::xen
