// Endpoint: the IDM protocol engine over one ByteChannel, for either side. Single-threaded and
// non-blocking: the owner's poll loop waits on poll_fd(), calls ack_wakeup(), then pump().
//
//   Endpoint ep(std::move(channel));
//   ep.send(hello);                               // queued
//   for (;;) {
//     if (!ep.input_pending()) wait_readable(ep.poll_fd()), ep.ack_wakeup();
//     auto in = ep.pump();                        // writes what fits, reads a bounded amount
//     if (!in.ok()) break;                        // the connection is over; in.error() says why
//     for (auto& envelope : *in) handle(envelope);
//   }
//
// Everything received is decoded by FrameDecoder and checked by validate() before pump()
// returns it; the first violation (or the peer closing) kills the endpoint for good. Each
// pump() reads at most Limits::max_read_per_pump bytes, so a flooding peer cannot monopolise
// the caller's thread; input_pending() then says to pump again without waiting.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "zoned/common/result.h"
#include "zoned/idm/byte_channel.h"
#include "zoned/idm/frame.h"

namespace zoned::idm {

// Endpoint::Limits (outside the class so that `Limits = {}` can be a default argument in it).
struct EndpointLimits {
  // Largest frame payload, both ways (clamped to 1..kMaxFrameBytesCeiling).
  std::uint32_t max_frame_bytes = kDefaultMaxFrameBytes;
  // Encoded bytes queued by send() and not yet written; raised to hold at least one maximal frame.
  std::size_t max_outbound_bytes = 4 << 20;
  // Bytes read from the channel by one pump() (at least 1).
  std::size_t max_read_per_pump = 256 << 10;
};

class Endpoint {
 public:
  using Limits = EndpointLimits;

  explicit Endpoint(std::unique_ptr<ByteChannel> channel, Limits limits = {});
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  // Validates and encodes `envelope` and queues it; pump() writes it. kInvalidArgument if it
  // breaks validate() or the frame limit, kResourceExhausted if the queue would exceed
  // max_outbound_bytes (nothing is queued then), the endpoint's error once it is dead.
  Status send(const Envelope& envelope);
  // Encoded bytes queued, not yet written.
  std::size_t outbound_bytes() const { return outbound_bytes_; }

  // Writes what fits, then reads and decodes at most max_read_per_pump bytes, never waiting.
  // Returns the envelopes completed, in order, all valid. Fails, and the endpoint is dead for
  // good, on a framing or validation error from the peer (kInvalidArgument), when the peer
  // closed (kUnavailable; a frame cut short by the close is kInvalidArgument), or when the
  // channel broke. Envelopes that arrived before a clean close are returned first; the close
  // is reported by the next pump() (input_pending() is true meanwhile).
  Result<std::vector<Envelope>> pump();

  // True when pump() has more to give without a wakeup: it stopped at max_read_per_pump, or
  // it has a close to report. Also true before the first pump(): bytes may already be waiting
  // on a fresh channel (a vchan's ring is written before the client connects, and nothing
  // notifies the client about them).
  bool input_pending() const { return input_pending_; }

  // Poll for POLLIN; after it is readable, ack_wakeup() before pump() (see byte_channel.h).
  int poll_fd() const { return channel_->poll_fd(); }
  Status ack_wakeup();

  // False once pump() has failed: the endpoint is dead for good.
  bool alive() const { return !failure_.has_value(); }

  const Limits& limits() const { return limits_; }

 private:
  Status flush();
  Result<std::vector<Envelope>> read_and_decode();
  Error fail(Error error);

  std::unique_ptr<ByteChannel> channel_;
  Limits limits_;
  FrameDecoder decoder_;
  std::deque<std::string> outbound_;  // whole frames; the first may be partly written
  std::size_t front_written_ = 0;     // bytes of outbound_.front() already written
  std::size_t outbound_bytes_ = 0;
  std::vector<char> read_buffer_;
  bool input_pending_ = true;     // a fresh channel may hold bytes nobody was notified about
  std::optional<Error> closed_;   // the peer closed; reported by the next pump()
  std::optional<Error> failure_;  // dead for good
};

}  // namespace zoned::idm
