// The Hypervisor on Xen, through its control interfaces in dom0: privcmd, xenstore and libxl.
//
// Threads: libxl is used only on the toolstack thread (Toolstack), where every domain and
// disk operation is queued and run in order while the caller waits. xenstore reads and writes
// use a connection of their own from the caller's thread. The domain-change callback runs on
// a watch thread (DomainWatch). All three stop in the destructor.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "zoned/xen/toolstack.h"
#include "zoned/xen/xenstore_client.h"
#include "zoned/zone_runtime/hypervisor.h"

namespace zoned::xen {
class DomainWatch;
}

namespace zoned::zone_runtime {

struct XenPaths {
  std::string privcmd = "/dev/xen/privcmd";
  std::string capabilities = "/proc/xen/capabilities";
  std::string xenstored_socket = "/run/xenstored/socket";
  // Hotplug script for disks; empty: libxl's /etc/xen/scripts/block. zone-runtime/xen/scripts/
  // block-zoned does only what zoned's read-only loop devices need, much faster.
  std::string block_script;
  // Hotplug script for the vif; empty: libxl's /etc/xen/scripts/vif-bridge (which would bridge
  // it). zone-runtime/xen/scripts/vif-zoned only reports it connected: netplug wires it.
  std::string vif_script;
};

class XenHypervisor final : public Hypervisor {
 public:
  explicit XenHypervisor(XenPaths paths = {});
  ~XenHypervisor() override;

  // Cheap checks first (privcmd, control domain, xenstored's socket and a read), then a
  // hypercall through libxl (physinfo). When the toolstack is busy with a long job (a domain
  // build), answers from the last successful probe instead of waiting.
  HypervisorStatus probe() override;

  Result<uint32_t> create_domain(const DomainSpec& spec) override;
  Status destroy_domain(uint32_t domid) override;
  Result<std::vector<DomainInfo>> list_domains() override;
  Status add_disk(uint32_t domid, const DiskAttachment& disk) override;
  Status remove_disk(uint32_t domid, const std::string& vdev) override;
  // /local/domain/<domid>/console/tty, checked to be a /dev/pts/N path: that node lives in
  // the guest-writable part of xenstore.
  Result<std::string> console_path(uint32_t domid) override;

  Status xenstore_write(const std::string& path, const std::string& value) override;
  Result<std::optional<std::string>> xenstore_read(const std::string& path) override;

  void set_domain_change_callback(std::function<void()> callback) override;

  Result<std::unique_ptr<idm::ByteChannel>> connect_channel(uint32_t domid, const std::string& xs_path) override;

 private:
  HypervisorStatus probe_toolstack();

  XenPaths paths_;
  xen::Toolstack toolstack_;
  xen::XenstoreClient xenstore_;

  std::mutex probe_mu_;
  std::map<std::string, std::string> last_physinfo_;  // details of the last successful probe

  std::mutex watch_mu_;
  std::unique_ptr<xen::DomainWatch> watch_;  // last: stopped first
};

}  // namespace zoned::zone_runtime
