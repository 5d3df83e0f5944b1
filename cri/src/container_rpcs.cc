// Containers: CreateContainer, StartContainer, StopContainer, RemoveContainer, ListContainers,
// ContainerStatus, ReopenContainerLog, ExecSync.
#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "container_spec.h"
#include "cri_util.h"
#include "pod_store.h"
#include "zoned/common/fs.h"
#include "zoned/common/log.h"
#include "zoned/common/scope_guard.h"
#include "zoned/cri/rpc.h"
#include "zoned/cri/runtime_service.h"
#include "zoned/image_store/image_store.h"
#include "zoned/oci/runtime_spec.h"

namespace zoned::cri {

namespace v1 = runtime::v1;

namespace {

// Each of stdout and stderr of an ExecSync (kubelet's client accepts 16 MiB messages).
constexpr size_t kMaxExecOutputBytes = 4 * 1024 * 1024;
// "no timeout" (0) still ends some day.
constexpr std::chrono::hours kExecNoTimeout{24};

// <log_directory>/<log_path>, with log_path relative and without "..".
Result<std::string> join_log_path(const std::string& dir, const std::string& path) {
  if (path.empty()) return std::string();
  if (dir.empty() || dir.front() != '/') {
    return Error(ErrorCode::kInvalidArgument,
                 "container log_path \"" + path + "\" needs the pod's log_directory, which is not an absolute path");
  }
  std::string rel = path;
  while (!rel.empty() && rel.front() == '/') rel.erase(0, 1);
  if (rel.empty() || rel.back() == '/')
    return Error(ErrorCode::kInvalidArgument, "container log_path \"" + path + "\" names no file");
  if (rel == ".." || rel.rfind("../", 0) == 0 || rel.find("/../") != std::string::npos ||
      (rel.size() >= 3 && rel.compare(rel.size() - 3, 3, "/..") == 0) || rel.find('\0') != std::string::npos) {
    return Error(ErrorCode::kInvalidArgument, "container log_path \"" + path + "\" leaves the log directory");
  }
  return (dir.back() == '/' ? dir : dir + "/") + rel;
}

v1::ContainerState cri_state(zone_runtime::ContainerState s) {
  switch (s) {
    case zone_runtime::ContainerState::kCreated: return v1::CONTAINER_CREATED;
    case zone_runtime::ContainerState::kRunning: return v1::CONTAINER_RUNNING;
    case zone_runtime::ContainerState::kExited: return v1::CONTAINER_EXITED;
  }
  return v1::CONTAINER_UNKNOWN;
}

Status ignore_not_found(Status s) {
  if (!s.ok() && s.error().code() == ErrorCode::kNotFound) return ok_status();
  return s;
}

}  // namespace

zoned::Status RuntimeService::create_container(const v1::CreateContainerRequest& request, std::string* id) {
  const std::string& sandbox_id = request.pod_sandbox_id();
  if (sandbox_id.empty()) return Error(ErrorCode::kInvalidArgument, "pod sandbox id is empty");
  const v1::ContainerConfig& config = request.config();
  if (!config.has_metadata()) return Error(ErrorCode::kInvalidArgument, "container config has no metadata");
  ZONED_TRY(check_metadata_field("container metadata name", config.metadata().name()));
  if (config.image().image().empty()) return Error(ErrorCode::kInvalidArgument, "container config has no image");
  auto found = store_->sandbox(sandbox_id);
  if (!found) return Error(ErrorCode::kNotFound, "pod sandbox " + sandbox_id + " not found");

  auto mu = pod_lock(found->id);
  std::lock_guard lock(*mu);
  auto pod = store_->sandbox(found->id);
  if (!pod) return Error(ErrorCode::kNotFound, "pod sandbox " + sandbox_id + " not found");
  if (!sandbox_ready(*pod)) {
    return Error(ErrorCode::kFailedPrecondition, "pod sandbox " + pod->id.substr(0, 12) + " is not ready");
  }
  auto log_path = join_log_path(pod->config.log_directory(), config.log_path());
  if (!log_path.ok()) return std::move(log_path).take_error();

  const std::string name = PodStore::container_name(config.metadata(), pod->config.metadata());
  ZONED_TRY(store_->reserve(name, "(a container being created)"));
  ScopeGuard release([&] { store_->release(name); });

  auto spec = translate_container(config, pod->config, pod->id, *log_path);
  if (!spec.ok()) return std::move(spec).take_error().wrap("container " + config.metadata().name());
  if (!log_path->empty()) {
    auto made = fs::make_dirs(log_path->substr(0, log_path->rfind('/')), 0755);
    if (!made.ok()) return std::move(made).take_error().wrap("the container's log directory");
  }
  auto created = zones_.create_container(pod->id, *spec);
  if (!created.ok()) return std::move(created).take_error();

  CriContainerRecord record;
  record.id = created->id;
  record.sandbox_id = pod->id;
  record.config = config;
  record.log_path = created->log_path;
  record.created_at_ns = created->created_at_ns != 0 ? created->created_at_ns : now_unix_ns();
  auto saved = store_->put_container(record);
  if (!saved.ok()) {
    (void)zones_.remove_container(created->id);
    return std::move(saved).take_error().wrap("recording container " + config.metadata().name());
  }
  store_->reassign(name, record.id);
  release.dismiss();
  *id = record.id;
  return ok_status();
}

zoned::Status RuntimeService::remove_container_locked(const CriContainerRecord& record) {
  auto c = zones_.get_container(record.id);
  if (c.ok() && c->state == zone_runtime::ContainerState::kRunning) {
    ZONED_TRY(ignore_not_found(zones_.stop_container(record.id, std::chrono::seconds(0))));
  }
  ZONED_TRY(ignore_not_found(zones_.remove_container(record.id)));
  return store_->remove_container(record.id);
}

std::string RuntimeService::image_ref_of(const std::string& image_id) {
  if (images_ == nullptr || image_id.empty()) return image_id;
  auto image = images_->find(image_id);
  if (!image.ok() || image->repo_digests.empty()) return image_id;
  return image->repo_digests.front();
}

void RuntimeService::fill_container_status(const CriContainerRecord& record, v1::ContainerStatus* s) {
  s->set_id(record.id);
  *s->mutable_metadata() = record.config.metadata();
  s->set_created_at(record.created_at_ns);
  *s->mutable_image() = record.config.image();
  *s->mutable_labels() = record.config.labels();
  *s->mutable_annotations() = record.config.annotations();
  *s->mutable_mounts() = record.config.mounts();
  s->set_log_path(record.log_path);
  if (record.config.linux().has_resources())
    *s->mutable_resources()->mutable_linux() = record.config.linux().resources();
  auto c = zones_.get_container(record.id);
  if (!c.ok()) {
    // The zone was removed behind our back (admin API): the container surely is not running.
    s->set_state(v1::CONTAINER_EXITED);
    s->set_exit_code(255);
    s->set_reason("Unknown");
    s->set_message("the container's zone is gone: " + c.error().describe());
    return;
  }
  s->set_state(cri_state(c->state));
  s->set_started_at(c->started_at_ns);
  s->set_finished_at(c->finished_at_ns);
  if (c->state == zone_runtime::ContainerState::kExited) {
    s->set_exit_code(c->exit_code);
    s->set_reason(!c->reason.empty() ? c->reason : (c->exit_code == 0 ? "Completed" : "Error"));
    s->set_message(c->message);
  }
  s->set_image_id(c->image_id);
  s->set_image_ref(image_ref_of(c->image_id));
}

grpc::Status RuntimeService::CreateContainer(Ctx*, const v1::CreateContainerRequest* request,
                                             v1::CreateContainerResponse* response) {
  return run_rpc("CreateContainer", [&]() -> zoned::Status {
    std::string id;
    ZONED_TRY(create_container(*request, &id));
    response->set_container_id(id);
    return ok_status();
  });
}

grpc::Status RuntimeService::StartContainer(Ctx*, const v1::StartContainerRequest* request,
                                            v1::StartContainerResponse*) {
  return run_rpc("StartContainer", [&]() -> zoned::Status {
    auto record = store_->container(request->container_id());
    if (!record) return Error(ErrorCode::kNotFound, "container " + request->container_id() + " not found");
    auto mu = pod_lock(record->sandbox_id);
    std::lock_guard lock(*mu);
    return zones_.start_container(record->id);
  });
}

grpc::Status RuntimeService::StopContainer(Ctx*, const v1::StopContainerRequest* request, v1::StopContainerResponse*) {
  return run_rpc("StopContainer", [&]() -> zoned::Status {
    auto record = store_->container(request->container_id());
    if (!record) return ok_status();  // idempotent: kubelet retries
    auto mu = pod_lock(record->sandbox_id);
    std::lock_guard lock(*mu);
    // As containerd: only a running container is stopped (a created one stays created).
    auto live = zones_.get_container(record->id);
    if (!live.ok() || live->state != zone_runtime::ContainerState::kRunning) return ok_status();
    auto grace = std::chrono::seconds(std::clamp<int64_t>(request->timeout(), 0, 24 * 3600));
    return ignore_not_found(zones_.stop_container(record->id, grace));
  });
}

grpc::Status RuntimeService::RemoveContainer(Ctx*, const v1::RemoveContainerRequest* request,
                                             v1::RemoveContainerResponse*) {
  return run_rpc("RemoveContainer", [&]() -> zoned::Status {
    auto found = store_->container(request->container_id());
    if (!found) return ok_status();
    auto mu = pod_lock(found->sandbox_id);
    std::lock_guard lock(*mu);
    auto record = store_->container(found->id);
    if (!record) return ok_status();
    return remove_container_locked(*record);
  });
}

grpc::Status RuntimeService::ListContainers(Ctx*, const v1::ListContainersRequest* request,
                                            v1::ListContainersResponse* response) {
  return run_rpc("ListContainers", [&]() -> zoned::Status {
    const auto& filter = request->filter();
    std::map<std::string, zone_runtime::ContainerRecord> live;
    for (auto& c : zones_.list_containers("")) live.emplace(c.id, std::move(c));
    for (const auto& record : store_->containers()) {
      if (!filter.id().empty() && !has_prefix(record.id, filter.id())) continue;
      if (!filter.pod_sandbox_id().empty() && !has_prefix(record.sandbox_id, filter.pod_sandbox_id())) continue;
      if (!labels_match(record.config.labels(), filter.label_selector())) continue;
      auto it = live.find(record.id);
      auto state = it == live.end() ? v1::CONTAINER_EXITED : cri_state(it->second.state);
      if (filter.has_state() && filter.state().state() != state) continue;
      auto* c = response->add_containers();
      c->set_id(record.id);
      c->set_pod_sandbox_id(record.sandbox_id);
      *c->mutable_metadata() = record.config.metadata();
      *c->mutable_image() = record.config.image();
      if (it != live.end()) {
        c->set_image_id(it->second.image_id);
        c->set_image_ref(image_ref_of(it->second.image_id));
      }
      c->set_state(state);
      c->set_created_at(record.created_at_ns);
      *c->mutable_labels() = record.config.labels();
      *c->mutable_annotations() = record.config.annotations();
    }
    return ok_status();
  });
}

grpc::Status RuntimeService::ContainerStatus(Ctx*, const v1::ContainerStatusRequest* request,
                                             v1::ContainerStatusResponse* response) {
  return run_rpc("ContainerStatus", [&]() -> zoned::Status {
    if (request->container_id().empty()) return Error(ErrorCode::kInvalidArgument, "container id is empty");
    auto record = store_->container(request->container_id());
    if (!record) return Error(ErrorCode::kNotFound, "container " + request->container_id() + " not found");
    fill_container_status(*record, response->mutable_status());
    if (request->verbose()) {
      nlohmann::json info = {{"sandboxID", record->sandbox_id}, {"logPath", record->log_path}};
      if (auto c = zones_.get_container(record->id); c.ok()) {
        info["pid"] = c->pid;
        info["zoneName"] = c->spec.name;
        info["signal"] = c->signal;
        info["imageId"] = c->image_id;
      }
      (*response->mutable_info())["info"] = info.dump();
    }
    return ok_status();
  });
}

// As containerd: the new limits replace the old ones (crun update in the zone), and
// ContainerStatus reports them from then on. Windows resources are ignored (a Linux runtime).
grpc::Status RuntimeService::UpdateContainerResources(Ctx*, const v1::UpdateContainerResourcesRequest* request,
                                                      v1::UpdateContainerResourcesResponse*) {
  return run_rpc("UpdateContainerResources", [&]() -> zoned::Status {
    if (request->container_id().empty()) return Error(ErrorCode::kInvalidArgument, "container id is empty");
    auto found = store_->container(request->container_id());
    if (!found) return Error(ErrorCode::kNotFound, "container " + request->container_id() + " not found");
    if (!request->has_linux()) return ok_status();  // nothing asked of a Linux runtime
    oci::ContainerSpecInput in;
    apply_resources(request->linux(), in);
    auto json = oci::update_resources_json(in.resources);
    if (!json.ok()) return std::move(json).take_error();
    auto mu = pod_lock(found->sandbox_id);
    std::lock_guard lock(*mu);
    auto record = store_->container(found->id);
    if (!record) return Error(ErrorCode::kNotFound, "container " + request->container_id() + " not found");
    ZONED_TRY(zones_.update_container_resources(record->id, *json));
    *record->config.mutable_linux()->mutable_resources() = request->linux();
    return store_->put_container(*record);
  });
}

grpc::Status RuntimeService::ReopenContainerLog(Ctx*, const v1::ReopenContainerLogRequest* request,
                                                v1::ReopenContainerLogResponse*) {
  return run_rpc("ReopenContainerLog", [&]() -> zoned::Status {
    auto record = store_->container(request->container_id());
    if (!record) return Error(ErrorCode::kNotFound, "container " + request->container_id() + " not found");
    return zones_.reopen_container_log(record->id);
  });
}

grpc::Status RuntimeService::ExecSync(Ctx*, const v1::ExecSyncRequest* request, v1::ExecSyncResponse* response) {
  return run_rpc("ExecSync", [&]() -> zoned::Status {
    auto record = store_->container(request->container_id());
    if (!record) return Error(ErrorCode::kNotFound, "container " + request->container_id() + " not found");
    if (request->cmd().empty()) return Error(ErrorCode::kInvalidArgument, "exec: the command is empty");
    zone_runtime::ExecRequest exec;
    exec.container_id = record->id;
    exec.args.assign(request->cmd().begin(), request->cmd().end());
    std::chrono::milliseconds timeout = kExecNoTimeout;
    if (request->timeout() > 0) timeout = std::chrono::seconds(std::min<int64_t>(request->timeout(), 24 * 3600));
    // Not under the pod lock: probes run often and long; ZoneManager serialises what it must.
    auto result = zones_.exec_sync(exec, timeout, kMaxExecOutputBytes);
    if (!result.ok()) return std::move(result).take_error();
    response->set_stdout(result->stdout_data);
    response->set_stderr(result->stderr_data);
    response->set_exit_code(result->exit_code);
    return ok_status();
  });
}

}  // namespace zoned::cri
