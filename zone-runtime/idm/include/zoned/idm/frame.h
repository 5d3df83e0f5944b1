// IDM framing: how Envelopes travel over a byte stream (the vchan between dom0 and a zone).
//
//   offset 0    2       3       4                8
//          +-------+-------+-------+----------------+----------------------------+
//          | magic | vers. | flags | payload length | payload: one Envelope       |
//          | 'Z''I'|   1   |   0   | u32 little-end.| (protobuf), 1..max bytes    |
//          +-------+-------+-------+----------------+----------------------------+
//
// The peer is untrusted. FrameDecoder checks the header before buffering any payload, never
// holds more than one frame, and on the first violation fails for good: the caller must drop
// the connection (there is no resynchronisation).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "idm.pb.h"
#include "zoned/common/result.h"

namespace zoned::idm {

using Envelope = v1::Envelope;

inline constexpr std::size_t kFrameHeaderBytes = 8;
inline constexpr std::uint8_t kFrameMagic0 = 'Z';
inline constexpr std::uint8_t kFrameMagic1 = 'I';
inline constexpr std::uint8_t kProtocolVersion = 1;
inline constexpr std::uint32_t kDefaultMaxFrameBytes = 1024 * 1024;
// No configuration may raise the limit past this (it keeps sizes within protobuf's int).
inline constexpr std::uint32_t kMaxFrameBytesCeiling = 64 * 1024 * 1024;

// Serialises `envelope` into one frame. Refuses (kInvalidArgument) an envelope with no body
// or whose payload would exceed `max_frame_bytes` (clamped to kMaxFrameBytesCeiling).
Result<std::string> encode_frame(const Envelope& envelope, std::uint32_t max_frame_bytes = kDefaultMaxFrameBytes);

// Splits a byte stream into Envelopes. Not thread-safe; one per connection.
class FrameDecoder {
 public:
  // `max_frame_bytes` bounds a frame's payload; it is clamped to 1..kMaxFrameBytesCeiling.
  explicit FrameDecoder(std::uint32_t max_frame_bytes = kDefaultMaxFrameBytes);

  // Consumes `bytes` (any split of the stream) and returns the envelopes completed by them, in
  // order. A partial frame is kept for the next call. On a violation returns kInvalidArgument
  // naming it, discards everything, and every later call fails the same way.
  Result<std::vector<Envelope>> feed(std::string_view bytes);

  // The peer closed the stream: fails if a partial frame is pending (or the decoder failed).
  Status finish();

  bool failed() const { return failure_.has_value(); }
  std::uint32_t max_frame_bytes() const { return max_frame_bytes_; }
  // Bytes of the current partial frame held; never more than kFrameHeaderBytes + max.
  std::size_t buffered_bytes() const { return buffer_.size(); }

 private:
  Status consume_header();
  Result<Envelope> parse_payload();
  Error fail(std::string message);

  std::uint32_t max_frame_bytes_;
  std::string buffer_;               // the header, then the payload, of the frame in progress
  std::uint32_t payload_bytes_ = 0;  // known once the header is complete
  bool header_done_ = false;
  std::optional<Error> failure_;
};

}  // namespace zoned::idm
