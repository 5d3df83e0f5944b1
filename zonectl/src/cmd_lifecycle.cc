// zonectl stop, rm, destroy: ending zones and containers.
#include "command.h"
#include "resolve.h"

namespace zoned::zonectl {
namespace {

constexpr uint64_t kDefaultGraceSeconds = 10;
constexpr uint64_t kMaxGraceSeconds = 24 * 3600;

bool zone_live(const v1::Zone& zone) {
  return zone.state() == "creating" || zone.state() == "running" || zone.state() == "stopping";
}

int report(const Context& ctx, const std::string& kind, const std::string& id, const std::string& action) {
  if (ctx.json) {
    ctx.print_json({{"kind", kind}, {"id", id}, {"action", action}});
  } else {
    ctx.print(id + "\n");
  }
  return kExitOk;
}

grpc::Status stop_zone(const Context& ctx, const std::string& id, uint64_t grace) {
  grpc::ClientContext cc;
  v1::StopZoneRequest request;
  request.set_zone(id);
  request.set_grace_seconds(static_cast<int64_t>(grace));
  v1::StopZoneResponse response;
  return ctx.client.stub().StopZone(&cc, request, &response);
}

grpc::Status remove_zone(const Context& ctx, const std::string& id) {
  grpc::ClientContext cc;
  v1::RemoveZoneRequest request;
  request.set_zone(id);
  v1::RemoveZoneResponse response;
  return ctx.client.stub().RemoveZone(&cc, request, &response);
}

grpc::Status stop_container(const Context& ctx, const std::string& id, uint64_t grace) {
  grpc::ClientContext cc;
  v1::StopContainerRequest request;
  request.set_container(id);
  request.set_grace_seconds(static_cast<int64_t>(grace));
  v1::StopContainerResponse response;
  return ctx.client.stub().StopContainer(&cc, request, &response);
}

grpc::Status remove_container(const Context& ctx, const std::string& id) {
  grpc::ClientContext cc;
  v1::RemoveContainerRequest request;
  request.set_container(id);
  v1::RemoveContainerResponse response;
  return ctx.client.stub().RemoveContainer(&cc, request, &response);
}

int run_stop(Context& ctx, const ParsedArgs& args) {
  uint64_t grace = kDefaultGraceSeconds;
  if (auto text = args.value("grace")) {
    auto parsed = parse_number("--grace", *text, 0, kMaxGraceSeconds);
    if (auto* error = std::get_if<UsageError>(&parsed)) return ctx.usage("stop", error->message);
    grace = std::get<uint64_t>(parsed);
  }
  auto target = resolve_target(ctx, args.positional[0]);
  if (!target) return kExitError;
  if (target->is_zone) {
    auto status = stop_zone(ctx, target->zone.id(), grace);
    return status.ok() ? report(ctx, "zone", target->zone.id(), "stopped") : ctx.fail(status);
  }
  auto status = stop_container(ctx, target->container.id(), grace);
  return status.ok() ? report(ctx, "container", target->container.id(), "stopped") : ctx.fail(status);
}

int run_rm(Context& ctx, const ParsedArgs& args) {
  bool force = args.flag("force");
  auto target = resolve_target(ctx, args.positional[0]);
  if (!target) return kExitError;
  if (target->is_zone) {
    const v1::Zone& zone = target->zone;
    if (zone_live(zone) && !force) {
      return ctx.fail("zone " + zone.name() + " is " + zone.state() +
                      ": stop it first, or use 'zonectl destroy' (or rm --force)");
    }
    auto status = remove_zone(ctx, zone.id());
    return status.ok() ? report(ctx, "zone", zone.id(), "removed") : ctx.fail(status);
  }
  const v1::Container& container = target->container;
  if (force && container.state() == "running") {
    auto stopped = stop_container(ctx, container.id(), 0);
    if (!stopped.ok()) return ctx.fail(stopped);
  }
  auto status = remove_container(ctx, container.id());
  return status.ok() ? report(ctx, "container", container.id(), "removed") : ctx.fail(status);
}

int run_destroy(Context& ctx, const ParsedArgs& args) {
  auto zone = get_zone(ctx, args.positional[0]);
  if (!zone) return kExitError;
  auto stopped = stop_zone(ctx, zone->id(), 0);
  if (!stopped.ok()) return ctx.fail(stopped);
  auto removed = remove_zone(ctx, zone->id());
  return removed.ok() ? report(ctx, "zone", zone->id(), "destroyed") : ctx.fail(removed);
}

}  // namespace

std::vector<Command> lifecycle_commands() {
  return {
      {{"stop",
        "[OPTIONS] ZONE|CONTAINER",
        "Stop a zone (its containers get SIGTERM, then SIGKILL after the grace period; the domain is powered off) "
        "or one container.",
        "A zone is named by id, unique id prefix or name; a container by id or unique id prefix. Prints the id.",
        {{"grace", 0, "SECONDS", "How long processes get between SIGTERM and SIGKILL (default 10)"}},
        1,
        1},
       run_stop},
      {{"rm",
        "[OPTIONS] ZONE|CONTAINER",
        "Remove a stopped zone (with its containers) or an exited container.",
        "Prints the id.",
        {{"force", 'f', "", "Remove even if running: a zone is destroyed, a container killed first"}},
        1,
        1},
       run_rm},
      {{"destroy",
        "[OPTIONS] ZONE",
        "Kill a zone at once and remove it (stop with grace 0, then rm).",
        "Prints the id.",
        {},
        1,
        1},
       run_destroy},
  };
}

}  // namespace zoned::zonectl
