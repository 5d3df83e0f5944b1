// remotecommand over SPDY: the client opens one stream per streamtype (error, stdin, stdout,
// stderr, resize); the command starts once all the expected ones exist (kubelet's rule) and
// the exit status goes on the error stream as a Status JSON.
#include <chrono>
#include <optional>

#include "command_runner.h"
#include "handlers.h"
#include "spdy_connection.h"
#include "zoned/common/log.h"

namespace zoned::streaming {
namespace {

using Clock = std::chrono::steady_clock;

class SpdyCommandSession final : public SpdyConnection::Handler, public CommandOutput {
 public:
  SpdyCommandSession(ConnectionContext& ctx, const PendingRequest& request)
      : ctx_(ctx),
        conn_(ctx.socket, true, spdy::Limits{ctx.options.max_frame_bytes, ctx.options.max_header_block_bytes, 100},
              ctx.options.max_streams_per_connection),
        runner_(ctx.backend, request, *this, ctx.sessions),
        streams_(std::holds_alternative<PendingExec>(request) ? std::get<PendingExec>(request).streams
                                                              : std::get<PendingAttach>(request).streams),
        creation_deadline_(Clock::now() + ctx.options.stream_creation_timeout) {}

  void run() {
    const Status status = conn_.serve(*this, ctx_.leftover);
    if (!status.ok()) log::info("streaming: remotecommand connection ended", {{"error", status.error().describe()}});
    conn_.stop();
    runner_.abort();
  }

  bool on_stream(uint32_t id, const spdy::Headers& headers, bool /*fin*/) override {
    const auto type = spdy::find_header(headers, "streamtype").value_or("");
    std::optional<uint32_t>* slot = type == "error"    ? &error_
                                    : type == "stdin"  ? &stdin_
                                    : type == "stdout" ? &stdout_
                                    : type == "stderr" ? &stderr_
                                    : type == "resize" ? &resize_
                                                       : nullptr;
    if (slot == nullptr || slot->has_value() || started_) return false;
    if (!conn_.reply(id, {}, false).ok()) return false;
    *slot = id;
    if (all_streams_present()) {
      started_ = true;
      runner_.start();
    }
    return true;
  }

  void on_data(uint32_t id, std::string_view data) override {
    if (stdin_ == id) runner_.stdin_data(data);
    if (resize_ == id) runner_.resize_bytes(data);
  }
  void on_remote_fin(uint32_t id) override {
    if (stdin_ == id) runner_.stdin_close();
  }
  void on_reset(uint32_t id) override {
    if (stdin_ == id) runner_.stdin_close();
  }
  bool on_tick() override {
    const auto now = Clock::now();
    if (!started_ && now > creation_deadline_) {
      log::info("streaming: client did not create its streams in time");
      return false;
    }
    const int64_t linger = linger_deadline_ns_;
    return linger == 0 || now.time_since_epoch().count() < linger;
  }

  void output(int fd, std::string_view data) override {
    const auto& id = fd == 2 ? stderr_ : stdout_;
    if (id) (void)conn_.send_data(*id, data, false);
  }
  void finish(const std::string& status_json, bool /*success*/) override {
    if (error_) (void)conn_.send_data(*error_, status_json, true);
    for (const auto& id : {stdout_, stderr_}) {
      if (id) (void)conn_.send_data(*id, {}, true);
    }
    // Like kubelet's conn.Close(): no new streams; the client closes once it read everything.
    (void)conn_.goaway(spdy::GoAwayStatus::kOk);
    ctx_.socket.shutdown_write();
    linger_deadline_ns_ = (Clock::now() + std::chrono::seconds(5)).time_since_epoch().count();
  }

 private:
  bool all_streams_present() const {
    return error_ && (!streams_.stdin || stdin_) && (!streams_.stdout || stdout_) && (!streams_.stderr || stderr_) &&
           (!streams_.tty || resize_);
  }

  ConnectionContext& ctx_;
  SpdyConnection conn_;
  CommandRunner runner_;
  ExecStreams streams_;
  std::optional<uint32_t> error_, stdin_, stdout_, stderr_, resize_;
  bool started_ = false;
  Clock::time_point creation_deadline_;
  std::atomic<int64_t> linger_deadline_ns_{0};  // set by finish() on the waiter thread
};

}  // namespace

void serve_command_spdy(ConnectionContext& ctx, const PendingRequest& request) {
  SpdyCommandSession session(ctx, request);
  session.run();
}

}  // namespace zoned::streaming
