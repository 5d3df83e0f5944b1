// Attach: the stdio of a container's main process, shared by its log and any number of
// attachments. Output reaches each attached sink on the zone's IDM thread, after the log.
#include "zone_manager_impl.h"
#include "zoned/common/log.h"

namespace zoned::zone_runtime {

struct AttachState {
  std::string zone_id;
  std::string container_id;
  std::mutex mu;  // held while the sink runs: detach waits for a delivery in progress
  ExecOutputSink sink;
};

namespace {

class AttachSessionImpl final : public AttachSession {
 public:
  AttachSessionImpl(ZoneManagerImpl& manager, std::shared_ptr<idm::Client> client, std::shared_ptr<AttachState> state,
                    uint32_t stream_id, bool stdin, bool stdin_once, bool tty)
      : manager_(manager),
        client_(std::move(client)),
        state_(std::move(state)),
        stream_id_(stream_id),
        stdin_(stdin),
        stdin_once_(stdin_once),
        tty_(tty) {}

  ~AttachSessionImpl() override { manager_.detach(state_->zone_id, state_); }

  Status write_stdin(std::string_view data) override {
    if (!stdin_ || stdin_closed_) return Error(ErrorCode::kFailedPrecondition, "this attachment has no open stdin");
    while (!data.empty()) {
      const size_t n = std::min<size_t>(data.size(), 64 * 1024);
      idm::v1::StreamData chunk;
      chunk.set_stream_id(stream_id_);
      chunk.set_fd(idm::v1::STREAM_FD_STDIN);
      chunk.set_data(std::string(data.substr(0, n)));
      ZONED_TRY(client_->send_stream(chunk, manager_.request_timeout()));
      data.remove_prefix(n);
    }
    return ok_status();
  }

  Status close_stdin() override {
    if (!stdin_ || stdin_closed_) return ok_status();
    stdin_closed_ = true;
    if (!stdin_once_) return ok_status();  // others may attach and write later
    idm::v1::StreamData chunk;
    chunk.set_stream_id(stream_id_);
    chunk.set_fd(idm::v1::STREAM_FD_STDIN);
    chunk.set_eof(true);
    return client_->send_stream(chunk, manager_.request_timeout());
  }

  Status resize(uint32_t rows, uint32_t cols) override {
    if (!tty_) return Error(ErrorCode::kFailedPrecondition, "the container has no tty");
    idm::v1::Request req;
    req.mutable_resize_tty()->set_stream_id(stream_id_);
    req.mutable_resize_tty()->set_rows(std::min<uint32_t>(rows, 0xffff));
    req.mutable_resize_tty()->set_cols(std::min<uint32_t>(cols, 0xffff));
    auto r = client_->call(req, manager_.request_timeout());
    if (!r.ok()) return r.error();
    return ok_status();
  }

  Result<bool> wait(std::chrono::milliseconds timeout) override {
    auto record = manager_.wait_container(state_->container_id, timeout);
    if (record.ok()) return true;
    if (record.error().code() == ErrorCode::kDeadlineExceeded) return false;
    if (record.error().code() == ErrorCode::kNotFound) return true;  // removed meanwhile: it ended
    return record.error();
  }

 private:
  ZoneManagerImpl& manager_;
  std::shared_ptr<idm::Client> client_;
  std::shared_ptr<AttachState> state_;
  const uint32_t stream_id_;
  const bool stdin_, stdin_once_, tty_;
  bool stdin_closed_ = false;
};

}  // namespace

Result<std::unique_ptr<AttachSession>> ZoneManagerImpl::attach(const std::string& container,
                                                               const AttachOptions& options, ExecOutputSink sink) {
  auto found = find_container(container);
  if (!found.ok()) return found.error();
  auto [zone, id] = *found;
  auto state = std::make_shared<AttachState>();
  state->zone_id = zone->stored.zone.id;
  state->container_id = id;
  state->sink = std::move(sink);
  uint32_t stream_id = 0;
  bool stdin_once = false, tty = false;
  {
    std::lock_guard lock(mu_);
    auto* rec = container_in(*zone, id);
    if (!rec || rec->state != ContainerState::kRunning) {
      return Error(ErrorCode::kFailedPrecondition, "container " + container + " is not running");
    }
    if (options.stdin && !rec->spec.oci.stdin) {
      return Error(ErrorCode::kFailedPrecondition,
                   "container " + container + " was created without stdin: nothing to attach stdin to");
    }
    if (options.tty != rec->spec.oci.tty) {
      return Error(ErrorCode::kInvalidArgument, std::string("attach: tty ") + (options.tty ? "asked" : "not asked") +
                                                    " but the container " + (rec->spec.oci.tty ? "has" : "has no") +
                                                    " tty");
    }
    stream_id = rec->stream_id;
    stdin_once = rec->spec.stdin_once;
    tty = rec->spec.oci.tty;
  }
  auto client = client_of(state->zone_id);
  if (!client.ok()) return client.error();
  {
    std::lock_guard lock(mu_);
    zone->attached.emplace(id, state);
  }
  log::info("attached", {{"container", id.substr(0, 12)}, {"stdin", options.stdin}, {"tty", tty}});
  return std::unique_ptr<AttachSession>(
      new AttachSessionImpl(*this, *client, state, stream_id, options.stdin, stdin_once, tty));
}

void ZoneManagerImpl::detach(const std::string& zone_id, const std::shared_ptr<AttachState>& state) {
  {
    std::lock_guard lock(mu_);
    auto it = zones_.find(zone_id);
    if (it != zones_.end()) {
      auto& attached = it->second->attached;
      for (auto a = attached.begin(); a != attached.end(); ++a) {
        if (a->second == state) {
          attached.erase(a);
          break;
        }
      }
    }
  }
  std::lock_guard lock(state->mu);  // a delivery that already took it finishes first
  state->sink = nullptr;
}

std::vector<std::shared_ptr<AttachState>> ZoneManagerImpl::attached_to(Zone& zone, const std::string& container_id) {
  std::vector<std::shared_ptr<AttachState>> out;
  auto [first, last] = zone.attached.equal_range(container_id);
  for (auto it = first; it != last; ++it) out.push_back(it->second);
  return out;
}

void ZoneManagerImpl::deliver(const std::vector<std::shared_ptr<AttachState>>& to, int fd, std::string_view data) {
  for (const auto& a : to) {
    std::lock_guard lock(a->mu);
    if (a->sink) a->sink(fd, data);
  }
}

}  // namespace zoned::zone_runtime
