#include "spdy_connection.h"

#include <algorithm>

#include "zoned/common/log.h"

namespace zoned::streaming {

namespace {
constexpr size_t kMaxDataChunk = 32 * 1024;
constexpr uint32_t kWindowUpdateThreshold = spdy::kDefaultInitialWindow / 2;

Error protocol_error(std::string message) {
  return Error(ErrorCode::kInvalidArgument, "spdy: " + std::move(message));
}
}  // namespace

SpdyConnection::SpdyConnection(Socket& socket, bool is_server, spdy::Limits limits, size_t max_streams)
    : socket_(socket),
      is_server_(is_server),
      limits_(limits),
      max_streams_(max_streams),
      codec_(limits),
      next_own_id_(is_server ? 2 : 1) {}

Status SpdyConnection::serve(Handler& handler, std::string_view initial, std::chrono::milliseconds tick) {
  spdy::FrameParser parser(limits_);
  char buf[16 * 1024];
  bool first = !initial.empty();
  while (!stopped_) {
    auto got = first ? Result<size_t>(initial.size()) : socket_.read_some(buf, sizeof(buf), tick);
    if (!got) {
      if (got.error().code() == ErrorCode::kDeadlineExceeded) {
        if (!handler.on_tick()) return Error(ErrorCode::kDeadlineExceeded, "spdy: deadline passed");
        continue;
      }
      if (stopped_) return ok_status();
      return std::move(got).take_error().wrap("spdy: reading");
    }
    if (*got == 0) return ok_status();  // peer closed
    parser.feed(first ? initial : std::string_view(buf, *got));
    first = false;
    while (true) {
      auto frame = parser.next();
      Status status = frame ? ok_status() : Status(std::move(frame).take_error());
      if (status.ok() && !frame->has_value()) break;
      if (status.ok()) status = handle(handler, **frame);
      if (!status.ok()) {
        (void)goaway(spdy::GoAwayStatus::kProtocolError);
        return status;
      }
    }
  }
  return ok_status();
}

void SpdyConnection::stop() {
  stopped_ = true;
  socket_.shutdown_both();
  window_cv_.notify_all();
}

Status SpdyConnection::handle(Handler& handler, spdy::Frame& frame) {
  if (frame.control) return handle_control(handler, frame);
  return handle_data(handler, frame);
}

Status SpdyConnection::handle_control(Handler& handler, spdy::Frame& frame) {
  switch (frame.type) {
    case spdy::FrameType::kSynStream: return handle_syn_stream(handler, frame);
    case spdy::FrameType::kSynReply: {
      auto parsed = spdy::parse_stream_headers(frame);
      if (!parsed) return std::move(parsed).take_error();
      auto headers = codec_.decode(parsed->second);
      if (!headers) return std::move(headers).take_error();
      const uint32_t id = parsed->first;
      if (!own_id(id)) return protocol_error("SYN_REPLY for a stream we did not open");
      handler.on_reply(id, *headers);
      if ((frame.flags & spdy::kFlagFin) != 0) {
        close_remote(id);
        handler.on_remote_fin(id);
      }
      return ok_status();
    }
    case spdy::FrameType::kHeaders: {
      auto parsed = spdy::parse_stream_headers(frame);
      if (!parsed) return std::move(parsed).take_error();
      auto headers = codec_.decode(parsed->second);  // keeps the zlib stream in step; contents unused
      if (!headers) return std::move(headers).take_error();
      if ((frame.flags & spdy::kFlagFin) != 0) {
        close_remote(parsed->first);
        handler.on_remote_fin(parsed->first);
      }
      return ok_status();
    }
    case spdy::FrameType::kRstStream: {
      auto parsed = spdy::parse_rst_stream(frame);
      if (!parsed) return std::move(parsed).take_error();
      forget(parsed->first);
      handler.on_reset(parsed->first);
      return ok_status();
    }
    case spdy::FrameType::kSettings: {
      auto entries = spdy::parse_settings(frame);
      if (!entries) return std::move(entries).take_error();
      for (const auto& [id, value] : *entries) {
        if (id != spdy::kSettingsInitialWindowSize) continue;
        if (value > 0x7fffffff) return protocol_error("initial window too large");
        std::lock_guard lock(mu_);
        const int64_t delta = int64_t{value} - initial_send_window_;
        initial_send_window_ = value;
        peer_flow_control_ = true;
        for (auto& [sid, st] : streams_) st.send_window += delta;
      }
      window_cv_.notify_all();
      return ok_status();
    }
    case spdy::FrameType::kPing: {
      auto id = spdy::parse_ping(frame);
      if (!id) return std::move(id).take_error();
      // Pings with the peer's parity are answered; ours coming back need nothing.
      if (((*id % 2) == 1) == is_server_) return socket_.write_all(spdy::ping_frame(*id));
      return ok_status();
    }
    case spdy::FrameType::kGoAway: {
      auto parsed = spdy::parse_goaway(frame);
      if (!parsed) return std::move(parsed).take_error();
      std::lock_guard lock(mu_);
      goaway_received_ = true;
      return ok_status();
    }
    case spdy::FrameType::kWindowUpdate: {
      auto parsed = spdy::parse_window_update(frame);
      if (!parsed) return std::move(parsed).take_error();
      handle_window_update(parsed->first, parsed->second);
      return ok_status();
    }
  }
  return ok_status();  // unknown control frames are ignored, as the protocol says
}

Status SpdyConnection::handle_syn_stream(Handler& handler, const spdy::Frame& frame) {
  auto syn = spdy::parse_syn_stream(frame);
  if (!syn) return std::move(syn).take_error();
  // Always inflate, so the shared zlib stream stays in step even for refused streams.
  auto headers = codec_.decode(syn->header_block);
  if (!headers) return std::move(headers).take_error();
  const uint32_t id = syn->stream_id;
  bool refuse = false;
  {
    std::lock_guard lock(mu_);
    if (own_id(id) || id <= last_peer_id_) {
      return protocol_error("SYN_STREAM with invalid stream id " + std::to_string(id));
    }
    last_peer_id_ = id;
    refuse = streams_.size() >= max_streams_ || goaway_received_;
    if (!refuse) {
      StreamState st;
      st.send_window = initial_send_window_;
      st.remote_open = (frame.flags & spdy::kFlagFin) == 0;
      st.local_open = (frame.flags & spdy::kFlagUnidirectional) == 0;
      streams_[id] = st;
    }
  }
  if (refuse) return socket_.write_all(spdy::rst_stream_frame(id, spdy::RstStatus::kRefusedStream));
  const bool fin = (frame.flags & spdy::kFlagFin) != 0;
  if (!handler.on_stream(id, *headers, fin)) {
    forget(id);
    return socket_.write_all(spdy::rst_stream_frame(id, spdy::RstStatus::kRefusedStream));
  }
  if (fin) handler.on_remote_fin(id);
  return ok_status();
}

Status SpdyConnection::handle_data(Handler& handler, const spdy::Frame& frame) {
  const uint32_t id = frame.stream_id;
  const auto len = static_cast<uint32_t>(frame.payload.size());
  bool known = false, send_conn_update = false;
  uint32_t stream_update = 0, conn_update = 0;
  {
    std::lock_guard lock(mu_);
    const bool ever_opened = own_id(id) ? id < next_own_id_ : (id != 0 && id <= last_peer_id_);
    if (!ever_opened) return protocol_error("DATA for unknown stream " + std::to_string(id));
    auto it = streams_.find(id);
    known = it != streams_.end() && it->second.remote_open;
    conn_recv_unacked_ += len;
    if (conn_recv_unacked_ >= kWindowUpdateThreshold) {
      conn_update = std::exchange(conn_recv_unacked_, 0);
      send_conn_update = true;
    }
    if (known) {
      it->second.recv_unacked += len;
      if (it->second.recv_unacked >= kWindowUpdateThreshold) stream_update = std::exchange(it->second.recv_unacked, 0);
    }
  }
  // Data racing a reset or arriving for a closed stream is dropped (its bytes still count).
  if (known) {
    if (len > 0) handler.on_data(id, frame.payload);
    if ((frame.flags & spdy::kFlagFin) != 0) {
      close_remote(id);
      handler.on_remote_fin(id);
    }
  }
  if (stream_update > 0) ZONED_TRY(socket_.write_all(spdy::window_update_frame(id, stream_update)));
  if (send_conn_update) ZONED_TRY(socket_.write_all(spdy::window_update_frame(0, conn_update)));
  return ok_status();
}

void SpdyConnection::handle_window_update(uint32_t id, uint32_t delta) {
  {
    std::lock_guard lock(mu_);
    peer_flow_control_ = true;
    if (id == 0) {
      conn_send_window_ = std::min<int64_t>(conn_send_window_ + delta, 0x7fffffff);
    } else if (auto it = streams_.find(id); it != streams_.end()) {
      it->second.send_window = std::min<int64_t>(it->second.send_window + delta, 0x7fffffff);
    }
  }
  window_cv_.notify_all();
}

void SpdyConnection::close_local(uint32_t id) {
  std::lock_guard lock(mu_);
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  it->second.local_open = false;
  if (!it->second.remote_open) streams_.erase(it);
}

void SpdyConnection::close_remote(uint32_t id) {
  std::lock_guard lock(mu_);
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  it->second.remote_open = false;
  if (!it->second.local_open) streams_.erase(it);
}

void SpdyConnection::forget(uint32_t id) {
  {
    std::lock_guard lock(mu_);
    streams_.erase(id);
  }
  window_cv_.notify_all();
}

Status SpdyConnection::write_reply_frame(const spdy::Headers& headers, uint32_t id, uint8_t flags) {
  std::lock_guard lock(socket_.write_mutex());
  auto block = codec_.encode(headers);
  if (!block) return std::move(block).take_error();
  return socket_.write_all_locked(spdy::syn_reply_frame(id, flags, *block));
}

Result<uint32_t> SpdyConnection::open_stream(const spdy::Headers& headers, bool fin,
                                             const std::function<void(uint32_t)>& on_id) {
  // Stream ids must reach the wire in increasing order: allocate and write under the write lock
  // (lock order everywhere: the socket's write lock, then mu_).
  std::lock_guard write_lock(socket_.write_mutex());
  uint32_t id = 0;
  {
    std::lock_guard lock(mu_);
    if (goaway_received_ || stopped_) return Error(ErrorCode::kUnavailable, "spdy: connection is going away");
    if (streams_.size() >= max_streams_) return Error(ErrorCode::kResourceExhausted, "spdy: too many streams");
    id = next_own_id_;
    next_own_id_ += 2;
    StreamState st;
    st.send_window = initial_send_window_;
    st.local_open = !fin;
    streams_[id] = st;
  }
  auto block = codec_.encode(headers);
  if (!block) return std::move(block).take_error();
  if (on_id) on_id(id);
  ZONED_TRY(socket_.write_all_locked(spdy::syn_stream_frame(id, fin ? spdy::kFlagFin : 0, *block)));
  return id;
}

Status SpdyConnection::reply(uint32_t id, const spdy::Headers& headers, bool fin) {
  ZONED_TRY(write_reply_frame(headers, id, fin ? spdy::kFlagFin : 0));
  if (fin) close_local(id);
  return ok_status();
}

Status SpdyConnection::send_data(uint32_t id, std::string_view data, bool fin) {
  do {
    size_t chunk = std::min(data.size(), kMaxDataChunk);
    {
      std::unique_lock lock(mu_);
      auto usable = [&]() -> int64_t {
        auto it = streams_.find(id);
        if (it == streams_.end() || !it->second.local_open) return -1;
        if (!peer_flow_control_) return static_cast<int64_t>(chunk);
        return std::min(it->second.send_window, conn_send_window_);
      };
      window_cv_.wait(lock, [&] { return stopped_ || chunk == 0 || usable() != 0; });
      const int64_t window = usable();
      if (stopped_ || window < 0)
        return Error(ErrorCode::kCancelled, "spdy: stream " + std::to_string(id) + " is closed");
      chunk = std::min(chunk, static_cast<size_t>(std::max<int64_t>(window, 0)));
      if (peer_flow_control_) {
        streams_[id].send_window -= static_cast<int64_t>(chunk);
        conn_send_window_ -= static_cast<int64_t>(chunk);
      }
    }
    const bool last = chunk == data.size();
    ZONED_TRY(socket_.write_all(spdy::data_frame(id, last && fin ? spdy::kFlagFin : 0, data.substr(0, chunk))));
    data.remove_prefix(chunk);
  } while (!data.empty());
  if (fin) close_local(id);
  return ok_status();
}

Status SpdyConnection::reset(uint32_t id, spdy::RstStatus status) {
  forget(id);
  return socket_.write_all(spdy::rst_stream_frame(id, status));
}

Status SpdyConnection::goaway(spdy::GoAwayStatus status) {
  uint32_t last = 0;
  {
    std::lock_guard lock(mu_);
    last = last_peer_id_;
  }
  return socket_.write_all(spdy::goaway_frame(last, status));
}

}  // namespace zoned::streaming
