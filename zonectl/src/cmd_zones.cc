// zonectl list, show, stats, console.
#include <sstream>

#include "command.h"
#include "resolve.h"
#include "terminal.h"

namespace zoned::zonectl {
namespace {

std::string domid_text(uint32_t domid) {
  return domid == 0 ? "-" : std::to_string(domid);
}

std::string join(const google::protobuf::RepeatedPtrField<std::string>& items, const std::string& separator) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

std::optional<v1::ListContainersResponse> containers_of(const Context& ctx, const std::string& zone_id) {
  grpc::ClientContext cc;
  v1::ListContainersRequest request;
  request.set_zone(zone_id);
  v1::ListContainersResponse response;
  auto status = ctx.client.stub().ListContainers(&cc, request, &response);
  if (!status.ok()) {
    ctx.fail(status);
    return std::nullopt;
  }
  return response;
}

int run_list(Context& ctx, const ParsedArgs&) {
  grpc::ClientContext cc;
  v1::ListZonesResponse response;
  auto status = ctx.client.stub().ListZones(&cc, v1::ListZonesRequest(), &response);
  if (!status.ok()) return ctx.fail(status);
  if (ctx.json) {
    nlohmann::json zones = nlohmann::json::array();
    for (const auto& zone : response.zones()) zones.push_back(message_json(zone));
    ctx.print_json(zones);
    return kExitOk;
  }
  Table table({"ID", "NAME", "STATE", "TYPE", "DOMID", "MEMORY", "CONTAINERS", "AGE"});
  int64_t now = now_ns();
  for (const auto& z : response.zones()) {
    table.add({short_id(z.id()), z.name(), z.state(), z.type(), domid_text(z.domid()), format_mib(z.memory_mib()),
               std::to_string(z.container_ids_size()), format_age(z.created_at_ns(), now)});
  }
  ctx.print(table.render());
  return kExitOk;
}

std::string zone_details(const v1::Zone& z) {
  std::ostringstream out;
  int64_t now = now_ns();
  std::string state = z.state();
  if (!z.reason().empty()) state += " (" + z.reason() + ")";
  out << "ID:          " << z.id() << "\n"
      << "Name:        " << z.name() << "\n"
      << "State:       " << state << "\n";
  if (!z.message().empty()) out << "Message:     " << z.message() << "\n";
  out << "Type:        " << z.type() << "\n"
      << "Domain:      " << (z.domain_name().empty() ? "-" : z.domain_name()) << " (domid " << domid_text(z.domid())
      << ")\n"
      << "UUID:        " << (z.uuid().empty() ? "-" : z.uuid()) << "\n"
      << "Memory:      " << format_mib(z.memory_mib()) << "\n"
      << "vCPUs:       " << z.vcpus() << "\n"
      << "Hostname:    " << z.hostname() << "\n"
      << "Images:      " << join(z.images(), ", ") << "\n";
  for (const auto& disk : z.disks()) {
    out << "Disk:        " << disk.vdev() << " " << disk.image_id() << " (" << disk.loop_device() << ")\n";
  }
  for (const auto& [key, value] : z.labels()) out << "Label:       " << key << "=" << value << "\n";
  out << "Created:     " << format_time(z.created_at_ns()) << " (" << format_age(z.created_at_ns(), now) << " ago)\n"
      << "Started:     " << format_time(z.started_at_ns()) << "\n"
      << "Finished:    " << format_time(z.finished_at_ns()) << "\n"
      << "Agent:       " << (z.agent_connected() ? "connected" : "not connected") << "\n";
  return out.str();
}

int run_show(Context& ctx, const ParsedArgs& args) {
  auto zone = get_zone(ctx, args.positional[0]);
  if (!zone) return kExitError;
  auto containers = containers_of(ctx, zone->id());
  if (!containers) return kExitError;
  if (ctx.json) {
    nlohmann::json out = message_json(*zone);
    out["containers"] = nlohmann::json::array();
    for (const auto& c : containers->containers()) out["containers"].push_back(message_json(c));
    ctx.print_json(out);
    return kExitOk;
  }
  std::string text = zone_details(*zone);
  Table table({"CONTAINER", "NAME", "IMAGE", "STATE", "EXIT"});
  for (const auto& c : containers->containers()) {
    table.add({short_id(c.id()), c.spec().name(), c.spec().image(), c.state(),
               c.state() == "exited" ? std::to_string(c.exit_code()) : "-"});
  }
  text += "Containers:  " + std::to_string(containers->containers_size()) + "\n";
  if (containers->containers_size() > 0) {
    std::istringstream rows(table.render());
    for (std::string row; std::getline(rows, row);) text += "  " + row + "\n";
  }
  ctx.print(text);
  return kExitOk;
}

int run_stats(Context& ctx, const ParsedArgs& args) {
  grpc::ClientContext cc;
  v1::ZoneStatsRequest request;
  request.set_zone(args.positional[0]);
  v1::ZoneStatsResponse response;
  auto status = ctx.client.stub().ZoneStats(&cc, request, &response);
  if (!status.ok()) return ctx.fail(status);
  if (ctx.json) {
    ctx.print_json(message_json(response));
    return kExitOk;
  }
  uint64_t used =
      response.memory_total_bytes() - std::min(response.memory_available_bytes(), response.memory_total_bytes());
  std::ostringstream out;
  out << "Zone:        " << response.zone_id() << "\n"
      << "Memory:      " << format_bytes(used) << " used of " << format_bytes(response.memory_total_bytes()) << " ("
      << format_bytes(response.memory_available_bytes()) << " available)\n"
      << "CPU time:    " << format_seconds(response.cpu_usage_ns()) << "\n";
  if (response.containers_size() > 0) {
    Table table({"CONTAINER", "CPU TIME", "MEMORY"});
    for (const auto& c : response.containers()) {
      table.add({short_id(c.id()), format_seconds(c.cpu_usage_ns()), format_bytes(c.memory_working_set_bytes())});
    }
    out << "\n" << table.render();
  }
  ctx.print(out.str());
  return kExitOk;
}

int run_console(Context& ctx, const ParsedArgs& args) {
  v1::ConsoleRequest request;
  request.set_zone(args.positional[0]);
  if (auto n = args.value("bytes")) {
    auto parsed = parse_number("-n", *n, 0, 16ULL << 20);
    if (auto* error = std::get_if<UsageError>(&parsed)) return ctx.usage("console", error->message);
    request.set_tail_bytes(std::get<uint64_t>(parsed));
  }
  grpc::ClientContext cc;
  if (args.flag("follow")) {
    if (ctx.json) return ctx.usage("console", "--json cannot be used with --follow");
    auto reader = ctx.client.stub().FollowConsole(&cc, request);
    v1::ConsoleChunk chunk;
    while (reader->Read(&chunk)) {
      if (!write_all(1, chunk.data())) return kExitError;
    }
    auto status = reader->Finish();
    return status.ok() ? kExitOk : ctx.fail(status);
  }
  v1::ConsoleResponse response;
  auto status = ctx.client.stub().Console(&cc, request, &response);
  if (!status.ok()) return ctx.fail(status);
  if (ctx.json) {
    ctx.print_json({{"zone", request.zone()}, {"console", response.data()}});
  } else {
    ctx.print(response.data());
  }
  return kExitOk;
}

}  // namespace

std::vector<Command> zone_commands() {
  return {
      {{"list",
        "[OPTIONS]",
        "List the zones.",
        "Columns: ID (first 12 hex), NAME, STATE, TYPE, DOMID, MEMORY, CONTAINERS, AGE.",
        {},
        0,
        0},
       run_list},
      {{"show",
        "[OPTIONS] ZONE",
        "Show everything about a zone, and its containers.",
        "ZONE is an id, a unique id prefix or a name.",
        {},
        1,
        1},
       run_show},
      {{"console",
        "[OPTIONS] ZONE",
        "Print the zone's console (the daemon keeps its tail).",
        "",
        {{"bytes", 'n', "BYTES", "Print only the last BYTES bytes"},
         {"follow", 'f', "", "Keep printing new console output until the zone stops (Ctrl-C ends)"}},
        1,
        1},
       run_console},
      {{"stats", "[OPTIONS] ZONE", "Show the zone's memory and CPU use, and its containers'.", "", {}, 1, 1},
       run_stats},
  };
}

}  // namespace zoned::zonectl
