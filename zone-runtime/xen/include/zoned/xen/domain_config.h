// DomainSpec -> libxl_domain_config, kept apart from libxl calls so it can be checked without
// Xen (libxl_domain_config_to_json). Specs are validated first: everything here is bounded.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "zoned/common/result.h"
#include "zoned/xen/libxl_headers.h"
#include "zoned/zone_runtime/hypervisor.h"

namespace zoned::xen {

// Limits of a DomainSpec (beyond them the spec is rejected as InvalidArgument).
inline constexpr size_t kMaxDomainNameLength = 64;
inline constexpr uint64_t kMinMemoryMib = 32;
inline constexpr uint64_t kMaxMemoryMib = 1024 * 1024;  // 1 TiB
inline constexpr uint32_t kMaxVcpus = 128;
inline constexpr size_t kMaxCmdlineLength = 1023;  // Xen's guest command line buffer is 1024
inline constexpr size_t kMaxPathLength = 4095;
inline constexpr size_t kMaxDisks = 16;

Status validate_domain_spec(const zone_runtime::DomainSpec& spec);
Status validate_disk(const zone_runtime::DiskAttachment& disk);
// "xvda".."xvdz"
Status validate_vdev(std::string_view vdev);

// Canonical uuid text (8-4-4-4-12, lower-case hex) <-> libxl_uuid. Anything else is rejected.
Result<libxl_uuid> parse_uuid(std::string_view text);
std::string format_uuid(const libxl_uuid& uuid);

// A libxl_domain_config that disposes itself (and the strings and bitmaps it owns).
class DomainConfig {
 public:
  DomainConfig() { libxl_domain_config_init(&config_); }
  ~DomainConfig() { libxl_domain_config_dispose(&config_); }
  DomainConfig(const DomainConfig&) = delete;
  DomainConfig& operator=(const DomainConfig&) = delete;

  libxl_domain_config* get() { return &config_; }
  // libxl's own JSON rendering (as `xl list -l` shows it). `ctx` is only used to log a
  // rendering failure and may be null outside the toolstack thread.
  std::string to_json(libxl_ctx* ctx = nullptr);

 private:
  libxl_domain_config config_;
};

// Fills a freshly constructed `config` from `spec` (validated here first). PV or PVH direct
// kernel boot, no bootloader, no framebuffer, at most one vif (spec.nic: unbridged, devid 0,
// run through `vif_script` when set, else libxl's default vif-bridge); poweroff and reboot destroy, a crash
// preserves the domain so its console can still be read. `block_script`: the hotplug script
// for the disks (absolute path), empty for libxl's default (/etc/xen/scripts/block).
Status build_domain_config(const zone_runtime::DomainSpec& spec, DomainConfig& config,
                           const std::string& block_script = {}, const std::string& vif_script = {});

// "02:42:0a:58:00:05": six lower- or upper-case hex pairs, unicast (multicast bit clear).
Result<std::array<uint8_t, 6>> parse_mac(std::string_view text);

// Fills an initialised libxl_device_disk: phy backend in dom0, raw, read-only unless asked.
Status fill_device_disk(const zone_runtime::DiskAttachment& disk, libxl_device_disk& out,
                        const std::string& block_script = {});

}  // namespace zoned::xen
