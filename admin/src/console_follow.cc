// FollowConsole: the ZoneManager keeps only the tail of a zone's console, so following it means
// polling that tail and sending what is new. Two snapshots are tails of one growing stream;
// the new output is what follows the longest overlap of the old snapshot's end with the new
// one's start (KMP, linear). Output that scrolled out of the kept tail between two polls is
// skipped, and console output that repeats the kept tail exactly is indistinguishable from no
// output: good enough for watching a zone boot, which is what this is for.
#include <thread>
#include <vector>

#include "streams.h"
#include "translate.h"

namespace zoned::admin {
namespace {

namespace zr = zone_runtime;

constexpr std::chrono::milliseconds kPollInterval{200};

bool zone_over(zr::ZoneState state) {
  return state == zr::ZoneState::kStopped || state == zr::ZoneState::kFailed;
}

// Sends `data`; false when the client is gone.
bool send(grpc::ServerWriter<v1::ConsoleChunk>& writer, std::string_view data) {
  if (data.empty()) return true;
  v1::ConsoleChunk chunk;
  chunk.set_data(std::string(data));
  return writer.Write(chunk);
}

}  // namespace

size_t console_overlap(std::string_view previous, std::string_view current) {
  if (current.empty() || previous.empty()) return 0;
  // failure[i]: length of the longest proper prefix of current[0..i] that is also its suffix.
  std::vector<size_t> failure(current.size(), 0);
  for (size_t i = 1, k = 0; i < current.size(); ++i) {
    while (k > 0 && current[i] != current[k]) k = failure[k - 1];
    if (current[i] == current[k]) ++k;
    failure[i] = k;
  }
  // Run `previous` through the automaton of `current`: the final state is the overlap.
  size_t matched = 0;
  for (char c : previous) {
    if (matched == current.size()) matched = failure[matched - 1];
    while (matched > 0 && c != current[matched]) matched = failure[matched - 1];
    if (c == current[matched]) ++matched;
  }
  return matched;
}

Status follow_console(zr::ZoneManager& zones, grpc::ServerContext& ctx, const v1::ConsoleRequest& request,
                      grpc::ServerWriter<v1::ConsoleChunk>& writer) {
  auto zone = zones.get_zone(request.zone());
  if (!zone.ok()) return std::move(zone).take_error();
  const std::string id = zone->id;

  auto first = zones.console(id, kMaxConsoleBytes);
  if (!first.ok()) return std::move(first).take_error();
  std::string previous = std::move(*first);
  size_t tail = request.tail_bytes() == 0 ? previous.size() : std::min<size_t>(request.tail_bytes(), previous.size());
  if (!send(writer, std::string_view(previous).substr(previous.size() - tail))) return ok_status();

  while (!ctx.IsCancelled()) {
    std::this_thread::sleep_for(kPollInterval);
    // Read the state before the console: a zone seen stopped has no output after this snapshot.
    auto state = zones.get_zone(id);
    if (!state.ok()) {
      if (state.error().code() == ErrorCode::kNotFound) return ok_status();  // removed meanwhile
      return std::move(state).take_error();
    }
    auto current = zones.console(id, kMaxConsoleBytes);
    if (!current.ok()) return std::move(current).take_error();
    size_t overlap = console_overlap(previous, *current);
    if (!send(writer, std::string_view(*current).substr(overlap))) return ok_status();
    previous = std::move(*current);
    if (zone_over(state->state)) return ok_status();
  }
  return ok_status();
}

}  // namespace zoned::admin
