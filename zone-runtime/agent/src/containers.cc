// Container lifecycle: create (device, image mount, overlay, bundle, crun create), start,
// signal, wait, delete, list, and reporting exits once their output has drained.
#include <fcntl.h>
#include <linux/fs.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "agent_impl.h"
#include "bundle_files.h"
#include "zoned/agent/pod_network.h"
#include "zoned/agent/stats.h"
#include "zoned/common/file_ops.h"
#include "zoned/common/fs.h"
#include "zoned/common/log.h"

namespace zoned::agent {

using idm::v1::ContainerState;

namespace {

// A hot-added disk's node can appear before blkfront has connected it: opening it then fails
// with ENXIO, or it has no size yet. Anything that is not a block device counts as ready.
bool block_device_ready(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd.valid()) return errno != ENXIO && errno != ENODEV && errno != ENOMEDIUM;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISBLK(st.st_mode)) return true;
  std::uint64_t bytes = 0;
  return ::ioctl(fd.get(), BLKGETSIZE64, &bytes) == 0 && bytes > 0;
}

const char* phase_name(Phase phase) {
  switch (phase) {
    case Phase::kWaitingDevice: return "waiting for its device";
    case Phase::kCreating: return "being created";
    case Phase::kCreated: return "created";
    case Phase::kStarting: return "starting";
    case Phase::kRunning: return "running";
    case Phase::kDeleting: return "being deleted";
  }
  return "unknown";
}

Error not_found(const std::string& id) {
  return Error(ErrorCode::kNotFound, "container " + id + " not found");
}

}  // namespace

Container* AgentImpl::find_container(const std::string& id) {
  auto it = containers_.find(id);
  return it == containers_.end() ? nullptr : it->second.get();
}

std::vector<std::string> AgentImpl::crun_argv(std::vector<std::string> command) const {
  std::vector<std::string> argv{options_.crun_binary, "--root", options_.crun_root};
  argv.insert(argv.end(), std::make_move_iterator(command.begin()), std::make_move_iterator(command.end()));
  return argv;
}

void AgentImpl::create_container(const ReplyTo& to, const idm::v1::CreateContainer& request) {
  const std::string& id = request.container_id();
  if (!is_safe_path_component(id) || !is_safe_path_component(request.rootfs_device())) {
    reply_error(to, Error(ErrorCode::kInvalidArgument, "container id or rootfs device is not a plain name"));
    return;
  }
  if (containers_.count(id) != 0) {
    reply_error(to, Error(ErrorCode::kAlreadyExists, "container " + id + " already exists"));
    return;
  }
  if (request.stream_id() == 0 || stream_in_use(request.stream_id())) {
    reply_error(to, Error(ErrorCode::kAlreadyExists, "stream " + std::to_string(request.stream_id()) + " is in use"));
    return;
  }
  auto c = std::make_unique<Container>();
  c->id = id;
  c->stream_id = request.stream_id();
  c->device = request.rootfs_device();
  c->want_stdin = request.stdin();
  c->username = request.username();
  c->groupname = request.groupname();
  c->daemon_config = request.oci_config_json();
  c->device_deadline = Clock::now() + options_.device_wait;
  c->created_ns = unix_now_ns();
  c->pending = to;
  Container& ref = *c;
  containers_[id] = std::move(c);
  log::info("creating container", {{"container", id}, {"device", ref.device}});
  continue_create(ref);
}

// Waits (called every round) for the device, then prepares the bundle and runs crun create.
void AgentImpl::continue_create(Container& c) {
  if (c.phase != Phase::kWaitingDevice) return;
  const std::string path = options_.dev_dir + "/" + c.device;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (Clock::now() >= c.device_deadline) {
      fail_create(c.id, Error(ErrorCode::kNotFound, "device " + path + " did not appear within " +
                                                        std::to_string(options_.device_wait.count()) + " ms"));
    }
    return;
  }
  if (!block_device_ready(path)) {
    if (Clock::now() >= c.device_deadline) {
      fail_create(c.id, Error(ErrorCode::kFailedPrecondition,
                              "device " + path + " appeared but was not ready (no media) within " +
                                  std::to_string(options_.device_wait.count()) + " ms"));
    }
    return;
  }
  c.phase = Phase::kCreating;
  auto prepared = prepare_bundle(c);
  if (!prepared.ok()) fail_create(c.id, prepared.error().wrap("creating container " + c.id));
}

Status AgentImpl::prepare_bundle(Container& c) {
  c.bundle = options_.state_dir + "/containers/" + c.id;
  c.rootfs = c.bundle + "/rootfs";
  for (const char* sub : {"/upper", "/work", "/rootfs"}) ZONED_TRY(fs::make_dirs(c.bundle + sub, 0700));
  ZONED_TRY(acquire_image(c.device));
  c.image_acquired = true;
  // The overlay's root directory takes the upper directory's owner and mode: give it the image
  // root's (a 0700 root-owned "/" left every non-root user unable to run anything: exit 127).
  struct stat image_root {};
  const std::string image_dir = options_.state_dir + "/images/" + c.device;
  if (::stat(image_dir.c_str(), &image_root) != 0) return sys_error("stat " + image_dir);
  const std::string upper = c.bundle + "/upper";
  if (::chown(upper.c_str(), image_root.st_uid, image_root.st_gid) != 0) return sys_error("chown " + upper);
  if (::chmod(upper.c_str(), image_root.st_mode & 07777) != 0) return sys_error("chmod " + upper);
  ZONED_TRY(mounts_->mount_overlay(options_.state_dir + "/images/" + c.device, c.bundle + "/upper", c.bundle + "/work",
                                   c.rootfs));
  c.overlay_mounted = true;
  auto spec = make_container_spec(c.daemon_config, c.rootfs, "/zoned/" + c.id, c.username, c.groupname);
  if (!spec.ok()) return std::move(spec).take_error();
  c.spec = std::move(*spec);
  c.daemon_config.clear();
  // The pod's sysctls: the zone's network and IPC namespaces are the pod's (every container shares them).
  for (const auto& [path, value] : c.spec.zone_sysctls) {
    const std::string file = options_.proc_dir + "/sys/" + path;
    UniqueFd fd(::open(file.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW));
    if (!fd.valid()) return sys_error("setting sysctl " + path + ": opening " + file);
    auto written = fs::write_all(fd.get(), value.data(), value.size());
    if (!written.ok()) return std::move(written).take_error().wrap("setting sysctl " + path);
  }
  if (!network_config_json_.empty()) {  // the pod's /etc/{resolv.conf,hosts,hostname}
    auto with_mounts = add_pod_file_mounts(c.spec.config_json, pod_dir());
    if (!with_mounts.ok()) return std::move(with_mounts).take_error();
    c.spec.config_json = std::move(*with_mounts);
  }
  ZONED_TRY(write_bundle_file(c.bundle + "/config.json", c.spec.config_json));

  ChildStdio child;
  std::vector<std::string> command{
      "--log=" + c.bundle + "/crun.log", "create", "--bundle", c.bundle, "--pid-file", c.bundle + "/pid"};
  if (c.spec.terminal) {
    auto socket_path = listen_console(c.proc);
    if (!socket_path.ok()) return std::move(socket_path).take_error();
    command.insert(command.end(), {"--console-socket", *socket_path});
  } else {
    auto stream = StdioStream::with_pipes(c.stream_id, c.want_stdin, options_.stdin_buffer_limit, child);
    if (!stream.ok()) return std::move(stream).take_error();
    c.proc.stream = std::move(*stream);
  }
  command.push_back(c.id);
  SpawnRequest spawn{crun_argv(std::move(command)), child.in.get(), child.out.get(), child.err.get()};
  const std::string id = c.id;
  auto pid = runner_.start(std::move(spawn), options_.crun_timeout, c.bundle + "/crun.log",
                           [this, id](CommandResult result) { on_created(id, result); });
  if (!pid.ok()) return std::move(pid).take_error();
  return ok_status();  // `child` closes the agent's copies of the child's ends
}

void AgentImpl::on_created(const std::string& id, const CommandResult& result) {
  Container* c = find_container(id);
  if (!c || c->phase != Phase::kCreating) return;
  if (!result.ok()) {
    crun_cleanup(id);
    fail_create(id, Error(ErrorCode::kInternal, result.describe("crun create " + id)));
    return;
  }
  auto pid = read_pid_file(c->bundle + "/pid");
  Status attached = pid.ok() ? ok_status() : Status(pid.error());
  if (attached.ok() && c->spec.terminal) attached = attach_tty(c->proc, c->stream_id, c->want_stdin);
  if (!attached.ok()) {
    crun_cleanup(id);
    fail_create(id, attached.error().wrap("container " + id));
    return;
  }
  c->proc.pid = *pid;
  reaper_.watch(*pid, [this, id](ExitStatus status) { on_container_exit(id, status); });
  c->phase = Phase::kCreated;
  log::info("container created", {{"container", id}, {"pid", *pid}});
  reply_ack(c->pending);
}

void AgentImpl::crun_cleanup(const std::string& id) {
  auto started = runner_.start(SpawnRequest{crun_argv({"delete", "-f", id})}, options_.crun_timeout, "", nullptr);
  if (!started.ok()) log::warn("cannot run crun delete", {{"container", id}, {"error", started.error().describe()}});
}

void AgentImpl::fail_create(const std::string& id, const Error& error) {
  Container* c = find_container(id);
  if (!c) return;
  undo_bundle(*c);
  const ReplyTo to = c->pending;
  containers_.erase(id);
  reply_error(to, error);
}

void AgentImpl::undo_bundle(Container& c) {
  if (c.proc.pid > 0 && !c.proc.exited) reaper_.forget(c.proc.pid);
  c.proc.stream.reset();
  close_console(c.proc);
  if (c.overlay_mounted) {
    auto unmounted = mounts_->unmount(c.rootfs);
    if (!unmounted.ok()) log::warn("cannot unmount a container root", {{"error", unmounted.error().describe()}});
    c.overlay_mounted = false;
  }
  if (c.image_acquired) {
    release_image(c.device);
    c.image_acquired = false;
  }
  if (!c.bundle.empty()) {
    auto removed = fs::remove_tree(c.bundle);
    if (!removed.ok()) log::warn("cannot remove a bundle", {{"error", removed.error().describe()}});
  }
}

void AgentImpl::start_container(const ReplyTo& to, const std::string& id) {
  Container* c = find_container(id);
  if (!c) return reply_error(to, not_found(id));
  if (c->phase != Phase::kCreated || c->proc.exited) {
    return reply_error(
        to, Error(ErrorCode::kFailedPrecondition,
                  "container " + id + " is " + (c->proc.exited ? "exited" : phase_name(c->phase)) + ", not created"));
  }
  auto pid = runner_.start(SpawnRequest{crun_argv({"start", id})}, options_.crun_timeout, "",
                           [this, id](CommandResult result) { on_started(id, result); });
  if (!pid.ok()) return reply_error(to, pid.error().wrap("starting container " + id));
  c->phase = Phase::kStarting;
  c->pending = to;
  c->started_ns = unix_now_ns();
}

void AgentImpl::on_started(const std::string& id, const CommandResult& result) {
  Container* c = find_container(id);
  if (!c || c->phase != Phase::kStarting) return;
  if (!result.ok()) {
    c->phase = Phase::kCreated;
    c->started_ns = 0;
    reply_error(c->pending, Error(ErrorCode::kInternal, result.describe("crun start " + id)));
    return;
  }
  c->phase = Phase::kRunning;
  log::info("container started", {{"container", id}, {"pid", c->proc.pid}});
  reply_ack(c->pending);
  idm::v1::Event body;
  auto* started = body.mutable_container_started();
  started->set_container_id(id);
  started->set_pid(static_cast<std::uint32_t>(c->proc.pid));
  started->set_started_at_unix_ns(c->started_ns);
  event(std::move(body));
}

// `crun update --resources`: the daemon sends an OCI LinuxResources object; crun writes the
// container's cgroup files. One file per container is enough: the daemon sends a container's
// updates one at a time (the zone's operation lock is held until the answer).
void AgentImpl::update_container(const ReplyTo& to, const idm::v1::UpdateContainer& request) {
  Container* c = find_container(request.container_id());
  if (!c) return reply_error(to, not_found(request.container_id()));
  if ((c->phase != Phase::kCreated && c->phase != Phase::kRunning) || c->proc.exited) {
    return reply_error(to, Error(ErrorCode::kFailedPrecondition,
                                 "container " + c->id + " is " + (c->proc.exited ? "exited" : phase_name(c->phase)) +
                                     ", not created or running"));
  }
  auto resources = nlohmann::json::parse(request.resources_json(), nullptr, false);
  if (resources.is_discarded() || !resources.is_object()) {
    return reply_error(to,
                       Error(ErrorCode::kInvalidArgument, "resources of container " + c->id + ": not a JSON object"));
  }
  const std::string file = c->bundle + "/resources-update.json";
  auto written = write_bundle_file(file, resources.dump());
  if (!written.ok()) return reply_error(to, written.error().wrap("updating container " + c->id));
  const std::string id = c->id;
  auto pid = runner_.start(SpawnRequest{crun_argv({"update", "--resources=" + file, id})}, options_.crun_timeout, "",
                           [this, to, id](CommandResult result) {
                             if (!result.ok()) {
                               reply_error(to, Error(ErrorCode::kInternal, result.describe("crun update " + id)));
                               return;
                             }
                             log::info("container resources updated", {{"container", id}});
                             reply_ack(to);
                           });
  if (!pid.ok()) return reply_error(to, pid.error().wrap("updating container " + id));
}

void AgentImpl::signal_container(const ReplyTo& to, const idm::v1::SignalContainer& request) {
  Container* c = find_container(request.container_id());
  if (!c) return reply_error(to, not_found(request.container_id()));
  if (c->phase == Phase::kWaitingDevice || c->phase == Phase::kCreating) {
    return reply_error(to, Error(ErrorCode::kFailedPrecondition, "container " + c->id + " is " + phase_name(c->phase)));
  }
  if (c->proc.pid > 0 && !c->proc.exited) {
    if (::kill(c->proc.pid, static_cast<int>(request.signal())) != 0 && errno != ESRCH) {
      return reply_error(to, sys_error("signalling container " + c->id));
    }
  }
  reply_ack(to);  // an exited container has nothing left to signal
}

idm::v1::ContainerExited AgentImpl::exit_message(const Container& c) const {
  idm::v1::ContainerExited exited;
  exited.set_container_id(c.id);
  exited.set_exit_code(c.proc.exit.exit_code);
  exited.set_signal(static_cast<std::uint32_t>(c.proc.exit.signal));
  exited.set_started_at_unix_ns(c.started_ns);
  exited.set_finished_at_unix_ns(c.proc.finished_ns);
  exited.set_oom_killed(c.oom_killed);
  return exited;
}

void AgentImpl::wait_container(const ReplyTo& to, const std::string& id) {
  Container* c = find_container(id);
  if (!c) return reply_error(to, not_found(id));
  if (c->exit_reported) {
    idm::v1::Response response;
    *response.mutable_container_exited() = exit_message(*c);
    return reply(to, std::move(response));
  }
  c->waiters.push_back(to);
}

void AgentImpl::on_container_exit(const std::string& id, ExitStatus status) {
  Container* c = find_container(id);
  if (!c) return;
  c->proc.exited = true;
  c->proc.exit = status;
  c->proc.finished_ns = unix_now_ns();
  // The cgroup lives until crun delete; its counter says whether the OOM killer struck.
  c->oom_killed = cgroup_oom_killed(options_.cgroup_root + "/zoned/" + id);
  c->proc.drain_deadline = Clock::now() + options_.drain_idle;
  if (c->proc.stream) c->proc.stream->close_stdin();
  log::info("container process exited", {{"container", id}, {"status", status.describe()}});
}

// Reports exits whose output has drained: ContainerExited, then the waiters' answers.
void AgentImpl::finish_containers() {
  for (auto& [id, c] : containers_) {
    if (!c->proc.exited || c->exit_reported) continue;
    if (c->phase != Phase::kCreated && c->phase != Phase::kRunning) continue;
    if (c->proc.stream && !c->proc.stream->output_done()) continue;
    c->exit_reported = true;
    c->proc.stream.reset();
    close_console(c->proc);
    idm::v1::Event body;
    *body.mutable_container_exited() = exit_message(*c);
    event(std::move(body));
    for (const auto& waiter : c->waiters) {
      idm::v1::Response response;
      *response.mutable_container_exited() = exit_message(*c);
      reply(waiter, std::move(response));
    }
    c->waiters.clear();
  }
}

void AgentImpl::delete_container(const ReplyTo& to, const std::string& id) {
  Container* c = find_container(id);
  if (!c) return reply_error(to, not_found(id));
  const bool deletable = c->phase == Phase::kCreated || (c->phase == Phase::kRunning && c->exit_reported);
  if (!deletable) {
    const std::string state = c->phase == Phase::kRunning ? "running; signal and wait first" : phase_name(c->phase);
    return reply_error(to, Error(ErrorCode::kFailedPrecondition, "container " + id + " is " + state));
  }
  auto pid = runner_.start(SpawnRequest{crun_argv({"delete", "-f", id})}, options_.crun_timeout, "",
                           [this, id](CommandResult result) { on_deleted(id, result); });
  if (!pid.ok()) return reply_error(to, pid.error().wrap("deleting container " + id));
  c->phase = Phase::kDeleting;
  c->pending = to;
}

void AgentImpl::on_deleted(const std::string& id, const CommandResult& result) {
  Container* c = find_container(id);
  if (!c || c->phase != Phase::kDeleting) return;
  if (result.timed_out) {
    c->phase = c->exit_reported ? Phase::kRunning : Phase::kCreated;
    return reply_error(c->pending, Error(ErrorCode::kInternal, result.describe("crun delete " + id)));
  }
  if (!result.ok())
    log::warn("crun delete failed; removing the container anyway", {{"error", result.describe("crun delete")}});
  for (const auto& waiter : c->waiters)
    reply_error(waiter, Error(ErrorCode::kNotFound, "container " + id + " was deleted"));
  undo_bundle(*c);
  const ReplyTo to = c->pending;
  containers_.erase(id);
  log::info("container deleted", {{"container", id}});
  reply_ack(to);
}

void AgentImpl::list_containers(const ReplyTo& to) {
  idm::v1::Response response;
  auto* list = response.mutable_container_list();
  for (const auto& [id, c] : containers_) {
    if (c->phase == Phase::kWaitingDevice || c->phase == Phase::kCreating) continue;
    auto* state = list->add_containers();
    state->set_container_id(id);
    state->set_stream_id(c->stream_id);
    state->set_created_at_unix_ns(c->created_ns);
    state->set_started_at_unix_ns(c->started_ns);
    if (c->exit_reported) {
      state->set_status(ContainerState::STATUS_EXITED);
      *state->mutable_exit() = exit_message(*c);
    } else if (c->phase == Phase::kCreated) {
      state->set_status(ContainerState::STATUS_CREATED);
    } else {
      state->set_status(ContainerState::STATUS_RUNNING);  // running, or its output still draining
    }
    if (!c->proc.exited && c->phase != Phase::kCreated) state->set_pid(static_cast<std::uint32_t>(c->proc.pid));
  }
  reply(to, std::move(response));
}

Status AgentImpl::acquire_image(const std::string& device) {
  int& users = image_users_[device];
  if (users > 0) {
    ++users;
    return ok_status();
  }
  const std::string target = options_.state_dir + "/images/" + device;
  auto prepared = fs::make_dirs(target, 0700);
  auto mounted = prepared.ok() ? mounts_->mount_image(options_.dev_dir + "/" + device, target) : prepared;
  if (!mounted.ok()) {
    image_users_.erase(device);
    ::rmdir(target.c_str());
    return mounted;
  }
  users = 1;
  log::info("image mounted", {{"device", device}});
  return ok_status();
}

void AgentImpl::release_image(const std::string& device) {
  auto it = image_users_.find(device);
  if (it == image_users_.end()) return;
  if (--it->second > 0) return;
  image_users_.erase(it);
  const std::string target = options_.state_dir + "/images/" + device;
  auto unmounted = mounts_->unmount(target);
  if (!unmounted.ok()) {
    log::warn("cannot unmount an image", {{"device", device}, {"error", unmounted.error().describe()}});
    return;
  }
  ::rmdir(target.c_str());
  log::info("image unmounted", {{"device", device}});
}

}  // namespace zoned::agent
