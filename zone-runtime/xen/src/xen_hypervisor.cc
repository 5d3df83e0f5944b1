// XenHypervisor: probe, xenstore, console, the domain-change watch and the IDM channel.
// Domain and disk operations (the libxl jobs) are in xen_domains.cc.
#include "zoned/xen/xen_hypervisor.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "zoned/common/log.h"
#include "zoned/common/unique_fd.h"
#include "zoned/idm/vchan.h"
#include "zoned/xen/domain_watch.h"
#include "zoned/xen/libxl_headers.h"

namespace zoned::zone_runtime {
namespace {

// How long probe() waits for an idle toolstack to answer a hypercall. The first answer opens
// the libxl context, which takes a while under emulation.
constexpr std::chrono::milliseconds kProbeTimeout{3000};

HypervisorStatus not_ready(std::string reason, std::string message) {
  HypervisorStatus status;
  status.ready = false;
  status.reason = std::move(reason);
  status.message = std::move(message);
  return status;
}

std::string read_small_file(const std::string& path) {
  std::ifstream in(path);
  std::string text;
  std::getline(in, text);
  return text;
}

xen::Toolstack::Options toolstack_options(const XenPaths& paths) {
  xen::Toolstack::Options options;
  options.privcmd = paths.privcmd;
  options.xenstored_socket = paths.xenstored_socket;
  // Quiet unless the daemon logs at debug level.
  options.log_level = log::enabled(log::Level::kDebug) ? XTL_DETAIL : XTL_WARN;
  return options;
}

using Details = std::map<std::string, std::string>;

Result<Details> physinfo_details(const xen::LibxlCall& lx) {
  libxl_physinfo physinfo;
  libxl_physinfo_init(&physinfo);
  int rc = libxl_get_physinfo(lx.ctx(), &physinfo);
  if (rc != 0) {
    libxl_physinfo_dispose(&physinfo);
    return lx.error(rc, "Xen did not answer a hypercall (libxl_get_physinfo)");
  }
  Details details;
  const libxl_version_info* version = libxl_get_version_info(lx.ctx());
  if (version != nullptr) {
    details["xen_version"] = std::to_string(version->xen_version_major) + "." +
                             std::to_string(version->xen_version_minor) +
                             (version->xen_version_extra != nullptr ? version->xen_version_extra : "");
  }
  const uint64_t page = 4096;
  details["nr_cpus"] = std::to_string(physinfo.nr_cpus);
  details["total_memory_bytes"] = std::to_string(physinfo.total_pages * page);
  details["free_memory_bytes"] = std::to_string(physinfo.free_pages * page);
  details["hvm_capable"] = physinfo.cap_hvm ? "true" : "false";
  details["pv_capable"] = physinfo.cap_pv ? "true" : "false";
  details["hap_capable"] = physinfo.cap_hap ? "true" : "false";  // PVH zones need HAP
  libxl_physinfo_dispose(&physinfo);
  return details;
}

bool valid_pts_path(const std::string& path) {
  const std::string prefix = "/dev/pts/";
  if (!path.starts_with(prefix) || path.size() == prefix.size() || path.size() > prefix.size() + 9) return false;
  for (size_t i = prefix.size(); i < path.size(); ++i) {
    if (path[i] < '0' || path[i] > '9') return false;
  }
  return true;
}

}  // namespace

XenHypervisor::XenHypervisor(XenPaths paths)
    : paths_(std::move(paths)), toolstack_(toolstack_options(paths_)), xenstore_(paths_.xenstored_socket) {}

XenHypervisor::~XenHypervisor() {
  std::lock_guard lock(watch_mu_);
  watch_.reset();
}

HypervisorStatus XenHypervisor::probe() {
  // 1. privcmd: the hypercall device. Missing means no Xen (or not loaded).
  struct stat st {};
  if (::stat(paths_.privcmd.c_str(), &st) != 0) {
    int e = errno;
    return not_ready("XenUnavailable",
                     paths_.privcmd + " is missing (" + std::strerror(e) +
                         "): this machine is not running as a Xen dom0, or the xen-privcmd module is not loaded. "
                         "Zones need a Xen host; on a machine without Xen use scripts/devbox.");
  }
  UniqueFd privcmd(::open(paths_.privcmd.c_str(), O_RDWR | O_CLOEXEC));
  if (!privcmd.valid()) {
    int e = errno;
    return not_ready("XenUnavailable", "cannot open " + paths_.privcmd + ": " + std::strerror(e) +
                                           " (the daemon must run as root in dom0)");
  }
  privcmd.reset();

  // 2. Must be the control domain: a domU also has privcmd but cannot build domains.
  std::string caps = read_small_file(paths_.capabilities);
  if (caps.find("control_d") == std::string::npos) {
    return not_ready("XenNotControlDomain", "this domain is not Xen's control domain (" + paths_.capabilities +
                                                " says '" + caps + "'); zoned must run in dom0");
  }

  // 3. xenstored. Its socket is checked first (XenstoreClient connects through it only), so a
  //    missing xenstored never blocks us on the xenbus device.
  auto dom0_name = xenstore_.read("/local/domain/0/name");
  if (!dom0_name.ok()) {
    return not_ready("XenstoreUnavailable", dom0_name.error().describe() + "; start xenstored and xen-init-dom0");
  }
  if (!dom0_name->has_value()) {
    return not_ready("XenstoreUnavailable", "xenstore has no /local/domain/0/name: run xen-init-dom0");
  }

  // 4. libxl: a real hypercall (physinfo) proves the toolstack can talk to Xen.
  return probe_toolstack();
}

HypervisorStatus XenHypervisor::probe_toolstack() {
  HypervisorStatus status;
  status.ready = true;
  if (toolstack_.has_context() && toolstack_.busy()) {
    // A domain build can take seconds under emulation: the open context is proof enough.
    std::lock_guard lock(probe_mu_);
    status.details = last_physinfo_;
    status.details["toolstack"] = "busy";
    return status;
  }
  auto details = toolstack_.run_within<Details>(kProbeTimeout, &physinfo_details);
  if (!details.ok()) {
    if (details.error().code() == ErrorCode::kDeadlineExceeded && toolstack_.has_context()) {
      std::lock_guard lock(probe_mu_);
      status.details = last_physinfo_;
      status.details["toolstack"] = "busy";
      return status;
    }
    return not_ready("XenToolstackUnavailable", details.error().describe());
  }
  std::lock_guard lock(probe_mu_);
  last_physinfo_ = *details;
  status.details = std::move(*details);
  return status;
}

Result<std::string> XenHypervisor::console_path(uint32_t domid) {
  const std::string dom = "/local/domain/" + std::to_string(domid);
  auto tty = xenstore_.read(dom + "/console/tty");
  if (!tty.ok()) return std::move(tty).take_error().wrap("console of domain " + std::to_string(domid));
  if (!tty->has_value()) {
    auto exists = xenstore_.read(dom);
    if (exists.ok() && !exists->has_value()) {
      return Error(ErrorCode::kNotFound, "domain " + std::to_string(domid) + " does not exist");
    }
    return Error(ErrorCode::kUnavailable,
                 "domain " + std::to_string(domid) + " has no console tty yet (xenconsoled has not attached it)");
  }
  // The node is in the guest's own xenstore directory: accept nothing but a pty path.
  if (!valid_pts_path(**tty)) {
    return Error(ErrorCode::kFailedPrecondition,
                 "domain " + std::to_string(domid) + " console tty is not a /dev/pts/N path; ignoring it");
  }
  return std::move(**tty);
}

Status XenHypervisor::xenstore_write(const std::string& path, const std::string& value) {
  return xenstore_.write(path, value);
}

Result<std::optional<std::string>> XenHypervisor::xenstore_read(const std::string& path) {
  return xenstore_.read(path);
}

void XenHypervisor::set_domain_change_callback(std::function<void()> callback) {
  std::lock_guard lock(watch_mu_);
  watch_.reset();
  if (callback) watch_ = std::make_unique<xen::DomainWatch>(paths_.xenstored_socket, std::move(callback));
}

Result<std::unique_ptr<idm::ByteChannel>> XenHypervisor::connect_channel(uint32_t domid, const std::string& xs_path) {
  ZONED_TRY(xen::validate_xenstore_path(xs_path));
  // A vchan is found through xenstore nodes its server wrote; only the domain's own directory
  // can hold nodes that domain wrote about itself.
  const std::string home = "/local/domain/" + std::to_string(domid) + "/";
  if (domid == 0 || !xs_path.starts_with(home) || xs_path.size() == home.size()) {
    return Error(ErrorCode::kInvalidArgument, "channel path " + xs_path + " is not inside domain " +
                                                  std::to_string(domid) + "'s xenstore directory");
  }
  return idm::vchan_connect(domid, xs_path);
}

}  // namespace zoned::zone_runtime
