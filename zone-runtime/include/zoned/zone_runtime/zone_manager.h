// ZoneManager: the zones of this host and the containers in them. It builds a zone (a Xen
// domain booted from the zone assets, with the images it needs as read-only disks), talks to
// its agent over IDM, runs containers in it, writes their output to CRI-format log files,
// persists every zone and container so a restarted daemon finds them again, and tears
// everything down.
//
// Callers: the admin service (zonectl) and, later, the CRI RuntimeService. Thread-safe: every
// method may be called from any thread; calls on different zones run in parallel.
//
// Zone states (persisted in <state_dir>/zones/<id>/zone.json):
//
//   creating --(domain built, agent said hello)--> running --(stop_zone)--> stopping --> stopped
//       |                                            |                                    ^
//       +--(any step failed: all undone)--> failed   +--(guest powered off / crashed)-----+
//                                                       (crash: reason "Crashed" + console tail)
//
// Container states: created --(start)--> running --(exit, or zone gone)--> exited.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "zoned/common/result.h"
#include "zoned/oci/runtime_spec.h"
#include "zoned/zone_runtime/hypervisor.h"

namespace zoned::image_store {
class ImageStore;
}

namespace zoned::zone_runtime {

enum class ZoneState { kCreating, kRunning, kStopping, kStopped, kFailed };
enum class ContainerState { kCreated, kRunning, kExited };

std::string_view zone_state_name(ZoneState state);            // "creating", ...
std::string_view container_state_name(ContainerState state);  // "created", ...

struct ZoneSpec {
  std::string id;                   // 64 lower-case hex chosen by the caller (the CRI sandbox id); empty: random
  std::string name;                 // human name, unique among live zones; default: the id's prefix
  std::optional<DomainType> type;   // default: ZoneManagerOptions::default_type
  uint64_t memory_mib = 0;          // 0: default
  uint32_t vcpus = 0;               // 0: default
  std::string hostname;             // default: name
  std::vector<std::string> images;  // image refs or ids attached at boot (more can follow)
  std::map<std::string, std::string> labels;
  // Pod networking (not persisted). nic_mac: the zone gets one vif with this MAC (empty: no
  // network device); its dom0 end is nic_device_name(domid), left unbridged. on_domain_created
  // runs once the domain exists, before the agent is awaited (the CRI layer wires the vif into
  // the pod's netns there). network_config_json (netplug's ZoneNetworkConfig JSON) is sent to
  // the agent (IDM ConfigureNetwork) right after its hello. A failure of either fails
  // create_zone, and everything is undone.
  std::string nic_mac;
  std::function<Status(uint32_t domid)> on_domain_created;
  std::string network_config_json;
};

struct ZoneDisk {
  std::string image_id;  // "sha256:..."
  std::string vdev;      // "xvdb"
  std::string loop_device;
};

struct ZoneRecord {
  std::string id;  // 64 hex
  ZoneSpec spec;   // with defaults filled in
  DomainType type = DomainType::kPv;
  ZoneState state = ZoneState::kCreating;
  uint32_t domid = 0;       // 0 when there is no domain
  std::string domain_name;  // "zoned-<first 16 hex of id>"
  std::string uuid;
  std::vector<ZoneDisk> disks;
  std::vector<std::string> container_ids;
  int64_t created_at_ns = 0, started_at_ns = 0, finished_at_ns = 0;
  std::string reason;            // CamelCase: why stopped / failed ("PoweredOff", "Crashed", "AgentTimeout", ...)
  std::string message;           // human readable, may quote the console tail
  bool agent_connected = false;  // not persisted
};

struct ContainerSpec {
  std::string name;   // unique in its zone
  std::string image;  // ref or id of a pulled image
  oci::ContainerSpecInput oci;
  std::string log_path;  // CRI-format log file (absolute); empty: <state_dir>/zones/<zone>/containers/<id>.log
  std::map<std::string, std::string> labels;
  // CRI stdin_once: the first attachment that closes stdin closes the container's stdin (not
  // persisted: after a daemon restart attachments no longer close it).
  bool stdin_once = false;
};

struct ContainerRecord {
  std::string id;  // 64 hex
  std::string zone_id;
  ContainerSpec spec;
  std::string image_id;
  ContainerState state = ContainerState::kCreated;
  uint32_t pid = 0;  // in the zone
  int32_t exit_code = 0;
  uint32_t signal = 0;  // killed by this signal (exit_code is then 128 + signal)
  int64_t created_at_ns = 0, started_at_ns = 0, finished_at_ns = 0;
  std::string reason;  // "Completed", "Error", "ZoneStopped", ...
  std::string message;
  std::string log_path;
  uint32_t stream_id = 0;  // of its stdio on the zone's IDM channel
  std::string vdev;        // the zone disk holding its image
};

struct ExecRequest {
  std::string container_id;
  std::vector<std::string> args;
  std::vector<std::string> env;  // "KEY=value"
  std::string cwd;
  std::string user;
  bool tty = false;
  bool stdin = false;
};

struct ExecResult {
  int32_t exit_code = 0;
  uint32_t signal = 0;
  std::string stdout_data, stderr_data;
  bool output_truncated = false;
};

// A running exec with streamed stdio (zonectl exec, and later the streaming server).
class ExecSession {
 public:
  virtual ~ExecSession() = default;
  virtual Status write_stdin(std::string_view data) = 0;
  virtual Status close_stdin() = 0;
  virtual Status resize(uint32_t rows, uint32_t cols) = 0;
  virtual Status signal(uint32_t sig) = 0;
  // Blocks until the process ended and all its output was delivered; nullopt on timeout.
  virtual Result<std::optional<ExecResult>> wait(std::chrono::milliseconds timeout) = 0;
};

// Where an exec's output goes: called in order on an internal thread; `fd` 1 = stdout (or the
// tty), 2 = stderr. Blocking here slows the process down (back-pressure), nothing is lost.
using ExecOutputSink = std::function<void(int fd, std::string_view data)>;

// Attach: a connection to a container's main process stdio (zone_attach.cc). Its stdout and
// stderr (or its tty) go to the sink as well as to the log; stdin needs a container created
// with oci.stdin. Destroying the session detaches; the container keeps running.
struct AttachOptions {
  bool stdin = false;  // write_stdin is allowed
  bool tty = false;    // the caller expects a tty (must match the container's)
};

class AttachSession {
 public:
  virtual ~AttachSession() = default;
  virtual Status write_stdin(std::string_view data) = 0;
  // Ends this attachment's input; the container's stdin is closed only if it was created
  // with stdin_once (as containerd does).
  virtual Status close_stdin() = 0;
  virtual Status resize(uint32_t rows, uint32_t cols) = 0;
  // True once the container exited (all its output delivered), false after `timeout`.
  virtual Result<bool> wait(std::chrono::milliseconds timeout) = 0;
};

// A TCP connection made from inside a zone (zone_port_forward.cc), relayed over IDM with
// bounded windows both ways. read() and write() may run on different threads at once; close()
// from any thread unblocks both.
class PortStream {
 public:
  virtual ~PortStream() = default;
  virtual Result<size_t> read(char* buf, size_t n) = 0;  // 0 at end of stream
  virtual Status write(std::string_view data) = 0;       // blocks while the zone grants no room
  virtual Status close_write() = 0;                      // half-close towards the port
  virtual void close() = 0;
};

struct ZoneStats {
  int64_t timestamp_ns = 0;
  uint64_t memory_total_bytes = 0, memory_available_bytes = 0, cpu_usage_ns = 0;
  struct Container {
    std::string id;
    uint64_t cpu_usage_ns = 0, memory_working_set_bytes = 0;
  };
  std::vector<Container> containers;
};

// Attaches a file as a read-only block device of dom0 (real: a loop device with autoclear).
// The returned handle keeps it attached until released or destroyed.
class AttachedDevice {
 public:
  virtual ~AttachedDevice() = default;
  virtual const std::string& path() const = 0;
  // Stop holding it: it stays attached while someone else (blkback) uses it.
  virtual void release() = 0;
};
using DeviceAttacher = std::function<Result<std::unique_ptr<AttachedDevice>>(const std::string& file)>;

struct ZoneManagerOptions {
  std::string state_dir;  // zones/ lives here
  std::string kernel = "/usr/share/zoned/vmlinux";
  std::string initramfs = "/usr/share/zoned/initramfs.cpio";
  DomainType default_type = DomainType::kPv;
  uint64_t default_memory_mib = 256;
  uint64_t max_memory_mib = 1024;  // domain maximum kept for later growth (clamped >= memory)
  uint32_t default_vcpus = 1;
  uint32_t max_vcpus = 2;
  std::string extra_cmdline;                         // appended to the zone kernel's command line
  std::chrono::milliseconds agent_timeout{60000};    // domain created -> agent hello
  std::chrono::milliseconds request_timeout{30000};  // one IDM request
  size_t console_log_bytes = 256 * 1024;             // console kept per zone (older output dropped)
  std::string agent_log_level = "info";
};

class ZoneManager {
 public:
  // Loads persisted zones and reattaches to the ones whose domains still run (reconnecting
  // IDM, resuming output, collecting exits that happened meanwhile); marks the others stopped.
  static Result<std::unique_ptr<ZoneManager>> open(const ZoneManagerOptions& options, Hypervisor& hypervisor,
                                                   image_store::ImageStore& images, DeviceAttacher attach_device);
  virtual ~ZoneManager() = default;

  // Boots a zone and waits for its agent. On failure nothing is left behind (domain, loop
  // devices, files) and the error says which step failed (with the console tail if it booted).
  virtual Result<ZoneRecord> create_zone(const ZoneSpec& spec) = 0;
  // Stops containers (SIGTERM, `grace`, SIGKILL), powers the zone off, destroys the domain.
  // Idempotent: a stopped zone is fine.
  virtual Status stop_zone(const std::string& zone, std::chrono::seconds grace) = 0;
  // Destroys the domain if it still runs and forgets the zone and its containers.
  virtual Status remove_zone(const std::string& zone) = 0;
  // By id, unique id prefix, or name.
  virtual Result<ZoneRecord> get_zone(const std::string& zone) = 0;
  virtual std::vector<ZoneRecord> list_zones() = 0;
  // The last `max_bytes` of the zone's console (kept after it stopped, until removed).
  virtual Result<std::string> console(const std::string& zone, size_t max_bytes) = 0;
  virtual Result<ZoneStats> stats(const std::string& zone) = 0;

  // Creates a container in a running zone (hot-adding the image's disk if needed).
  virtual Result<ContainerRecord> create_container(const std::string& zone, const ContainerSpec& spec) = 0;
  virtual Status start_container(const std::string& container) = 0;
  // SIGTERM (or the image's stop signal), then SIGKILL after `grace`. Idempotent.
  virtual Status stop_container(const std::string& container, std::chrono::seconds grace) = 0;
  // Removes a container that is not running. Idempotent: an unknown id is not an error.
  virtual Status remove_container(const std::string& container) = 0;
  // By id or unique prefix.
  virtual Result<ContainerRecord> get_container(const std::string& container) = 0;
  virtual std::vector<ContainerRecord> list_containers(const std::string& zone_filter) = 0;
  // Waits until the container exited (returns its record) or `timeout` passed (kDeadlineExceeded).
  virtual Result<ContainerRecord> wait_container(const std::string& container, std::chrono::milliseconds timeout) = 0;
  // Changes the cgroup limits of a created or running container (kFailedPrecondition
  // otherwise): `resources_json` is an OCI LinuxResources object (oci::update_resources_json),
  // applied in the zone by `crun update`.
  virtual Status update_container_resources(const std::string& container, const std::string& resources_json) = 0;
  // Reopens the container's log file at its path (after kubelet renamed it for rotation).
  // FailedPrecondition unless the container is running.
  virtual Status reopen_container_log(const std::string& container) = 0;

  virtual Result<ExecResult> exec_sync(const ExecRequest& request, std::chrono::milliseconds timeout,
                                       size_t max_output_bytes) = 0;
  virtual Result<std::unique_ptr<ExecSession>> exec(const ExecRequest& request, ExecOutputSink sink) = 0;
  // Connects to the stdio of a running container's main process (kFailedPrecondition if it
  // does not run, or stdin is asked of a container created without it).
  virtual Result<std::unique_ptr<AttachSession>> attach(const std::string& container, const AttachOptions& options,
                                                        ExecOutputSink sink) = 0;
  // Connects to 127.0.0.1:`port` inside a running zone (the pod's own localhost): an error
  // (kFailedPrecondition, from the agent) if nothing listens there.
  virtual Result<std::unique_ptr<PortStream>> dial(const std::string& zone, uint16_t port) = 0;

  // True while some zone uses the image (the image store refuses to remove it then).
  virtual bool image_in_use(const std::string& image_id) = 0;
};

}  // namespace zoned::zone_runtime
