// zoned-xen-smoke: a development tool for the devbox (not installed). Drives XenHypervisor
// through one domain's life: probe, create (timed), list, console path and output, wait for
// the guest to shut itself down (or a timeout), destroy, list again. Exits non-zero on the
// first failure.
//
//   zoned_xen_smoke --kernel /usr/share/zoned/vmlinux --initramfs /root/smoke.cpio.gz
//       [--type pv|pvh] [--cmdline "console=hvc0"] [--memory 256] [--vcpus 1] [--wait 60]
//       [--disk /path/image.erofs] [--name zoned-smoke] [--block-script PATH] [--keep]
#include <fcntl.h>
#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "zoned/common/unique_fd.h"
#include "zoned/xen/xen_hypervisor.h"
#include "zoned/zone_runtime/loop_device.h"

namespace {

using namespace zoned::zone_runtime;  // NOLINT: a small tool
using Clock = std::chrono::steady_clock;

struct Args {
  DomainSpec spec;
  XenPaths paths;
  std::string disk_file;
  int wait_seconds = 60;
  bool keep = false;
};

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

int fail(const std::string& what) {
  std::fprintf(stderr, "smoke: FAILED: %s\n", what.c_str());
  return 1;
}

std::optional<Args> parse(int argc, char** argv) {
  Args a;
  a.spec.name = "zoned-smoke";
  a.spec.uuid = "5a0e0000-0000-4000-8000-000000000001";
  a.spec.cmdline = "console=hvc0 quiet";
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (k == "--kernel")
      a.spec.kernel = next();
    else if (k == "--initramfs")
      a.spec.initramfs = next();
    else if (k == "--cmdline")
      a.spec.cmdline = next();
    else if (k == "--type")
      a.spec.type = next() == "pvh" ? DomainType::kPvh : DomainType::kPv;
    else if (k == "--memory")
      a.spec.memory_mib = a.spec.max_memory_mib = std::strtoull(next().c_str(), nullptr, 10);
    else if (k == "--vcpus")
      a.spec.vcpus = a.spec.max_vcpus = static_cast<uint32_t>(std::strtoul(next().c_str(), nullptr, 10));
    else if (k == "--wait")
      a.wait_seconds = std::atoi(next().c_str());
    else if (k == "--disk")
      a.disk_file = next();
    else if (k == "--name")
      a.spec.name = next();
    else if (k == "--uuid")
      a.spec.uuid = next();
    else if (k == "--block-script")
      a.paths.block_script = next();
    else if (k == "--keep")
      a.keep = true;
    else
      return std::nullopt;
  }
  if (a.spec.kernel.empty()) return std::nullopt;
  return a;
}

const char* state_name(DomainRunState s) {
  switch (s) {
    case DomainRunState::kRunning: return "running";
    case DomainRunState::kPoweroff: return "poweroff";
    case DomainRunState::kReboot: return "reboot";
    case DomainRunState::kCrashed: return "crashed";
    case DomainRunState::kDying: return "dying";
  }
  return "?";
}

std::optional<DomainInfo> find(XenHypervisor& xen, uint32_t domid) {
  auto list = xen.list_domains();
  if (!list.ok()) return std::nullopt;
  for (const auto& d : *list) {
    if (d.domid == domid) return d;
  }
  return std::nullopt;
}

// Copies what the console has printed so far to stdout, prefixed.
void drain_console(int fd, std::string& line) {
  char buf[4096];
  for (;;) {
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, 0) <= 0) return;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return;
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[i] == '\n') {
        std::printf("smoke: console| %s\n", line.c_str());
        line.clear();
      } else if (buf[i] != '\r' && line.size() < 1000) {
        line += buf[i];
      }
    }
  }
}

// The domain's PV console, raw, non-blocking (like `xl console`, read-only).
zoned::UniqueFd open_console(const std::string& path) {
  zoned::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
  if (fd.valid()) {
    termios t{};
    if (::tcgetattr(fd.get(), &t) == 0) {
      ::cfmakeraw(&t);
      ::tcsetattr(fd.get(), TCSANOW, &t);
    }
  }
  return fd;
}

int run(Args& args) {
  XenHypervisor xen(args.paths);
  auto status = xen.probe();
  if (!status.ready) return fail("probe: " + status.reason + ": " + status.message);
  std::printf("smoke: probe ready, xen %s, hap %s\n", status.details["xen_version"].c_str(),
              status.details["hap_capable"].c_str());

  std::atomic<int> changes{0};
  xen.set_domain_change_callback([&changes] { ++changes; });

  std::optional<LoopDevice> loop;
  if (!args.disk_file.empty()) {
    auto t0 = Clock::now();
    auto attached = LoopDevice::attach_read_only(args.disk_file);
    if (!attached.ok()) return fail(attached.error().describe());
    loop.emplace(std::move(*attached));
    std::printf("smoke: %s on %s (%.3f s)\n", args.disk_file.c_str(), loop->path().c_str(), seconds_since(t0));
    args.spec.disks.push_back({loop->path(), "xvdb", true});
  }

  auto t0 = Clock::now();
  auto domid = xen.create_domain(args.spec);
  double create_s = seconds_since(t0);
  if (!domid.ok()) return fail("create_domain: " + domid.error().describe());
  std::printf("smoke: create_domain %s -> domid %u in %.3f s\n", args.spec.type == DomainType::kPvh ? "pvh" : "pv",
              *domid, create_s);
  if (loop) loop->release();  // blkback holds it now; autoclear frees it after the domain

  auto info = find(xen, *domid);
  if (!info) return fail("list_domains does not show domid " + std::to_string(*domid));
  std::printf("smoke: listed: name=%s uuid=%s state=%s mem=%llu KiB vcpus=%u\n", info->name.c_str(), info->uuid.c_str(),
              state_name(info->state), static_cast<unsigned long long>(info->memory_kib), info->vcpus_online);
  if (info->name != args.spec.name || info->uuid != args.spec.uuid) return fail("name or uuid differ from the spec");

  zoned::UniqueFd console;
  for (int i = 0; i < 50 && !console.valid(); ++i) {
    auto path = xen.console_path(*domid);
    if (path.ok()) {
      std::printf("smoke: console at %s\n", path->c_str());
      console = open_console(*path);
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  if (!console.valid()) std::printf("smoke: no console path (continuing)\n");

  std::string line;
  DomainRunState last = DomainRunState::kRunning;
  while (seconds_since(t0) < args.wait_seconds) {
    if (console.valid()) drain_console(console.get(), line);
    auto now = find(xen, *domid);
    if (!now) return fail("domain vanished before we destroyed it");
    last = now->state;
    if (last != DomainRunState::kRunning) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (console.valid()) drain_console(console.get(), line);
  if (!line.empty()) std::printf("smoke: console| %s\n", line.c_str());
  std::printf("smoke: state %s after %.1f s since create; domain-change callbacks: %d\n", state_name(last),
              seconds_since(t0), changes.load());
  if (args.keep) return 0;

  auto t1 = Clock::now();
  auto destroyed = xen.destroy_domain(*domid);
  if (!destroyed.ok()) return fail("destroy_domain: " + destroyed.error().describe());
  std::printf("smoke: destroy_domain in %.3f s\n", seconds_since(t1));
  auto again = xen.destroy_domain(*domid);
  if (!again.ok()) return fail("destroying a destroyed domain must succeed: " + again.error().describe());
  if (find(xen, *domid)) return fail("domain still listed after destroy");
  std::printf("smoke: OK\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  auto args = parse(argc, argv);
  if (!args) {
    std::fprintf(stderr,
                 "usage: zoned_xen_smoke --kernel VMLINUX [--initramfs CPIO] [--type pv|pvh] [--cmdline S]\n"
                 "       [--memory MIB] [--vcpus N] [--wait SECONDS] [--disk FILE] [--name N] [--uuid U] "
                 "[--block-script PATH] [--keep]\n");
    return 2;
  }
  return run(*args);
}
