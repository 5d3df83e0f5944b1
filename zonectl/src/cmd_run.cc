// zonectl run: a zone with the image, one container in it, its output, its exit code.
//
// Steps: CreateZone (the image attached at boot) -> CreateContainer -> StartContainer ->
// ContainerLogs (follow) printed as it comes -> WaitContainer -> with --rm, the zone is destroyed.
// A failure after the zone exists destroys the zone again. Ctrl-C while the zone boots
// destroys it once it is up; Ctrl-C while the container runs stops it (SIGTERM, 10 s grace) and
// exits 130 after the usual cleanup. A second Ctrl-C exits at once.
#include <unistd.h>

#include <atomic>
#include <mutex>

#include "command.h"
#include "log_stream.h"
#include "terminal.h"

namespace zoned::zonectl {
namespace {

constexpr int kExitInterrupted = 130;
constexpr int64_t kInterruptGraceSeconds = 10;

// What Ctrl-C may cancel, shared with the signal thread.
class Interrupts {
 public:
  void interrupt() {
    std::lock_guard lock(mutex_);
    if (interrupted_) ::_exit(kExitInterrupted);
    interrupted_ = true;
    if (cancellable_ != nullptr) cancellable_->TryCancel();
  }
  bool interrupted() {
    std::lock_guard lock(mutex_);
    return interrupted_;
  }
  void set_cancellable(grpc::ClientContext* cc) {
    std::lock_guard lock(mutex_);
    cancellable_ = cc;
    if (cc != nullptr && interrupted_) cc->TryCancel();
  }

 private:
  std::mutex mutex_;
  bool interrupted_ = false;
  grpc::ClientContext* cancellable_ = nullptr;
};

struct RunOptions {
  v1::ZoneSpec zone;
  v1::ContainerSpec container;
  bool remove = false;
  bool detach = false;
};

std::variant<RunOptions, UsageError> run_options(const ParsedArgs& args) {
  RunOptions o;
  std::string name = args.value("name").value_or("");
  o.zone.set_name(name);
  o.zone.set_type(args.value("type").value_or(""));
  if (!o.zone.type().empty() && o.zone.type() != "pv" && o.zone.type() != "pvh") {
    return UsageError{"--type must be pv or pvh, got '" + o.zone.type() + "'"};
  }
  if (auto memory = args.value("memory")) {
    auto parsed = parse_number("--memory", *memory, 64, 1024 * 1024);
    if (auto* error = std::get_if<UsageError>(&parsed)) return *error;
    o.zone.set_memory_mib(std::get<uint64_t>(parsed));
  }
  if (auto vcpus = args.value("vcpus")) {
    auto parsed = parse_number("--vcpus", *vcpus, 1, 64);
    if (auto* error = std::get_if<UsageError>(&parsed)) return *error;
    o.zone.set_vcpus(static_cast<uint32_t>(std::get<uint64_t>(parsed)));
  }
  const std::string& image = args.positional[0];
  o.zone.add_images(image);
  o.container.set_name(name);
  o.container.set_image(image);
  if (auto entrypoint = args.value("entrypoint")) o.container.add_command(*entrypoint);
  for (size_t i = 1; i < args.positional.size(); ++i) o.container.add_args(args.positional[i]);
  for (const auto& env : args.all("env")) {
    if (env.find('=') == std::string::npos || env[0] == '=')
      return UsageError{"--env needs KEY=VALUE, got '" + env + "'"};
    o.container.add_env(env);
  }
  o.container.set_user(args.value("user").value_or(""));
  o.container.set_working_dir(args.value("workdir").value_or(""));
  o.container.set_tty(args.flag("tty"));
  o.container.set_privileged(args.flag("privileged"));
  o.remove = args.flag("rm");
  o.detach = args.flag("detach");
  if (o.remove && o.detach) return UsageError{"--rm and --detach cannot be used together"};
  return o;
}

void destroy_zone(const Context& ctx, const std::string& zone_id) {
  {
    grpc::ClientContext cc;
    v1::StopZoneRequest request;
    request.set_zone(zone_id);
    v1::StopZoneResponse response;
    ctx.client.stub().StopZone(&cc, request, &response);
  }
  grpc::ClientContext cc;
  v1::RemoveZoneRequest request;
  request.set_zone(zone_id);
  v1::RemoveZoneResponse response;
  auto status = ctx.client.stub().RemoveZone(&cc, request, &response);
  if (!status.ok()) ctx.fail("could not remove zone " + zone_id + ": " + ctx.client.describe(status));
}

grpc::Status start_container(const Context& ctx, const std::string& zone_id, const v1::ContainerSpec& spec,
                             v1::Container* out) {
  grpc::ClientContext create_cc;
  v1::CreateContainerRequest create;
  create.set_zone(zone_id);
  *create.mutable_spec() = spec;
  v1::CreateContainerResponse created;
  auto status = ctx.client.stub().CreateContainer(&create_cc, create, &created);
  if (!status.ok()) return status;
  *out = created.container();
  grpc::ClientContext start_cc;
  v1::StartContainerRequest start;
  start.set_container(out->id());
  v1::StartContainerResponse started;
  return ctx.client.stub().StartContainer(&start_cc, start, &started);
}

void stop_container(const Context& ctx, const std::string& id) {
  grpc::ClientContext cc;
  v1::StopContainerRequest request;
  request.set_container(id);
  request.set_grace_seconds(kInterruptGraceSeconds);
  v1::StopContainerResponse response;
  auto status = ctx.client.stub().StopContainer(&cc, request, &response);
  if (!status.ok()) ctx.fail("could not stop container " + id + ": " + ctx.client.describe(status));
}

// Prints (or collects) the container's output until it exits, and returns its final record.
std::optional<v1::Container> attach_output(const Context& ctx, Interrupts& interrupts, const v1::Container& container,
                                           LogCollector& collected) {
  {
    grpc::ClientContext cc;
    interrupts.set_cancellable(&cc);
    auto status = stream_logs(ctx.client, cc, container.id(), 0, true, [&](const LogRecord& record) {
      if (ctx.json) {
        collected.add(record);
      } else {
        print_record(record);
      }
    });
    interrupts.set_cancellable(nullptr);
    if (!status.ok() && !interrupts.interrupted()) {
      ctx.fail(status);
      return std::nullopt;
    }
  }
  if (interrupts.interrupted()) stop_container(ctx, container.id());
  grpc::ClientContext cc;
  v1::WaitContainerRequest request;
  request.set_container(container.id());
  v1::WaitContainerResponse response;
  auto status = ctx.client.stub().WaitContainer(&cc, request, &response);
  if (!status.ok()) {
    ctx.fail(status);
    return std::nullopt;
  }
  return response.container();
}

int run_run(Context& ctx, const ParsedArgs& args) {
  auto parsed = run_options(args);
  if (auto* error = std::get_if<UsageError>(&parsed)) return ctx.usage("run", error->message);
  const RunOptions& options = std::get<RunOptions>(parsed);
  if (args.flag("interactive")) {
    return ctx.fail(
        "run -i is not supported yet: the daemon cannot attach to a container's stdin; "
        "use 'zonectl run -d IMAGE sleep ...' and 'zonectl exec -i'");
  }
  Interrupts interrupts;
  SignalScope scope([&interrupts](int) { interrupts.interrupt(); });

  grpc::ClientContext create_cc;
  v1::CreateZoneRequest create;
  *create.mutable_spec() = options.zone;
  v1::CreateZoneResponse created;
  auto status = ctx.client.stub().CreateZone(&create_cc, create, &created);
  if (!status.ok()) return ctx.fail(status);
  const std::string zone_id = created.zone().id();
  if (interrupts.interrupted()) {
    destroy_zone(ctx, zone_id);
    return kExitInterrupted;
  }

  v1::Container container;
  status = start_container(ctx, zone_id, options.container, &container);
  if (!status.ok()) {
    int code = ctx.fail(status);
    destroy_zone(ctx, zone_id);
    return code;
  }
  if (options.detach) {
    if (ctx.json) {
      ctx.print_json({{"zone_id", zone_id}, {"container_id", container.id()}});
    } else {
      ctx.print(container.id() + "\n");
    }
    return kExitOk;
  }

  LogCollector collected;
  auto final_record = attach_output(ctx, interrupts, container, collected);
  if (options.remove) destroy_zone(ctx, zone_id);
  if (!final_record) return kExitError;
  if (ctx.json) {
    ctx.print_json({{"zone_id", zone_id},
                    {"container_id", container.id()},
                    {"exit_code", final_record->exit_code()},
                    {"signal", final_record->signal()},
                    {"reason", final_record->reason()},
                    {"stdout", collected.text(1)},
                    {"stderr", collected.text(2)}});
  }
  if (interrupts.interrupted()) return kExitInterrupted;
  return exit_status(final_record->exit_code());
}

}  // namespace

Command run_command() {
  return {{"run",
           "[OPTIONS] IMAGE [COMMAND [ARG...]]",
           "Create a zone with IMAGE, run one container of it, print its output and exit with its exit code.",
           "COMMAND and ARGs replace the image's cmd (like docker run); --entrypoint replaces its entrypoint.\n"
           "The zone stays (stopped containers and all) unless --rm is given; 'zonectl destroy' removes it.\n"
           "Options must come before IMAGE. With --json the output is collected and printed at the end as\n"
           "{zone_id, container_id, exit_code, signal, reason, stdout, stderr}.",
           {{"name", 0, "NAME", "Name of the zone and the container (default: from the id)"},
            {"type", 0, "pv|pvh", "Zone type (default: the daemon's [zones] type)"},
            {"memory", 'm', "MiB", "Zone memory (default: the daemon's)"},
            {"vcpus", 0, "N", "Zone vCPUs (default: the daemon's)"},
            {"env", 'e', "KEY=VALUE", "Set an environment variable (repeatable)", true},
            {"user", 'u', "USER", "uid, uid:gid, name or name:gid (default: the image's)"},
            {"workdir", 'w', "DIR", "Working directory (default: the image's)"},
            {"entrypoint", 0, "CMD", "Replace the image's entrypoint"},
            {"tty", 't', "", "Give the container a terminal (its output then comes as one stream)"},
            {"privileged", 0, "", "Privileged inside the zone only: all capabilities, no seccomp, /sys writable"},
            {"interactive", 'i', "", "Forward stdin (not supported yet: use exec -i)"},
            {"rm", 0, "", "Destroy the zone when the container has exited"},
            {"detach", 'd', "", "Start the container, print its id and return"}},
           1,
           std::numeric_limits<size_t>::max(),
           false},
          run_run};
}

}  // namespace zoned::zonectl
