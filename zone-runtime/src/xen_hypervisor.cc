#include "zoned/zone_runtime/xen_hypervisor.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

extern "C" {
#include <libxl.h>
#include <xenstore.h>
#include <xentoollog.h>
}

#include "zoned/common/unique_fd.h"

namespace zoned::zone_runtime {
namespace {

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

struct XtlLoggerDeleter {
  void operator()(xentoollog_logger_stdiostream* l) const {
    xtl_logger_destroy(reinterpret_cast<xentoollog_logger*>(l));
  }
};
struct LibxlCtxDeleter {
  void operator()(libxl_ctx* ctx) const { libxl_ctx_free(ctx); }
};
struct XsHandleDeleter {
  void operator()(xs_handle* h) const { xs_close(h); }
};

}  // namespace

XenHypervisor::XenHypervisor(XenPaths paths) : paths_(std::move(paths)) {}

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

  // 3. xenstored. Checking its socket first avoids blocking on the xenbus device when no
  //    xenstored runs (reads through /dev/xen/xenbus then wait forever).
  if (::stat(paths_.xenstored_socket.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) {
    return not_ready("XenstoreUnavailable", "xenstored is not running (no socket at " + paths_.xenstored_socket +
                                                "); start xenstored and xen-init-dom0");
  }
  std::unique_ptr<xs_handle, XsHandleDeleter> xs(xs_open(0));
  if (!xs) {
    int e = errno;
    return not_ready("XenstoreUnavailable", std::string("cannot connect to xenstored: ") + std::strerror(e));
  }
  unsigned int len = 0;
  char* dom0_name = static_cast<char*>(xs_read(xs.get(), XBT_NULL, "/local/domain/0/name", &len));
  if (dom0_name == nullptr) {
    int e = errno;
    return not_ready("XenstoreUnavailable",
                     std::string("xenstore has no /local/domain/0/name (") + std::strerror(e) + "): run xen-init-dom0");
  }
  std::free(dom0_name);
  xs.reset();

  // 4. libxl: a real hypercall (physinfo) proves the toolstack can talk to Xen.
  std::unique_ptr<xentoollog_logger_stdiostream, XtlLoggerDeleter> logger(
      xtl_createlogger_stdiostream(stderr, XTL_ERROR, 0));
  libxl_ctx* raw_ctx = nullptr;
  if (libxl_ctx_alloc(&raw_ctx, LIBXL_VERSION, 0, reinterpret_cast<xentoollog_logger*>(logger.get())) != 0) {
    return not_ready("XenToolstackUnavailable", "libxl could not initialise (libxl_ctx_alloc failed)");
  }
  std::unique_ptr<libxl_ctx, LibxlCtxDeleter> ctx(raw_ctx);
  libxl_physinfo physinfo;
  libxl_physinfo_init(&physinfo);
  if (libxl_get_physinfo(ctx.get(), &physinfo) != 0) {
    libxl_physinfo_dispose(&physinfo);
    return not_ready("XenToolstackUnavailable", "libxl_get_physinfo failed: Xen did not answer a hypercall");
  }
  HypervisorStatus status;
  status.ready = true;
  const libxl_version_info* version = libxl_get_version_info(ctx.get());
  if (version != nullptr) {
    status.details["xen_version"] = std::to_string(version->xen_version_major) + "." +
                                    std::to_string(version->xen_version_minor) +
                                    (version->xen_version_extra != nullptr ? version->xen_version_extra : "");
  }
  const uint64_t page = 4096;
  status.details["nr_cpus"] = std::to_string(physinfo.nr_cpus);
  status.details["total_memory_bytes"] = std::to_string(physinfo.total_pages * page);
  status.details["free_memory_bytes"] = std::to_string(physinfo.free_pages * page);
  status.details["hvm_capable"] = physinfo.cap_hvm ? "true" : "false";
  status.details["pv_capable"] = physinfo.cap_pv ? "true" : "false";
  status.details["hap_capable"] = physinfo.cap_hap ? "true" : "false";  // PVH zones need HAP
  libxl_physinfo_dispose(&physinfo);
  return status;
}

}  // namespace zoned::zone_runtime
