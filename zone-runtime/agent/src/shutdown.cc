// Shutdown: SIGTERM every process, SIGKILL after the grace period, let output drain, answer
// Ack, unmount, sync and power off.
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include "agent_impl.h"
#include "zoned/common/log.h"

namespace zoned::agent {

namespace {
constexpr std::chrono::seconds kKilledDrain{5};
constexpr std::chrono::seconds kAckFlush{2};
}  // namespace

void AgentImpl::begin_shutdown(const ReplyTo& to) {
  shutting_down_ = true;
  shutdown_reply_ = to;
  shutdown_deadline_ = Clock::now() + options_.stop_grace;
  log::info("shutdown requested: stopping every container");
  for (auto it = containers_.begin(); it != containers_.end();) {
    Container& c = *it->second;
    ++it;
    if (c.phase == Phase::kWaitingDevice) fail_create(c.id, Error(ErrorCode::kCancelled, "the zone is shutting down"));
  }
  advance_shutdown(Clock::now());
}

void AgentImpl::advance_shutdown(Clock::time_point now) {
  if (stopped_) return;
  if (!killed_ && now >= shutdown_deadline_) {
    log::warn("processes still running after the grace period; killing them");
    killed_ = true;
    shutdown_deadline_ = now + kKilledDrain;
  } else if (killed_ && now >= shutdown_deadline_) {
    log::warn("output still open after the kill; closing it");
    auto discard = [](const idm::v1::StreamData&) {};
    for (auto& [id, c] : containers_) {
      if (c->proc.stream) c->proc.stream->close_output(discard);
    }
    for (auto& [id, e] : execs_) {
      if (e->proc.stream) e->proc.stream->close_output(discard);
    }
    finish_containers();
    finish_execs();
    return power_off();
  }
  const int sig = killed_ ? SIGKILL : SIGTERM;
  bool done = runner_.running() == 0;
  auto stop = [&](Tracked& proc) {
    if (proc.pid > 0 && !proc.exited) {
      if (signalled_.insert({proc.pid, sig}).second) ::kill(proc.pid, sig);
      done = false;
    } else if (proc.stream && !proc.stream->output_done()) {
      done = false;
    }
  };
  for (auto& [id, c] : containers_) stop(c->proc);
  for (auto& [id, e] : execs_) stop(e->proc);
  if (done) power_off();
}

void AgentImpl::power_off() {
  reply_ack(shutdown_reply_);
  const auto flush_until = Clock::now() + kAckFlush;
  while (endpoint_ && endpoint_->outbound_bytes() > 0 && Clock::now() < flush_until) {
    pollfd fd{endpoint_->poll_fd(), POLLIN, 0};
    if (::poll(&fd, 1, 50) > 0 && !endpoint_->ack_wakeup().ok()) break;
    if (!endpoint_->pump().ok()) break;
  }
  for (auto& [id, c] : containers_) {
    if (c->overlay_mounted) {
      [[maybe_unused]] auto unmounted = mounts_->unmount(c->rootfs);
      c->overlay_mounted = false;
    }
    if (c->image_acquired) {
      release_image(c->device);
      c->image_acquired = false;
    }
  }
  ::sync();
  log::info("powering off");
  stopped_ = true;
  if (hooks_.power_off) hooks_.power_off();
}

}  // namespace zoned::agent
