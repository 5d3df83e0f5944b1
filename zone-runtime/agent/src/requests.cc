// Dispatch of the daemon's requests, and the small ones answered on the spot.
#include "agent_impl.h"
#include "zoned/agent/stats.h"
#include "zoned/common/log.h"
#include "zoned/idm/validate.h"

namespace zoned::agent {

using idm::v1::Request;

void AgentImpl::handle_request(std::uint64_t id, const Request& request) {
  const ReplyTo to{id, connection_};
  if (shutting_down_ && request.kind_case() != Request::kPing && request.kind_case() != Request::kListContainers &&
      request.kind_case() != Request::kStats && request.kind_case() != Request::kWaitContainer) {
    reply_error(to, Error(ErrorCode::kFailedPrecondition, "the zone is shutting down"));
    return;
  }
  switch (request.kind_case()) {
    case Request::kPing: {
      idm::v1::Response response;
      response.mutable_pong()->set_nonce(request.ping().nonce());
      reply(to, std::move(response));
      return;
    }
    case Request::kCreateContainer: create_container(to, request.create_container()); return;
    case Request::kStartContainer: start_container(to, request.start_container().container_id()); return;
    case Request::kSignalContainer: signal_container(to, request.signal_container()); return;
    case Request::kWaitContainer: wait_container(to, request.wait_container().container_id()); return;
    case Request::kDeleteContainer: delete_container(to, request.delete_container().container_id()); return;
    case Request::kListContainers: list_containers(to); return;
    case Request::kUpdateContainer: update_container(to, request.update_container()); return;
    case Request::kExecStart: exec_start(to, request.exec_start()); return;
    case Request::kSignalExec: signal_exec(to, request.signal_exec()); return;
    case Request::kResizeTty: handle_resize(to, request.resize_tty()); return;
    case Request::kStats: handle_stats(to); return;
    case Request::kShutdown: begin_shutdown(to); return;
    case Request::kConfigureNetwork: configure_network(to, request.configure_network()); return;
    case Request::kPortForwardOpen: port_forward_open(to, request.port_forward_open()); return;
    case Request::kPortForwardClose: port_forward_close(to, request.port_forward_close().stream_id()); return;
    case Request::kPortForwardWindow: port_forward_window(to, request.port_forward_window()); return;
    case Request::kHello:
      reply_error(to, Error(ErrorCode::kUnimplemented, "the agent sends Hello; it does not answer one"));
      return;
    case Request::KIND_NOT_SET: break;
  }
  reply_error(to, Error(ErrorCode::kUnimplemented, "unknown request"));
}

void AgentImpl::handle_resize(const ReplyTo& to, const idm::v1::ResizeTty& resize) {
  StdioStream* stream = find_stream(resize.stream_id());
  if (!stream) {
    reply_error(to, Error(ErrorCode::kNotFound, "stream " + std::to_string(resize.stream_id()) + " not found"));
    return;
  }
  auto resized = stream->resize(resize.rows(), resize.cols());
  if (!resized.ok()) {
    reply_error(to, resized.error());
    return;
  }
  reply_ack(to);
}

void AgentImpl::handle_stats(const ReplyTo& to) {
  idm::v1::Response response;
  auto* stats = response.mutable_stats();
  for (const auto& [id, c] : containers_) {
    if (c->phase != Phase::kCreated && c->phase != Phase::kRunning && c->phase != Phase::kStarting) continue;
    if (static_cast<std::size_t>(stats->containers_size()) >= idm::kMaxStatsEntries) break;
    auto usage = read_cgroup_usage(options_.cgroup_root + "/zoned/" + id);
    if (!usage.ok()) {
      log::debug("no cgroup stats", {{"container", id}, {"error", usage.error().describe()}});
      continue;
    }
    auto* entry = stats->add_containers();
    entry->set_container_id(id);
    entry->set_cpu_usage_ns(usage->cpu_usage_ns);
    entry->set_memory_usage_bytes(usage->memory_working_set_bytes);
  }
  auto zone = read_zone_usage(options_.proc_dir);
  if (!zone.ok()) {
    reply_error(to, zone.error());
    return;
  }
  auto* z = stats->mutable_zone();
  z->set_memory_total_bytes(zone->memory_total_bytes);
  z->set_memory_available_bytes(zone->memory_available_bytes);
  z->set_cpu_usage_ns(zone->cpu_usage_ns);
  z->set_timestamp_unix_ns(unix_now_ns());
  reply(to, std::move(response));
}

}  // namespace zoned::agent
