// What a zone's agent tells us unasked: container and exec exits, output. All of it is
// untrusted: ids must name our own containers and streams, times are clamped.
#include "zone_manager_impl.h"
#include "zoned/common/log.h"

namespace zoned::zone_runtime {

void ZoneManagerImpl::apply_exit(Zone& zone, const idm::v1::ContainerExited& exited) {
  auto* rec = container_in(zone, exited.container_id());
  if (!rec || rec->state == ContainerState::kExited) return;
  rec->state = ContainerState::kExited;
  rec->signal = exited.signal();
  rec->exit_code = exited.signal() != 0 ? 128 + static_cast<int32_t>(exited.signal()) : exited.exit_code();
  const int64_t now = now_unix_ns();
  int64_t finished = exited.finished_at_unix_ns();
  if (finished <= 0 || finished > now) finished = now;  // the zone's clock is its own
  if (rec->started_at_ns == 0 && exited.started_at_unix_ns() > 0 && exited.started_at_unix_ns() <= finished) {
    rec->started_at_ns = exited.started_at_unix_ns();
  }
  if (finished < rec->started_at_ns) finished = rec->started_at_ns;
  rec->finished_at_ns = finished;
  rec->pid = 0;
  rec->reason = exited.oom_killed() ? "OOMKilled" : rec->exit_code == 0 ? "Completed" : "Error";
  rec->message.clear();
}

void ZoneManagerImpl::on_event(const std::string& zone_id, const idm::v1::Event& event) {
  std::shared_ptr<Zone> zone;
  {
    std::lock_guard lock(mu_);
    auto it = zones_.find(zone_id);
    if (it == zones_.end()) return;
    zone = it->second;
  }
  switch (event.kind_case()) {
    case idm::v1::Event::kContainerStarted: {
      const auto& e = event.container_started();
      std::lock_guard lock(mu_);
      auto* rec = container_in(*zone, e.container_id());
      if (!rec) break;
      if (rec->state == ContainerState::kCreated) rec->state = ContainerState::kRunning;
      if (rec->state == ContainerState::kRunning) rec->pid = e.pid();
      const int64_t now = now_unix_ns();
      if (rec->started_at_ns == 0)
        rec->started_at_ns =
            (e.started_at_unix_ns() > 0 && e.started_at_unix_ns() <= now) ? e.started_at_unix_ns() : now;
      (void)persist_locked(*zone);
      state_cv_.notify_all();
      break;
    }
    case idm::v1::Event::kContainerExited: {
      const auto& e = event.container_exited();
      std::shared_ptr<ContainerLog> log;
      {
        std::lock_guard lock(mu_);
        if (!container_in(*zone, e.container_id())) break;
        if (auto it = zone->logs.find(e.container_id()); it != zone->logs.end()) log = it->second;
      }
      if (log) (void)log->flush();  // every line is in the log before the exit is visible
      std::lock_guard lock(mu_);
      apply_exit(*zone, e);
      (void)persist_locked(*zone);
      state_cv_.notify_all();
      break;
    }
    case idm::v1::Event::kExecExited: {
      const auto& e = event.exec_exited();
      std::shared_ptr<ExecState> exec;
      {
        std::lock_guard lock(mu_);
        for (auto& [stream, state] : zone->stream_to_exec) {
          if (state->exec_id == e.exec_id()) exec = state;
        }
      }
      if (!exec) break;
      std::lock_guard lock(exec->mu);
      exec->exited = true;
      exec->signal = e.signal();
      exec->exit_code = e.signal() != 0 ? 128 + static_cast<int32_t>(e.signal()) : e.exit_code();
      exec->cv.notify_all();
      break;
    }
    case idm::v1::Event::kPortForwardWindow:
    case idm::v1::Event::kPortForwardClosed: on_port_event(*zone, event); break;
    case idm::v1::Event::KIND_NOT_SET: break;
  }
}

void ZoneManagerImpl::on_stream(const std::string& zone_id, const idm::v1::StreamData& data) {
  if (data.fd() != idm::v1::STREAM_FD_STDOUT && data.fd() != idm::v1::STREAM_FD_STDERR) return;
  const int fd = data.fd() == idm::v1::STREAM_FD_STDERR ? 2 : 1;
  std::shared_ptr<ContainerLog> log;
  std::shared_ptr<ExecState> exec;
  std::vector<std::shared_ptr<AttachState>> attached;
  std::shared_ptr<Zone> port_zone;
  {
    std::lock_guard lock(mu_);
    auto it = zones_.find(zone_id);
    if (it == zones_.end()) return;
    Zone& zone = *it->second;
    if (auto c = zone.stream_to_container.find(data.stream_id()); c != zone.stream_to_container.end()) {
      if (auto l = zone.logs.find(c->second); l != zone.logs.end()) log = l->second;
      attached = attached_to(zone, c->second);
    } else if (zone.stream_to_port.count(data.stream_id()) != 0) {
      port_zone = it->second;
    } else if (auto e = zone.stream_to_exec.find(data.stream_id()); e != zone.stream_to_exec.end()) {
      exec = e->second;
    }
  }
  if (port_zone) {
    (void)on_port_stream(*port_zone, data);
    return;
  }
  if (data.data().empty()) return;
  if (log) {
    auto written = log->write(fd, data.data());
    if (!written.ok()) log::warn("cannot write container output", {{"error", written.error().describe()}});
    deliver(attached, fd, data.data());
  } else if (exec && exec->sink) {
    exec->sink(fd, data.data());
  }
}

void ZoneManagerImpl::on_closed(const std::string& zone_id, const Error& error) {
  // On the channel's own I/O thread: the client must be closed elsewhere (the monitor).
  log::warn("zone agent connection closed", {{"zone", zone_id.substr(0, 12)}, {"error", error.describe()}});
  {
    std::lock_guard lock(mu_);
    auto it = zones_.find(zone_id);
    if (it != zones_.end() && it->second->client) closed_clients_.push_back(std::move(it->second->client));
  }
  wake_monitor();
}

}  // namespace zoned::zone_runtime
