// XenHypervisor: domain and disk operations, each one job on the toolstack thread.
#include <chrono>
#include <cstdlib>
#include <memory>

#include "zoned/common/log.h"
#include "zoned/common/scope_guard.h"
#include "zoned/xen/domain_config.h"
#include "zoned/xen/domain_info.h"
#include "zoned/xen/libxl_headers.h"
#include "zoned/xen/xen_hypervisor.h"

namespace zoned::zone_runtime {
namespace {

constexpr uint32_t kNoDomid = ~uint32_t{0};
constexpr uint32_t kFirstReservedDomid = 0x7FF0;  // Xen's DOMID_FIRST_RESERVED (xen/xen.h)
constexpr size_t kMaxReportedNameLength = 256;

std::string domain(uint32_t domid) {
  return "domain " + std::to_string(domid);
}

Status check_domid(uint32_t domid) {
  if (domid == 0 || domid >= kFirstReservedDomid) {
    return Error(ErrorCode::kInvalidArgument, std::to_string(domid) + " is not a guest domain id");
  }
  return ok_status();
}

bool domain_exists(const xen::LibxlCall& lx, uint32_t domid) {
  libxl_dominfo info;
  libxl_dominfo_init(&info);
  int rc = libxl_domain_info(lx.ctx(), &info, domid);
  libxl_dominfo_dispose(&info);
  return rc != ERROR_DOMAIN_NOTFOUND;
}

// Undo of a failed build: best effort, logged. libxl usually destroyed it already.
void destroy_quietly(const xen::LibxlCall& lx, uint32_t domid) {
  if (domid == 0 || domid >= kFirstReservedDomid || !domain_exists(lx, domid)) return;
  int rc = libxl_domain_destroy(lx.ctx(), domid, nullptr);
  if (rc != 0 && domain_exists(lx, domid)) {
    log::error("cannot destroy a half-built domain", {{"domid", domid}, {"error", xen::libxl_error_name(rc)}});
  }
}

Result<uint32_t> build_and_start(const xen::LibxlCall& lx, xen::DomainConfig& config) {
  libxl_ctx* ctx = lx.ctx();
  const std::string name = config.get()->c_info.name;
  uint32_t existing = 0;
  if (libxl_name_to_domid(ctx, name.c_str(), &existing) == 0) {
    return Error(ErrorCode::kAlreadyExists, "a domain named " + name + " already exists (" + domain(existing) + ")");
  }
  if (log::enabled(log::Level::kDebug)) log::debug("libxl domain config", {{"json", config.to_json(ctx)}});
  uint32_t domid = kNoDomid;
  int rc = libxl_domain_create_new(ctx, config.get(), &domid, nullptr, nullptr);
  if (rc != 0) {
    Error error = lx.error(rc, "building the domain and its devices (libxl_domain_create_new)");
    destroy_quietly(lx, domid);
    return error;
  }
  rc = libxl_domain_unpause(ctx, domid, nullptr);
  if (rc != 0) {
    Error error = lx.error(rc, "starting " + domain(domid) + " (libxl_domain_unpause)");
    destroy_quietly(lx, domid);
    return error;
  }
  return domid;
}

std::string bounded_name(char* name) {
  if (name == nullptr) return {};
  std::string s(name);
  std::free(name);
  if (s.size() > kMaxReportedNameLength) s.resize(kMaxReportedNameLength);
  return s;
}

}  // namespace

Result<uint32_t> XenHypervisor::create_domain(const DomainSpec& spec) {
  const std::string what = "creating domain " + spec.name;
  auto config = std::make_shared<xen::DomainConfig>();
  if (auto built = xen::build_domain_config(spec, *config, paths_.block_script, paths_.vif_script); !built.ok()) {
    return std::move(built).take_error().wrap(what);
  }
  const auto started = std::chrono::steady_clock::now();
  auto domid = toolstack_.run<uint32_t>([config](const xen::LibxlCall& lx) { return build_and_start(lx, *config); });
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  if (!domid.ok()) return std::move(domid).take_error().wrap(what);
  log::info("domain created", {{"name", spec.name},
                               {"domid", *domid},
                               {"type", spec.type == DomainType::kPvh ? "pvh" : "pv"},
                               {"disks", spec.disks.size()},
                               {"duration_ms", ms}});
  return domid;
}

Status XenHypervisor::destroy_domain(uint32_t domid) {
  ZONED_TRY(check_domid(domid));
  return toolstack_.run<void>([domid](const xen::LibxlCall& lx) -> Status {
    if (!domain_exists(lx, domid)) return ok_status();
    int rc = libxl_domain_destroy(lx.ctx(), domid, nullptr);
    if (rc != 0 && domain_exists(lx, domid)) {
      return lx.error(rc, "destroying " + domain(domid) + " (libxl_domain_destroy)");
    }
    return ok_status();
  });
}

Result<std::vector<DomainInfo>> XenHypervisor::list_domains() {
  return toolstack_.run<std::vector<DomainInfo>>([](const xen::LibxlCall& lx) -> Result<std::vector<DomainInfo>> {
    int count = 0;
    libxl_dominfo* list = libxl_list_domain(lx.ctx(), &count);
    if (list == nullptr) return lx.error(ERROR_FAIL, "listing domains (libxl_list_domain)");
    ScopeGuard free_list([&] { libxl_dominfo_list_free(list, count); });
    std::vector<DomainInfo> domains;
    domains.reserve(static_cast<size_t>(count));
    for (int i = 0; i < count; ++i) {
      const libxl_dominfo& info = list[i];
      if (info.domid == 0) continue;
      // Empty when the domain went away meanwhile; its uuid still identifies it.
      domains.push_back(xen::to_domain_info(info, bounded_name(libxl_domid_to_name(lx.ctx(), info.domid))));
    }
    return domains;
  });
}

Status XenHypervisor::add_disk(uint32_t domid, const DiskAttachment& disk) {
  ZONED_TRY(check_domid(domid));
  ZONED_TRY(xen::validate_disk(disk));
  return toolstack_.run<void>([domid, disk, script = paths_.block_script](const xen::LibxlCall& lx) -> Status {
    libxl_device_disk device;
    libxl_device_disk_init(&device);
    ScopeGuard dispose([&] { libxl_device_disk_dispose(&device); });
    ZONED_TRY(xen::fill_device_disk(disk, device, script));
    int rc = libxl_device_disk_add(lx.ctx(), domid, &device, nullptr);
    if (rc != 0) {
      return lx.error(
          rc, "adding disk " + disk.vdev + " (" + disk.target + ") to " + domain(domid) + " (libxl_device_disk_add)");
    }
    return ok_status();
  });
}

Status XenHypervisor::remove_disk(uint32_t domid, const std::string& vdev) {
  ZONED_TRY(check_domid(domid));
  ZONED_TRY(xen::validate_vdev(vdev));
  return toolstack_.run<void>([domid, vdev](const xen::LibxlCall& lx) -> Status {
    libxl_device_disk device;
    libxl_device_disk_init(&device);
    ScopeGuard dispose([&] { libxl_device_disk_dispose(&device); });
    if (libxl_vdev_to_device_disk(lx.ctx(), domid, vdev.c_str(), &device) != 0) {
      return Error(ErrorCode::kNotFound, domain(domid) + " has no disk " + vdev);
    }
    int rc = libxl_device_disk_remove(lx.ctx(), domid, &device, nullptr);
    if (rc != 0)
      return lx.error(rc, "removing disk " + vdev + " from " + domain(domid) + " (libxl_device_disk_remove)");
    return ok_status();
  });
}

}  // namespace zoned::zone_runtime
