// zoned-agent: /init (PID 1) of a zone. Stage 1 moves out of the initramfs into a tmpfs root
// and re-executes itself with --stage2; stage 2 sets the system up and runs the agent loop.
// With --no-init (debugging outside a zone) the PID-1 steps are skipped.
#include <sys/reboot.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "zoned/agent/agent.h"
#include "zoned/agent/init.h"
#include "zoned/agent/vchan_source.h"
#include "zoned/common/file_ops.h"
#include "zoned/common/log.h"
#include "zoned/common/version.h"

namespace {

using namespace zoned;
using namespace zoned::agent;

struct Args {
  bool stage2 = false;
  bool no_init = false;
  std::string crun = "/usr/bin/crun";
};

Args parse_args(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--stage2") {
      args.stage2 = true;
    } else if (arg == "--no-init") {
      args.no_init = true;
    } else if (arg == "--crun" && i + 1 < argc) {
      args.crun = argv[++i];
    }
    // Anything else (the kernel passes unknown boot arguments to init) is ignored.
  }
  return args;
}

void load_kernel_modules() {
  utsname uts{};
  if (::uname(&uts) != 0) return;
  for (const std::string base : {"/lib/modules/", "/usr/lib/modules/"}) {
    const std::string dir = base + uts.release;
    if (::access((dir + "/modules.load").c_str(), R_OK) != 0) continue;
    auto failures = load_modules(dir);
    if (!failures.ok()) {
      log::error("cannot load kernel modules", {{"error", failures.error().describe()}});
    } else {
      log::info("kernel modules loaded", {{"dir", dir}, {"failures", *failures}});
    }
    return;
  }
  log::warn("no modules.load for this kernel", {{"release", uts.release}});
}

void set_up_system() {
  if (auto mounted = mount_basic_filesystems(); !mounted.ok()) fatal_power_off(mounted.error().describe());
  if (auto console = attach_console(); !console.ok()) log::warn("no console", {{"error", console.error().describe()}});
  log_to_console(2);
  auto cmdline = fs::read_file("/proc/cmdline", 64 * 1024);
  const BootParams params = parse_cmdline(cmdline.ok() ? *cmdline : std::string());
  log::configure(params.log_level.value_or(log::Level::kInfo), log::Format::kText);
  log::info("zone agent starting", {{"version", kVersion}});
  if (!params.hostname.empty()) {
    if (auto named = set_hostname(params.hostname); !named.ok())
      log::warn("hostname", {{"error", named.error().describe()}});
  }
  load_kernel_modules();
  if (auto cgroups = setup_cgroup2(); !cgroups.ok()) log::error("cgroup2", {{"error", cgroups.error().describe()}});
  if (auto lo = loopback_up(); !lo.ok()) log::warn("loopback", {{"error", lo.error().describe()}});
}

Result<std::unique_ptr<ChannelSource>> open_channel_source() {
  // xenbus may need a moment after boot; retry briefly.
  for (int attempt = 0;; ++attempt) {
    auto source = make_vchan_source();
    if (source.ok() || attempt >= 50) return source;
    ::usleep(100 * 1000);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse_args(argc, argv);
  const bool pid1 = ::getpid() == 1 && !args.no_init;
  if (pid1 && !args.stage2 && running_from_initramfs()) {
    auto switched = switch_to_tmpfs_root("/init", {"/init", "--stage2"});
    // Only returns on failure: go on from the initramfs (crun's pivot_root will fail).
    console_line(2, "switch_root failed: " + switched.error().describe());
  }
  if (pid1) {
    set_up_system();
  } else {
    log::configure(log::Level::kInfo, log::Format::kText);
  }

  auto source = open_channel_source();
  if (!source.ok()) fatal_power_off(source.error().describe());
  AgentOptions options;
  options.crun_binary = args.crun;
  options.agent_version = kVersion;
  AgentHooks hooks;
  hooks.on_listening = [] { console_line(2, "ready"); };
  hooks.power_off = [pid1] {
    if (pid1) {
      ::reboot(RB_POWER_OFF);
    }
    ::_exit(0);
  };
  auto agent = Agent::create(options, std::move(*source), make_system_mount_ops(), hooks);
  if (!agent.ok()) fatal_power_off(agent.error().describe());
  log::info("waiting for the daemon (xenstore data/zoned/idm-request)");
  for (;;) {
    auto ran = (*agent)->run_once(std::chrono::seconds(5));
    if (!ran.ok()) fatal_power_off(ran.error().describe());
  }
}
