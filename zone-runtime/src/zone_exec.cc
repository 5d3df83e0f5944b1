// Exec: extra processes in a running container, streamed (ExecSession) or collected (exec_sync).
#include <csignal>

#include "zone_manager_impl.h"
#include "zoned/common/log.h"

namespace zoned::zone_runtime {

namespace {

class ExecSessionImpl final : public ExecSession {
 public:
  ExecSessionImpl(ZoneManagerImpl& manager, std::shared_ptr<idm::Client> client, std::shared_ptr<ExecState> state)
      : manager_(manager), client_(std::move(client)), state_(std::move(state)) {}

  ~ExecSessionImpl() override {
    bool done = false;
    {
      std::lock_guard lock(state_->mu);
      done = state_->exited || state_->zone_gone;
    }
    if (!done) (void)signal(SIGKILL);
    manager_.forget_exec(state_->zone_id, state_->stream_id);
  }

  Status write_stdin(std::string_view data) override {
    while (!data.empty()) {
      const size_t n = std::min<size_t>(data.size(), 64 * 1024);
      idm::v1::StreamData chunk;
      chunk.set_stream_id(state_->stream_id);
      chunk.set_fd(idm::v1::STREAM_FD_STDIN);
      chunk.set_data(std::string(data.substr(0, n)));
      ZONED_TRY(client_->send_stream(chunk, manager_.request_timeout()));
      data.remove_prefix(n);
    }
    return ok_status();
  }

  Status close_stdin() override {
    idm::v1::StreamData chunk;
    chunk.set_stream_id(state_->stream_id);
    chunk.set_fd(idm::v1::STREAM_FD_STDIN);
    chunk.set_eof(true);
    return client_->send_stream(chunk, manager_.request_timeout());
  }

  Status resize(uint32_t rows, uint32_t cols) override {
    idm::v1::Request req;
    req.mutable_resize_tty()->set_stream_id(state_->stream_id);
    req.mutable_resize_tty()->set_rows(rows);
    req.mutable_resize_tty()->set_cols(cols);
    auto r = client_->call(req, manager_.request_timeout());
    if (!r.ok()) return r.error();
    return ok_status();
  }

  Status signal(uint32_t sig) override {
    idm::v1::Request req;
    req.mutable_signal_exec()->set_exec_id(state_->exec_id);
    req.mutable_signal_exec()->set_signal(sig);
    auto r = client_->call(req, manager_.request_timeout());
    if (!r.ok()) return r.error();
    return ok_status();
  }

  Result<std::optional<ExecResult>> wait(std::chrono::milliseconds timeout) override {
    std::unique_lock lock(state_->mu);
    if (!state_->cv.wait_for(lock, timeout, [&] { return state_->exited || state_->zone_gone; })) {
      return std::optional<ExecResult>();
    }
    if (!state_->exited) return Error(ErrorCode::kUnavailable, "the zone ended while the process ran");
    ExecResult result;
    result.exit_code = state_->exit_code;
    result.signal = state_->signal;
    return std::optional<ExecResult>(result);
  }

 private:
  ZoneManagerImpl& manager_;
  std::shared_ptr<idm::Client> client_;
  std::shared_ptr<ExecState> state_;
};

}  // namespace

void ZoneManagerImpl::forget_exec(const std::string& zone_id, uint32_t stream_id) {
  std::lock_guard lock(mu_);
  auto it = zones_.find(zone_id);
  if (it != zones_.end()) it->second->stream_to_exec.erase(stream_id);
}

Result<std::unique_ptr<ExecSession>> ZoneManagerImpl::exec(const ExecRequest& request, ExecOutputSink sink) {
  if (request.args.empty()) return Error(ErrorCode::kInvalidArgument, "exec: no command given");
  auto found = find_container(request.container_id);
  if (!found.ok()) return found.error();
  auto [zone, id] = *found;
  {
    std::lock_guard lock(mu_);
    auto* rec = container_in(*zone, id);
    if (!rec || rec->state != ContainerState::kRunning) {
      return Error(ErrorCode::kFailedPrecondition, "container " + request.container_id + " is not running");
    }
  }
  auto client = client_of(zone->stored.zone.id);
  if (!client.ok()) return client.error();
  auto state = std::make_shared<ExecState>();
  state->exec_id = random_hex(8);
  state->zone_id = zone->stored.zone.id;
  state->sink = std::move(sink);
  {
    std::lock_guard lock(mu_);
    state->stream_id = zone->stored.next_stream_id++;
    zone->stream_to_exec[state->stream_id] = state;
  }
  idm::v1::Request req;
  auto* start = req.mutable_exec_start();
  start->set_container_id(id);
  start->set_exec_id(state->exec_id);
  for (const auto& a : request.args) start->add_args(a);
  for (const auto& e : request.env) start->add_env(e);
  start->set_tty(request.tty);
  start->set_stream_id(state->stream_id);
  start->set_stdin(request.stdin);
  start->set_cwd(request.cwd);
  start->set_user(request.user);
  auto started = (*client)->call(req, options_.request_timeout);
  if (!started.ok()) {
    forget_exec(state->zone_id, state->stream_id);
    return started.error().wrap("exec in container " + id.substr(0, 12));
  }
  return std::unique_ptr<ExecSession>(new ExecSessionImpl(*this, *client, state));
}

Result<ExecResult> ZoneManagerImpl::exec_sync(const ExecRequest& request, std::chrono::milliseconds timeout,
                                              size_t max_output_bytes) {
  struct Collected {
    std::mutex mu;
    std::string out, err;
    bool truncated = false;
  };
  auto collected = std::make_shared<Collected>();
  auto sink = [collected, max_output_bytes](int fd, std::string_view data) {
    std::lock_guard lock(collected->mu);
    std::string& target = fd == 2 ? collected->err : collected->out;
    const size_t room = max_output_bytes > target.size() ? max_output_bytes - target.size() : 0;
    if (data.size() > room) collected->truncated = true;
    target.append(data.substr(0, room));
  };
  ExecRequest req = request;
  req.stdin = false;
  auto session = exec(req, sink);
  if (!session.ok()) return session.error();
  auto result = (*session)->wait(timeout);
  if (!result.ok()) return result.error();
  if (!result->has_value()) {
    (void)(*session)->signal(SIGKILL);
    (void)(*session)->wait(std::chrono::seconds(5));
    return Error(ErrorCode::kDeadlineExceeded,
                 "command timed out after " + std::to_string(std::chrono::duration_cast<std::chrono::seconds>(timeout).count()) + " s");
  }
  ExecResult out = **result;
  std::lock_guard lock(collected->mu);
  out.stdout_data = std::move(collected->out);
  out.stderr_data = std::move(collected->err);
  out.output_truncated = collected->truncated;
  return out;
}

}  // namespace zoned::zone_runtime
