#include "resolve.h"

namespace zoned::zonectl {
namespace {

struct Lookup {
  grpc::Status status;
  bool found() const { return status.ok(); }
  bool missing() const { return status.error_code() == grpc::StatusCode::NOT_FOUND; }
};

Lookup lookup_zone(const Context& ctx, const std::string& name, v1::Zone* out) {
  grpc::ClientContext cc;
  v1::GetZoneRequest request;
  request.set_zone(name);
  v1::GetZoneResponse response;
  Lookup result{ctx.client.stub().GetZone(&cc, request, &response)};
  if (result.found()) *out = response.zone();
  return result;
}

Lookup lookup_container(const Context& ctx, const std::string& name, v1::Container* out) {
  grpc::ClientContext cc;
  v1::GetContainerRequest request;
  request.set_container(name);
  v1::GetContainerResponse response;
  Lookup result{ctx.client.stub().GetContainer(&cc, request, &response)};
  if (result.found()) *out = response.container();
  return result;
}

}  // namespace

std::optional<Target> resolve_target(const Context& ctx, const std::string& name) {
  Target target;
  Lookup zone = lookup_zone(ctx, name, &target.zone);
  Lookup container = lookup_container(ctx, name, &target.container);
  if (zone.found() && container.found()) {
    ctx.fail("'" + name + "' names both zone " + target.zone.name() + " and container " +
             short_id(target.container.id()) + ": give more of the id");
    return std::nullopt;
  }
  if (zone.found()) {
    target.is_zone = true;
    return target;
  }
  if (container.found()) return target;
  if (zone.missing() && container.missing()) {
    ctx.fail("no zone or container named '" + name + "'");
  } else {
    ctx.fail(zone.missing() ? container.status : zone.status);
  }
  return std::nullopt;
}

std::optional<v1::Zone> get_zone(const Context& ctx, const std::string& name) {
  v1::Zone zone;
  Lookup result = lookup_zone(ctx, name, &zone);
  if (!result.found()) {
    ctx.fail(result.status);
    return std::nullopt;
  }
  return zone;
}

std::optional<v1::Container> get_container(const Context& ctx, const std::string& name) {
  v1::Container container;
  Lookup result = lookup_container(ctx, name, &container);
  if (!result.found()) {
    ctx.fail(result.status);
    return std::nullopt;
  }
  return container;
}

}  // namespace zoned::zonectl
