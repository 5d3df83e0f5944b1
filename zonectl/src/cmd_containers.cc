// zonectl ps, logs, wait.
#include <map>

#include "command.h"
#include "log_stream.h"
#include "resolve.h"
#include "terminal.h"

namespace zoned::zonectl {
namespace {

std::string command_line(const v1::ContainerSpec& spec) {
  std::string out;
  for (const auto& word : spec.command()) out += (out.empty() ? "" : " ") + word;
  for (const auto& word : spec.args()) out += (out.empty() ? "" : " ") + word;
  if (out.size() > 40) out = out.substr(0, 37) + "...";
  return out.empty() ? "(image default)" : out;
}

std::map<std::string, std::string> zone_names(const Context& ctx) {
  std::map<std::string, std::string> names;
  grpc::ClientContext cc;
  v1::ListZonesResponse response;
  if (ctx.client.stub().ListZones(&cc, v1::ListZonesRequest(), &response).ok()) {
    for (const auto& zone : response.zones()) names[zone.id()] = zone.name();
  }
  return names;
}

int run_ps(Context& ctx, const ParsedArgs& args) {
  grpc::ClientContext cc;
  v1::ListContainersRequest request;
  if (!args.positional.empty()) request.set_zone(args.positional[0]);
  v1::ListContainersResponse response;
  auto status = ctx.client.stub().ListContainers(&cc, request, &response);
  if (!status.ok()) return ctx.fail(status);
  if (ctx.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& c : response.containers()) out.push_back(message_json(c));
    ctx.print_json(out);
    return kExitOk;
  }
  auto names = zone_names(ctx);
  Table table({"ID", "NAME", "ZONE", "IMAGE", "STATE", "EXIT", "AGE", "COMMAND"});
  int64_t now = now_ns();
  for (const auto& c : response.containers()) {
    auto zone = names.count(c.zone_id()) ? names[c.zone_id()] : short_id(c.zone_id());
    table.add({short_id(c.id()), c.spec().name(), zone, c.spec().image(), c.state(),
               c.state() == "exited" ? std::to_string(c.exit_code()) : "-", format_age(c.created_at_ns(), now),
               command_line(c.spec())});
  }
  ctx.print(table.render());
  return kExitOk;
}

int run_logs(Context& ctx, const ParsedArgs& args) {
  uint64_t tail = 0;
  if (auto n = args.value("bytes")) {
    auto parsed = parse_number("-n", *n, 0, UINT64_MAX);
    if (auto* error = std::get_if<UsageError>(&parsed)) return ctx.usage("logs", error->message);
    tail = std::get<uint64_t>(parsed);
  }
  bool follow = args.flag("follow");
  if (follow && ctx.json) return ctx.usage("logs", "--json cannot be used with --follow");
  grpc::ClientContext cc;
  LogCollector collected;
  auto status = stream_logs(ctx.client, cc, args.positional[0], tail, follow, [&](const LogRecord& record) {
    if (ctx.json) {
      collected.add(record);
    } else {
      print_record(record);
    }
  });
  if (!status.ok()) return ctx.fail(status);
  if (ctx.json) ctx.print_json(collected.lines());
  return kExitOk;
}

int run_wait(Context& ctx, const ParsedArgs& args) {
  grpc::ClientContext cc;
  v1::WaitContainerRequest request;
  request.set_container(args.positional[0]);
  v1::WaitContainerResponse response;
  auto status = ctx.client.stub().WaitContainer(&cc, request, &response);
  if (!status.ok()) return ctx.fail(status);
  const auto& c = response.container();
  if (ctx.json) {
    ctx.print_json(message_json(c));
  } else {
    ctx.print(std::to_string(c.exit_code()) + "\n");
  }
  return exit_status(c.exit_code());
}

}  // namespace

std::vector<Command> container_commands() {
  return {
      {{"ps", "[OPTIONS] [ZONE]", "List containers, of all zones or of one.", "", {}, 0, 1}, run_ps},
      {{"logs",
        "[OPTIONS] CONTAINER",
        "Print a container's output (stdout to stdout, stderr to stderr).",
        "CONTAINER is an id or a unique id prefix.",
        {{"bytes", 'n', "BYTES", "Start at the first whole line of the log's last BYTES bytes"},
         {"follow", 'f', "", "Keep printing until the container exits (Ctrl-C ends)"}},
        1,
        1},
       run_logs},
      {{"wait",
        "[OPTIONS] CONTAINER",
        "Wait until a container exits; print its exit code and exit with it.",
        "",
        {},
        1,
        1},
       run_wait},
  };
}

}  // namespace zoned::zonectl
