// The hypervisor as the rest of the daemon sees it: probe, domains, their disks, xenstore and
// the IDM channel to each domain's agent. Only Xen is real (XenHypervisor); tests use a fake
// (tests/fakes/fake_hypervisor.h).
//
// Threading: every method may be called from any thread. The Xen implementation serialises
// toolstack work (libxl) on a thread of its own; calls block until their work is done.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "zoned/common/result.h"
#include "zoned/idm/byte_channel.h"

namespace zoned::zone_runtime {

// Whether zones can be run right now, and if not, why.
struct HypervisorStatus {
  bool ready = false;
  std::string reason;                          // CamelCase, machine-readable (CRI condition reason), empty when ready
  std::string message;                         // human-readable: what is missing and how to fix it
  std::map<std::string, std::string> details;  // facts found while probing (versions, memory, ...)
};

enum class DomainType { kPv, kPvh };

// A block device of dom0 given to a domain as a Xen virtual disk.
struct DiskAttachment {
  std::string target;      // dom0 block device, e.g. "/dev/loop3"
  std::string vdev;        // name in the domain, "xvdb".."xvdz"
  bool read_only = true;
};

// The domain's network device (its eth0): a Xen vif whose dom0 end, vif<domid>.0, is left
// unbridged for the caller to wire (netplug moves it into the pod's network namespace).
struct NicAttachment {
  std::string mac;  // "02:42:0a:58:00:05", lower-case, unicast; the pod's (the CNI eth0's) MAC
};

// The dom0 name of a domain's first vif ("vif5.0").
inline std::string nic_device_name(uint32_t domid) {
  return "vif" + std::to_string(domid) + ".0";
}

// Everything needed to build a domain. Names and uuids are how the daemon finds its own
// domains again after a restart: `name` is "zoned-<zone id prefix>", `uuid` is derived from
// the zone id.
struct DomainSpec {
  std::string name;
  std::string uuid;              // canonical 8-4-4-4-12 lower-case hex
  DomainType type = DomainType::kPv;
  uint64_t memory_mib = 256;     // at boot
  uint64_t max_memory_mib = 256; // the most it may ever be given (balloon headroom)
  uint32_t vcpus = 1;            // online at boot
  uint32_t max_vcpus = 1;        // the most it may ever have
  std::string kernel;            // uncompressed vmlinux (ELF)
  std::string initramfs;
  std::string cmdline;
  std::vector<DiskAttachment> disks;
  std::optional<NicAttachment> nic;  // none: the domain has no network device
};

enum class DomainRunState {
  kRunning,   // running or blocked or paused: alive
  kPoweroff,  // shut itself down cleanly, not yet destroyed
  kReboot,    // asked to reboot (zones treat this like a poweroff)
  kCrashed,   // guest crash (kernel panic), kept until destroyed so its console can be read
  kDying,     // being torn down
};

struct DomainInfo {
  uint32_t domid = 0;
  std::string name;
  std::string uuid;
  DomainRunState state = DomainRunState::kRunning;
  uint64_t memory_kib = 0;   // current allocation
  uint32_t vcpus_online = 0;
  uint64_t cpu_time_ns = 0;  // cumulative
};

class Hypervisor {
 public:
  virtual ~Hypervisor() = default;
  // Checks that the hypervisor is reachable and usable. Must not block for long.
  virtual HypervisorStatus probe() = 0;

  // Builds the domain with its disks, waits for its devices' backends, and unpauses it.
  // On failure nothing is left (the half-built domain is destroyed). Returns the domid.
  virtual Result<uint32_t> create_domain(const DomainSpec& spec) = 0;
  // Destroys the domain and its backends; a domain that is already gone is not an error.
  virtual Status destroy_domain(uint32_t domid) = 0;
  // All domains except dom0 (callers filter by name).
  virtual Result<std::vector<DomainInfo>> list_domains() = 0;
  // Hot-adds / removes a virtual disk of a running domain.
  virtual Status add_disk(uint32_t domid, const DiskAttachment& disk) = 0;
  virtual Status remove_disk(uint32_t domid, const std::string& vdev) = 0;
  // The dom0 path (a pty) where the domain's PV console can be read.
  virtual Result<std::string> console_path(uint32_t domid) = 0;

  // xenstore, absolute paths. read: nullopt when the node does not exist.
  virtual Status xenstore_write(const std::string& path, const std::string& value) = 0;
  virtual Result<std::optional<std::string>> xenstore_read(const std::string& path) = 0;

  // Called, on a thread of the hypervisor's, whenever some domain may have changed state
  // (died, crashed, shut down). Set once, before domains are created.
  virtual void set_domain_change_callback(std::function<void()> callback) = 0;

  // Connects to the IDM channel the domain's agent serves at xenstore path `xs_path`
  // (absolute). Fails (kUnavailable) while the agent has not set it up yet.
  virtual Result<std::unique_ptr<idm::ByteChannel>> connect_channel(uint32_t domid, const std::string& xs_path) = 0;
};

}  // namespace zoned::zone_runtime
