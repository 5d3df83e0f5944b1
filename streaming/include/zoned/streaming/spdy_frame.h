// SPDY/3.1 framing (draft-mbelshe-httpbis-spdy-00 + the 3.1 flow-control changes): frame
// structs, an incremental parser that bounds everything it accepts, serializers, and the
// zlib header-block codec with the SPDY/3 dictionary. Shared by the server and the client,
// the way kubelet and kubectl share spdystream; it holds no connection state besides zlib's.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "zoned/common/result.h"

namespace zoned::streaming::spdy {

inline constexpr uint16_t kVersion = 3;

enum class FrameType : uint16_t {
  kSynStream = 1,
  kSynReply = 2,
  kRstStream = 3,
  kSettings = 4,
  kPing = 6,
  kGoAway = 7,
  kHeaders = 8,
  kWindowUpdate = 9,
};

inline constexpr uint8_t kFlagFin = 0x01;
inline constexpr uint8_t kFlagUnidirectional = 0x02;

// RST_STREAM status codes.
enum class RstStatus : uint32_t {
  kProtocolError = 1,
  kInvalidStream = 2,
  kRefusedStream = 3,
  kUnsupportedVersion = 4,
  kCancel = 5,
  kInternalError = 6,
  kFlowControlError = 7,
  kStreamInUse = 8,
  kStreamAlreadyClosed = 9,
  kFrameTooLarge = 11,
};

// GOAWAY status codes.
enum class GoAwayStatus : uint32_t { kOk = 0, kProtocolError = 1, kInternalError = 2 };

inline constexpr uint32_t kSettingsInitialWindowSize = 7;
inline constexpr uint32_t kDefaultInitialWindow = 64 * 1024;

// Header names are lower case; a value may hold several NUL-separated values (kept as is).
using Headers = std::vector<std::pair<std::string, std::string>>;
// The first value of `name` (lower case), or nullopt.
std::optional<std::string_view> find_header(const Headers& headers, std::string_view name);

// One frame as read from the wire. Control frames keep their raw payload; the typed
// accessors below decode it (header blocks need the connection's HeaderCodec).
struct Frame {
  bool control = false;
  FrameType type{};        // control frames
  uint32_t stream_id = 0;  // data frames
  uint8_t flags = 0;
  std::string payload;
};

struct Limits {
  uint32_t max_frame_payload = 1024 * 1024;  // any frame (the protocol allows 16 MiB)
  uint32_t max_header_block = 64 * 1024;     // a header block after decompression
  uint32_t max_headers = 100;                // name/value pairs per block
};

// Incremental parser: feed bytes as they arrive, take whole frames out. A frame longer than
// the limit is an error before its payload is buffered.
class FrameParser {
 public:
  explicit FrameParser(Limits limits) : limits_(limits) {}
  void feed(std::string_view bytes) { buffer_.append(bytes); }
  // A frame, nullopt when more bytes are needed, or an error (the connection is unusable).
  Result<std::optional<Frame>> next();
  size_t buffered() const { return buffer_.size(); }

 private:
  Limits limits_;
  std::string buffer_;
  size_t offset_ = 0;
};

// zlib with the SPDY/3 dictionary: one deflate and one inflate stream per connection and
// direction, as the protocol requires (header blocks compress against earlier ones).
class HeaderCodec {
 public:
  explicit HeaderCodec(Limits limits);
  ~HeaderCodec();
  HeaderCodec(const HeaderCodec&) = delete;
  HeaderCodec& operator=(const HeaderCodec&) = delete;

  Result<std::string> encode(const Headers& headers);
  // Inflates and parses one block; bounded by Limits (a "zip bomb" is an error).
  Result<Headers> decode(std::string_view compressed);

 private:
  Limits limits_;
  z_stream deflate_{};
  z_stream inflate_{};
  bool deflate_ok_ = false, inflate_ok_ = false;
};

// The SPDY/3 zlib dictionary (1423 bytes).
std::string_view header_dictionary();

// Decoded control frames.
struct SynStream {
  uint32_t stream_id = 0, associated_id = 0;
  uint8_t priority = 0;
  std::string_view header_block;
};
Result<SynStream> parse_syn_stream(const Frame& frame);
// SYN_REPLY and HEADERS: stream id + header block.
Result<std::pair<uint32_t, std::string_view>> parse_stream_headers(const Frame& frame);
Result<std::pair<uint32_t, RstStatus>> parse_rst_stream(const Frame& frame);
Result<std::vector<std::pair<uint32_t, uint32_t>>> parse_settings(const Frame& frame);  // id, value
Result<uint32_t> parse_ping(const Frame& frame);
Result<std::pair<uint32_t, GoAwayStatus>> parse_goaway(const Frame& frame);
Result<std::pair<uint32_t, uint32_t>> parse_window_update(const Frame& frame);  // stream, delta

// Serializers (whole frames, ready to write).
std::string data_frame(uint32_t stream_id, uint8_t flags, std::string_view data);
std::string control_frame(FrameType type, uint8_t flags, std::string_view payload);
std::string syn_stream_frame(uint32_t stream_id, uint8_t flags, std::string_view header_block);
std::string syn_reply_frame(uint32_t stream_id, uint8_t flags, std::string_view header_block);
std::string rst_stream_frame(uint32_t stream_id, RstStatus status);
std::string settings_frame(const std::vector<std::pair<uint32_t, uint32_t>>& entries);
std::string ping_frame(uint32_t id);
std::string goaway_frame(uint32_t last_good_stream, GoAwayStatus status);
std::string window_update_frame(uint32_t stream_id, uint32_t delta);

}  // namespace zoned::streaming::spdy
