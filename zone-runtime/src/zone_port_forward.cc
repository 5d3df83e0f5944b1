// Port forwarding: a TCP connection the zone's agent makes to 127.0.0.1:port inside the zone,
// relayed as StreamData (STDIN towards the port, STDOUT back) with windows both ways. The agent
// may send only what we granted (kWindow at most outstanding), so a hostile agent cannot make
// us buffer more than kWindow per connection: a chunk beyond it ends the connection.
#include <algorithm>
#include <cstring>
#include <deque>

#include "zone_manager_impl.h"
#include "zoned/common/log.h"
#include "zoned/idm/validate.h"

namespace zoned::zone_runtime {

namespace {
constexpr size_t kWindow = 256 * 1024;        // what the agent may have in flight towards us
constexpr size_t kChunk = 64 * 1024;          // StreamData payload we send
constexpr auto kPoll = std::chrono::milliseconds(200);  // re-check the connection while blocked
}  // namespace

struct PortState {
  uint32_t stream_id = 0;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::string> inbound;  // from the port, not read yet
  size_t inbound_bytes = 0;
  size_t granted = kWindow;    // bytes the agent may still send us
  size_t credit = idm::kPortForwardInitialWindow;  // bytes we may still send the agent
  bool eof = false;            // the port's side half-closed
  bool closed = false;         // no more data either way
  bool remote_gone = false;    // the agent forgot the connection: nothing more can be sent
  std::string error;           // why it closed abnormally
};

namespace {

class PortStreamImpl final : public PortStream {
 public:
  PortStreamImpl(ZoneManagerImpl& manager, std::shared_ptr<idm::Client> client, std::string zone_id,
                 std::shared_ptr<PortState> state)
      : manager_(manager), client_(std::move(client)), zone_id_(std::move(zone_id)), state_(std::move(state)) {}

  ~PortStreamImpl() override { close(); }

  Result<size_t> read(char* buf, size_t n) override {
    if (n == 0) return size_t{0};
    size_t got = 0;
    {
      std::unique_lock lock(state_->mu);
      while (state_->inbound.empty() && !state_->eof && !state_->closed) {
        if (!client_->alive()) {
          state_->closed = true;
          state_->error = "the zone's agent connection ended";
          break;
        }
        state_->cv.wait_for(lock, kPoll);
      }
      if (state_->inbound.empty()) {
        if (state_->eof && !state_->closed) return size_t{0};
        if (state_->error.empty()) return size_t{0};
        return Error(ErrorCode::kUnavailable, "port connection: " + state_->error);
      }
      while (got < n && !state_->inbound.empty()) {
        std::string& front = state_->inbound.front();
        const size_t k = std::min(n - got, front.size());
        std::memcpy(buf + got, front.data(), k);
        got += k;
        if (k == front.size()) {
          state_->inbound.pop_front();
        } else {
          front.erase(0, k);
        }
      }
      state_->inbound_bytes -= got;
      consumed_ += got;
      if (consumed_ < kWindow / 2 || state_->eof || state_->closed) return got;
    }
    // Half the window was consumed: grant it again (outside the lock; a round trip).
    idm::v1::Request req;
    req.mutable_port_forward_window()->set_stream_id(state_->stream_id);
    req.mutable_port_forward_window()->set_bytes(static_cast<uint32_t>(consumed_));
    {
      std::lock_guard lock(state_->mu);
      state_->granted += consumed_;
    }
    consumed_ = 0;
    auto granted = client_->call(req, manager_.request_timeout());
    if (!granted.ok()) log::debug("port window grant failed", {{"error", granted.error().describe()}});
    return got;
  }

  Status write(std::string_view data) override {
    while (!data.empty()) {
      size_t n = 0;
      {
        std::unique_lock lock(state_->mu);
        while (state_->credit == 0 && !state_->closed && !state_->remote_gone) {
          if (!client_->alive()) {
            state_->closed = true;
            state_->error = "the zone's agent connection ended";
            break;
          }
          state_->cv.wait_for(lock, kPoll);
        }
        if (state_->closed || state_->remote_gone) {
          return Error(ErrorCode::kUnavailable,
                       "port connection closed" + (state_->error.empty() ? "" : ": " + state_->error));
        }
        n = std::min({data.size(), kChunk, state_->credit});
        state_->credit -= n;
      }
      idm::v1::StreamData chunk;
      chunk.set_stream_id(state_->stream_id);
      chunk.set_fd(idm::v1::STREAM_FD_STDIN);
      chunk.set_data(std::string(data.substr(0, n)));
      ZONED_TRY(client_->send_stream(chunk, manager_.request_timeout()));
      data.remove_prefix(n);
    }
    return ok_status();
  }

  Status close_write() override {
    {
      std::lock_guard lock(state_->mu);
      if (state_->closed) return ok_status();
    }
    idm::v1::StreamData chunk;
    chunk.set_stream_id(state_->stream_id);
    chunk.set_fd(idm::v1::STREAM_FD_STDIN);
    chunk.set_eof(true);
    return client_->send_stream(chunk, manager_.request_timeout());
  }

  void close() override {
    bool was_closed = false;
    {
      std::lock_guard lock(state_->mu);
      if (closed_once_) return;
      closed_once_ = true;
      was_closed = state_->closed;
      state_->closed = true;
      state_->inbound.clear();
      state_->inbound_bytes = 0;
      state_->cv.notify_all();
    }
    if (!was_closed && client_->alive()) {
      idm::v1::Request req;
      req.mutable_port_forward_close()->set_stream_id(state_->stream_id);
      (void)client_->call(req, manager_.request_timeout());
    }
    manager_.forget_port(zone_id_, state_->stream_id);
  }

 private:
  ZoneManagerImpl& manager_;
  std::shared_ptr<idm::Client> client_;
  const std::string zone_id_;
  std::shared_ptr<PortState> state_;
  size_t consumed_ = 0;     // read since the last grant (reader thread only)
  bool closed_once_ = false;  // state_->mu
};

}  // namespace

Result<std::unique_ptr<PortStream>> ZoneManagerImpl::dial(const std::string& zone_key, uint16_t port) {
  if (port == 0) return Error(ErrorCode::kInvalidArgument, "port forward: port 0");
  auto zone = find_zone(zone_key);
  if (!zone.ok()) return zone.error();
  const std::string zone_id = (*zone)->stored.zone.id;
  {
    std::lock_guard lock(mu_);
    if ((*zone)->stored.zone.state != ZoneState::kRunning) {
      return Error(ErrorCode::kFailedPrecondition, "zone " + zone_key + " is not running");
    }
  }
  auto client = client_of(zone_id);
  if (!client.ok()) return client.error();
  auto state = std::make_shared<PortState>();
  {
    std::lock_guard lock(mu_);
    state->stream_id = (*zone)->stored.next_stream_id++;
    (*zone)->stream_to_port[state->stream_id] = state;
  }
  idm::v1::Request req;
  auto* open = req.mutable_port_forward_open();
  open->set_stream_id(state->stream_id);
  open->set_port(port);
  open->set_window(static_cast<uint32_t>(kWindow));
  auto opened = (*client)->call(req, options_.request_timeout);
  if (!opened.ok()) {
    forget_port(zone_id, state->stream_id);
    return opened.error().wrap("port forward to 127.0.0.1:" + std::to_string(port) + " in zone " + zone_id.substr(0, 12));
  }
  return std::unique_ptr<PortStream>(new PortStreamImpl(*this, *client, zone_id, state));
}

void ZoneManagerImpl::forget_port(const std::string& zone_id, uint32_t stream_id) {
  std::lock_guard lock(mu_);
  auto it = zones_.find(zone_id);
  if (it != zones_.end()) it->second->stream_to_port.erase(stream_id);
}

bool ZoneManagerImpl::on_port_stream(Zone& zone, const idm::v1::StreamData& data) {
  std::shared_ptr<PortState> state;
  {
    std::lock_guard lock(mu_);
    auto it = zone.stream_to_port.find(data.stream_id());
    if (it == zone.stream_to_port.end()) return false;
    state = it->second;
  }
  std::lock_guard lock(state->mu);
  if (state->closed) return true;
  if (data.fd() != idm::v1::STREAM_FD_STDOUT) {
    log::warn("zone agent sent port data on the wrong fd; closing it", {{"stream", data.stream_id()}});
    state->closed = true;
    state->error = "protocol violation by the zone's agent";
  } else if (data.data().size() > state->granted) {
    log::warn("zone agent overran a port window; closing it", {{"stream", data.stream_id()}});
    state->closed = true;
    state->error = "the zone's agent sent more than its window";
    state->inbound.clear();
    state->inbound_bytes = 0;
  } else if (state->eof && !data.data().empty()) {
    state->closed = true;
    state->error = "data after end of stream from the zone's agent";
  } else {
    if (!data.data().empty()) {
      state->granted -= data.data().size();
      state->inbound_bytes += data.data().size();
      state->inbound.push_back(data.data());
    }
    if (data.eof()) state->eof = true;
  }
  state->cv.notify_all();
  return true;
}

void ZoneManagerImpl::on_port_event(Zone& zone, const idm::v1::Event& event) {
  const uint32_t stream_id = event.has_port_forward_window() ? event.port_forward_window().stream_id()
                                                             : event.port_forward_closed().stream_id();
  std::shared_ptr<PortState> state;
  {
    std::lock_guard lock(mu_);
    auto it = zone.stream_to_port.find(stream_id);
    if (it == zone.stream_to_port.end()) return;
    state = it->second;
  }
  std::lock_guard lock(state->mu);
  if (event.has_port_forward_window()) {
    state->credit += event.port_forward_window().bytes();
    if (state->credit > idm::kMaxPortForwardWindow) {
      state->closed = true;
      state->error = "the zone's agent granted an oversized window";
    }
  } else {
    state->closed = !event.port_forward_closed().message().empty() || state->closed;
    state->eof = true;
    state->remote_gone = true;
    if (!event.port_forward_closed().message().empty()) state->error = event.port_forward_closed().message();
  }
  state->cv.notify_all();
}

}  // namespace zoned::zone_runtime
