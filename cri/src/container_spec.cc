#include "container_spec.h"

#include "zoned/common/file_ops.h"

namespace zoned::cri {

namespace v1 = runtime::v1;

namespace {

// The deprecated string fields (seccomp_profile_path, apparmor_profile) are still what older
// kubelets and crictl send, so they are honoured when the newer SecurityProfile is absent.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

// seccomp: the SecurityProfile when set, else the deprecated path; neither means Unconfined
// (containerd's default, and what critest expects).
Status apply_seccomp(const v1::LinuxContainerSecurityContext& sc, oci::ContainerSpecInput& in) {
  std::string localhost;
  if (sc.has_seccomp()) {
    switch (sc.seccomp().profile_type()) {
      case v1::SecurityProfile::RuntimeDefault: in.seccomp = oci::SeccompMode::kRuntimeDefault; return ok_status();
      case v1::SecurityProfile::Unconfined: in.seccomp = oci::SeccompMode::kUnconfined; return ok_status();
      case v1::SecurityProfile::Localhost: localhost = sc.seccomp().localhost_ref(); break;
      default: return Error(ErrorCode::kInvalidArgument, "seccomp: unknown profile type");
    }
  } else {
    const std::string& path = sc.seccomp_profile_path();
    if (path.empty() || path == "unconfined") {
      in.seccomp = oci::SeccompMode::kUnconfined;
      return ok_status();
    }
    if (path == "runtime/default" || path == "docker/default") {
      in.seccomp = oci::SeccompMode::kRuntimeDefault;
      return ok_status();
    }
    if (path.rfind("localhost/", 0) != 0) {
      return Error(ErrorCode::kInvalidArgument, "seccomp: unknown profile \"" + path + "\"");
    }
    localhost = path.substr(std::string("localhost/").size());
  }
  if (localhost.empty() || localhost.front() != '/') {
    return Error(ErrorCode::kInvalidArgument,
                 "seccomp: a Localhost profile needs an absolute path, got \"" + localhost + "\"");
  }
  auto profile = fs::read_file(localhost, kMaxSeccompProfileBytes);
  if (!profile.ok()) return std::move(profile).take_error().wrap("seccomp: reading the Localhost profile " + localhost);
  in.seccomp = oci::SeccompMode::kLocalhost;
  in.seccomp_localhost_json = std::move(*profile);
  return ok_status();
}

Status apply_security_context(const v1::LinuxContainerSecurityContext& sc, oci::ContainerSpecInput& in) {
  if (sc.has_run_as_user()) in.run_as_user = sc.run_as_user().value();
  if (sc.has_run_as_group()) in.run_as_group = sc.run_as_group().value();
  in.run_as_username = sc.run_as_username();
  in.supplemental_groups.assign(sc.supplemental_groups().begin(), sc.supplemental_groups().end());
  in.add_capabilities.assign(sc.capabilities().add_capabilities().begin(), sc.capabilities().add_capabilities().end());
  in.drop_capabilities.assign(sc.capabilities().drop_capabilities().begin(),
                              sc.capabilities().drop_capabilities().end());
  if (!sc.capabilities().add_ambient_capabilities().empty()) {
    return Error(ErrorCode::kUnimplemented, "capabilities: ambient capabilities are not implemented by zoned");
  }
  in.privileged = sc.privileged();
  in.readonly_rootfs = sc.readonly_rootfs();
  in.no_new_privileges = sc.no_new_privs();
  if (!sc.masked_paths().empty())
    in.masked_paths = std::vector<std::string>(sc.masked_paths().begin(), sc.masked_paths().end());
  if (!sc.readonly_paths().empty()) {
    in.readonly_paths = std::vector<std::string>(sc.readonly_paths().begin(), sc.readonly_paths().end());
  }
  ZONED_TRY(apply_seccomp(sc, in));
  if (sc.has_apparmor() && sc.apparmor().profile_type() == v1::SecurityProfile::Localhost) {
    in.apparmor_profile = sc.apparmor().localhost_ref();
  } else if (!sc.apparmor_profile().empty() && sc.apparmor_profile() != "unconfined") {
    in.apparmor_profile = sc.apparmor_profile();
  }
  const auto& ns = sc.namespace_options();
  if (ns.network() == v1::NODE || ns.pid() == v1::NODE || ns.ipc() == v1::NODE) {
    return Error(ErrorCode::kInvalidArgument,
                 "the container asks to share a namespace of the node: a zone cannot share the node's namespaces");
  }
  if (ns.pid() == v1::TARGET) {
    return Error(ErrorCode::kUnimplemented,
                 "sharing another container's PID namespace (TARGET) is not implemented by zoned");
  }
  in.share_pid_namespace = ns.pid() == v1::POD;
  return ok_status();
}

#pragma GCC diagnostic pop

// Host paths (and devices) would have to come from the node into the zone: not possible yet.
Status check_mounts(const v1::ContainerConfig& c) {
  std::string listed;
  for (const auto& m : c.mounts()) {
    listed += (listed.empty() ? "" : ", ") + m.host_path() + " -> " + m.container_path();
  }
  if (!listed.empty()) {
    return Error(ErrorCode::kInvalidArgument,
                 "mounts from the node cannot be served inside a zone yet (volume support comes later): " + listed);
  }
  std::string devices;
  for (const auto& d : c.devices()) devices += (devices.empty() ? "" : ", ") + d.host_path();
  for (const auto& d : c.cdi_devices()) devices += (devices.empty() ? "" : ", ") + d.name();
  if (!devices.empty()) {
    return Error(ErrorCode::kInvalidArgument, "devices from the node cannot be passed into a zone: " + devices);
  }
  return ok_status();
}

}  // namespace

void apply_resources(const v1::LinuxContainerResources& r, oci::ContainerSpecInput& in) {
  in.resources.cpu_period = r.cpu_period();
  in.resources.cpu_quota = r.cpu_quota();
  in.resources.cpu_shares = r.cpu_shares();
  in.resources.memory_limit_bytes = r.memory_limit_in_bytes();
  in.resources.oom_score_adj = r.oom_score_adj();
  in.resources.cpuset_cpus = r.cpuset_cpus();
  in.resources.cpuset_mems = r.cpuset_mems();
  for (const auto& [k, v] : r.unified()) in.resources.unified[k] = v;
}

Result<zone_runtime::ContainerSpec> translate_container(const v1::ContainerConfig& c, const v1::PodSandboxConfig& pod,
                                                        const std::string& sandbox_id, const std::string& log_path) {
  ZONED_TRY(check_mounts(c));
  zone_runtime::ContainerSpec spec;
  spec.name = c.metadata().name() + "_" + std::to_string(c.metadata().attempt());
  spec.image = c.image().image();
  spec.log_path = log_path;
  for (const auto& [k, v] : c.labels()) spec.labels[k] = v;

  oci::ContainerSpecInput& in = spec.oci;
  in.command.assign(c.command().begin(), c.command().end());
  in.args.assign(c.args().begin(), c.args().end());
  for (const auto& kv : c.envs()) {
    if (kv.key().empty()) return Error(ErrorCode::kInvalidArgument, "an environment variable has an empty name");
    in.env.emplace_back(kv.key(), kv.value());
  }
  in.working_dir = c.working_dir();
  in.tty = c.tty();
  in.stdin = c.stdin();
  spec.stdin_once = c.stdin_once();
  in.hostname = pod.hostname();
  for (const auto& [k, v] : pod.linux().sysctls()) in.sysctls[k] = v;
  for (const auto& [k, v] : c.annotations()) in.annotations[k] = v;
  in.annotations["io.kubernetes.cri.container-type"] = "container";
  in.annotations["io.kubernetes.cri.container-name"] = c.metadata().name();
  in.annotations["io.kubernetes.cri.sandbox-id"] = sandbox_id;
  in.annotations["io.kubernetes.cri.sandbox-name"] = pod.metadata().name();
  in.annotations["io.kubernetes.cri.sandbox-namespace"] = pod.metadata().namespace_();
  in.annotations["io.kubernetes.cri.sandbox-uid"] = pod.metadata().uid();
  in.annotations["io.kubernetes.cri.image-name"] = c.image().image();
  ZONED_TRY(apply_security_context(c.linux().security_context(), in));
  apply_resources(c.linux().resources(), in);
  return spec;
}

}  // namespace zoned::cri
