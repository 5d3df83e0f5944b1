// PodStore: what CRI needs to know about pod sandboxes and containers that ZoneManager does
// not keep (metadata, labels, annotations, log directory, runtime handler, DNS, port
// mappings, the pod's Linux options: the whole CRI config as kubelet sent it), persisted as one
// JSON file per object under <state_dir>/cri/ (written to a temporary file, fsynced, renamed).
//
// A sandbox is a zone (sandbox id = zone id); a container is a ZoneManager container (same id).
// Names are reserved like containerd does: "<name>_<namespace>_<uid>_<attempt>" for a sandbox,
// "<name>_<pod name>_<namespace>_<uid>_<attempt>" for a container; a second object with the same
// name is refused with AlreadyExists naming the holder.
//
// Thread-safe; every method is short (no ZoneManager calls), so callers take their per-pod lock
// first and this one inside.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "api.pb.h"
#include "zoned/common/result.h"

namespace zoned::cri {

struct SandboxRecord {
  std::string id;
  runtime::v1::PodSandboxConfig config;
  std::string runtime_handler;  // as resolved (never empty)
  int64_t created_at_ns = 0;
  bool ready = true;  // SANDBOX_READY until StopPodSandbox (or its zone is gone)
};

struct CriContainerRecord {
  std::string id;
  std::string sandbox_id;
  runtime::v1::ContainerConfig config;
  std::string log_path;  // absolute (sandbox log_directory joined with config.log_path); may be empty
  int64_t created_at_ns = 0;
};

class PodStore {
 public:
  // Loads every record under `dir` (created if missing). Unreadable records are logged and
  // skipped, never fatal: the daemon must start.
  static Result<std::unique_ptr<PodStore>> open(const std::string& dir);

  static std::string sandbox_name(const runtime::v1::PodSandboxMetadata& m);
  static std::string container_name(const runtime::v1::ContainerMetadata& m, const runtime::v1::PodSandboxMetadata& pod);

  // Reserves `name` for `holder` (an id, or a placeholder while the id is not known yet).
  Status reserve(const std::string& name, const std::string& holder);
  void reassign(const std::string& name, const std::string& holder);
  void release(const std::string& name);

  Status put_sandbox(const SandboxRecord& record);
  Status remove_sandbox(const std::string& id);
  // By id or unique id prefix; nullopt when none (or the prefix is ambiguous).
  std::optional<SandboxRecord> sandbox(const std::string& id_or_prefix);
  std::vector<SandboxRecord> sandboxes();

  Status put_container(const CriContainerRecord& record);
  Status remove_container(const std::string& id);
  std::optional<CriContainerRecord> container(const std::string& id_or_prefix);
  std::vector<CriContainerRecord> containers(const std::string& sandbox_id = "");

  Status set_pod_cidr(const std::string& cidr);
  std::string pod_cidr();

 private:
  explicit PodStore(std::string dir) : dir_(std::move(dir)) {}
  Status load();
  Status write_json(const std::string& path, const std::string& text);
  template <typename Map>
  static typename Map::mapped_type* find_locked(Map& map, const std::string& key);

  std::string dir_;
  std::mutex mu_;
  std::map<std::string, SandboxRecord> sandboxes_;
  std::map<std::string, CriContainerRecord> containers_;
  std::map<std::string, std::string> names_;  // reserved name -> holder
  std::string pod_cidr_;
};

}  // namespace zoned::cri
