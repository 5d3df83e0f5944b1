// One SPDY/3.1 connection, either end: a reader loop (serve) that dispatches frames to a
// Handler on the calling thread, and thread-safe senders. It enforces the stream-id rules
// (peer streams have the peer's parity and grow; data for a stream that was never opened is a
// protocol error that ends the connection), bounds open streams, answers PING, and keeps
// flow-control windows: it always grants the peer window back as data is consumed, and honours
// the peer's windows once the peer shows it does flow control (a WINDOW_UPDATE or an
// INITIAL_WINDOW_SIZE setting). spdystream, which kubectl and kubelet use, sends neither and
// ignores windows, so without that rule a sender would stall after 64 KiB.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string_view>

#include "socket.h"
#include "zoned/streaming/spdy_frame.h"

namespace zoned::streaming {

class SpdyConnection {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    // The peer opened a stream (server side). Return false to refuse it (RST REFUSED_STREAM).
    virtual bool on_stream(uint32_t /*id*/, const spdy::Headers& /*headers*/, bool /*fin*/) { return false; }
    virtual void on_reply(uint32_t /*id*/, const spdy::Headers& /*headers*/) {}
    virtual void on_data(uint32_t /*id*/, std::string_view /*data*/) {}
    virtual void on_remote_fin(uint32_t /*id*/) {}
    virtual void on_reset(uint32_t /*id*/) {}
    // Called about every `tick` while idle; return false to end serve() (deadline passed).
    virtual bool on_tick() { return true; }
  };

  SpdyConnection(Socket& socket, bool is_server, spdy::Limits limits, size_t max_streams);

  // Reads until the peer closes (ok), stop() (ok) or bad input (error; GOAWAY sent first).
  // `initial` holds bytes already read past the HTTP head.
  Status serve(Handler& handler, std::string_view initial = {},
               std::chrono::milliseconds tick = std::chrono::milliseconds(200));
  void stop();
  bool stopped() const { return stopped_; }

  // `on_id` runs with the new stream's id before its SYN_STREAM reaches the wire, so the caller
  // can file the id where its Handler looks before any reply or data for it can arrive (under
  // the socket's write lock: it must not write, nor wait for the reader).
  Result<uint32_t> open_stream(const spdy::Headers& headers, bool fin, const std::function<void(uint32_t)>& on_id = {});
  Status reply(uint32_t id, const spdy::Headers& headers, bool fin);
  // Splits into frames of at most 32 KiB; waits for window when the peer does flow control.
  Status send_data(uint32_t id, std::string_view data, bool fin);
  Status reset(uint32_t id, spdy::RstStatus status);
  Status goaway(spdy::GoAwayStatus status);

 private:
  struct StreamState {
    bool local_open = true, remote_open = true;
    int64_t send_window = spdy::kDefaultInitialWindow;
    uint32_t recv_unacked = 0;
  };

  Status handle(Handler& handler, spdy::Frame& frame);
  Status handle_control(Handler& handler, spdy::Frame& frame);
  Status handle_syn_stream(Handler& handler, const spdy::Frame& frame);
  Status handle_data(Handler& handler, const spdy::Frame& frame);
  void handle_window_update(uint32_t id, uint32_t delta);
  void close_local(uint32_t id);
  void close_remote(uint32_t id);
  void forget(uint32_t id);
  Status write_reply_frame(const spdy::Headers& headers, uint32_t id, uint8_t flags);
  bool own_id(uint32_t id) const { return (id % 2 == 0) == is_server_; }

  Socket& socket_;
  const bool is_server_;
  const spdy::Limits limits_;
  const size_t max_streams_;
  spdy::HeaderCodec codec_;  // deflate: under socket_.write_mutex(); inflate: serve thread only

  std::mutex mu_;
  std::condition_variable window_cv_;
  std::map<uint32_t, StreamState> streams_;
  uint32_t last_peer_id_ = 0, next_own_id_;
  bool peer_flow_control_ = false;
  int64_t initial_send_window_ = spdy::kDefaultInitialWindow;
  int64_t conn_send_window_ = spdy::kDefaultInitialWindow;
  uint32_t conn_recv_unacked_ = 0;
  bool goaway_received_ = false;
  std::atomic<bool> stopped_{false};
};

}  // namespace zoned::streaming
