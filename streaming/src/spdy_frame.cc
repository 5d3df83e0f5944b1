// SPDY/3.1 frame parsing and serialization. Everything read is bounded by Limits.
#include "zoned/streaming/spdy_frame.h"

#include <algorithm>
#include <cctype>

#include "wire.h"

namespace zoned::streaming::spdy {
namespace {

constexpr size_t kHeaderSize = 8;

Error protocol_error(std::string message) {
  return Error(ErrorCode::kInvalidArgument, "spdy: " + std::move(message));
}

}  // namespace

std::optional<std::string_view> find_header(const Headers& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (key == name) return std::string_view(value).substr(0, value.find('\0'));
  }
  return std::nullopt;
}

Result<std::optional<Frame>> FrameParser::next() {
  std::string_view avail = std::string_view(buffer_).substr(offset_);
  if (avail.size() < kHeaderSize) {
    if (offset_ > 0) {
      buffer_.erase(0, offset_);
      offset_ = 0;
    }
    return std::optional<Frame>();
  }
  Frame frame;
  const uint32_t first = wire::get32(avail, 0);
  frame.control = (first & 0x80000000u) != 0;
  frame.flags = static_cast<uint8_t>(avail[4]);
  const uint32_t length = wire::get24(avail, 5);
  if (frame.control) {
    const auto version = static_cast<uint16_t>((first >> 16) & 0x7fff);
    if (version != kVersion) return protocol_error("unsupported version " + std::to_string(version));
    frame.type = static_cast<FrameType>(first & 0xffff);
  } else {
    frame.stream_id = first & 0x7fffffff;
  }
  if (length > limits_.max_frame_payload) {
    return protocol_error("frame of " + std::to_string(length) + " bytes exceeds the limit of " +
                          std::to_string(limits_.max_frame_payload));
  }
  if (avail.size() < kHeaderSize + length) return std::optional<Frame>();
  frame.payload.assign(avail.substr(kHeaderSize, length));
  offset_ += kHeaderSize + length;
  if (offset_ == buffer_.size()) {
    buffer_.clear();
    offset_ = 0;
  }
  return std::optional<Frame>(std::move(frame));
}

HeaderCodec::HeaderCodec(Limits limits) : limits_(limits) {
  const auto dict = header_dictionary();
  deflate_ok_ = deflateInit(&deflate_, Z_DEFAULT_COMPRESSION) == Z_OK;
  if (deflate_ok_) {
    deflate_ok_ = deflateSetDictionary(&deflate_, reinterpret_cast<const Bytef*>(dict.data()),
                                       static_cast<uInt>(dict.size())) == Z_OK;
  }
  inflate_ok_ = inflateInit(&inflate_) == Z_OK;
}

HeaderCodec::~HeaderCodec() {
  deflateEnd(&deflate_);
  inflateEnd(&inflate_);
}

Result<std::string> HeaderCodec::encode(const Headers& headers) {
  if (!deflate_ok_) return Error(ErrorCode::kInternal, "spdy: zlib deflate unavailable");
  std::string block;
  wire::put32(block, static_cast<uint32_t>(headers.size()));
  for (const auto& [name, value] : headers) {
    std::string lower(name);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    wire::put32(block, static_cast<uint32_t>(lower.size()));
    block += lower;
    wire::put32(block, static_cast<uint32_t>(value.size()));
    block += value;
  }
  std::string out;
  deflate_.next_in = reinterpret_cast<Bytef*>(block.data());
  deflate_.avail_in = static_cast<uInt>(block.size());
  char chunk[4096];
  do {
    deflate_.next_out = reinterpret_cast<Bytef*>(chunk);
    deflate_.avail_out = sizeof(chunk);
    const int rc = deflate(&deflate_, Z_SYNC_FLUSH);
    if (rc != Z_OK && rc != Z_BUF_ERROR) return Error(ErrorCode::kInternal, "spdy: deflate failed");
    out.append(chunk, sizeof(chunk) - deflate_.avail_out);
  } while (deflate_.avail_out == 0);
  return out;
}

namespace {

Result<Headers> parse_header_block(std::string_view block, const Limits& limits) {
  if (block.size() < 4) return protocol_error("header block too short");
  const uint32_t count = wire::get32(block, 0);
  if (count > limits.max_headers) return protocol_error("too many headers: " + std::to_string(count));
  size_t at = 4;
  auto take = [&](std::string& out) -> bool {
    if (block.size() - at < 4) return false;
    const uint32_t n = wire::get32(block, at);
    at += 4;
    if (block.size() - at < n) return false;
    out.assign(block.substr(at, n));
    at += n;
    return true;
  };
  Headers headers;
  headers.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    std::string name, value;
    if (!take(name) || !take(value)) return protocol_error("truncated header block");
    if (name.empty()) return protocol_error("empty header name");
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    headers.emplace_back(std::move(name), std::move(value));
  }
  if (at != block.size()) return protocol_error("trailing bytes after the header block");
  return headers;
}

}  // namespace

Result<Headers> HeaderCodec::decode(std::string_view compressed) {
  if (!inflate_ok_) return Error(ErrorCode::kInternal, "spdy: zlib inflate unavailable");
  std::string out;
  inflate_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  inflate_.avail_in = static_cast<uInt>(compressed.size());
  char chunk[4096];
  while (true) {
    inflate_.next_out = reinterpret_cast<Bytef*>(chunk);
    inflate_.avail_out = sizeof(chunk);
    int rc = inflate(&inflate_, Z_SYNC_FLUSH);
    if (rc == Z_NEED_DICT) {
      const auto dict = header_dictionary();
      if (inflateSetDictionary(&inflate_, reinterpret_cast<const Bytef*>(dict.data()),
                               static_cast<uInt>(dict.size())) != Z_OK) {
        inflate_ok_ = false;
        return protocol_error("header block uses an unknown zlib dictionary");
      }
      continue;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      inflate_ok_ = false;  // the shared stream is unusable: the connection must end
      return protocol_error("corrupt compressed header block");
    }
    out.append(chunk, sizeof(chunk) - inflate_.avail_out);
    if (out.size() > limits_.max_header_block) {
      inflate_ok_ = false;
      return protocol_error("header block exceeds " + std::to_string(limits_.max_header_block) + " bytes");
    }
    if (inflate_.avail_out != 0 || (rc == Z_BUF_ERROR && inflate_.avail_in == 0)) break;
  }
  if (inflate_.avail_in != 0) return protocol_error("header block not fully consumed");
  return parse_header_block(out, limits_);
}

Result<SynStream> parse_syn_stream(const Frame& frame) {
  if (frame.payload.size() < 10) return protocol_error("SYN_STREAM too short");
  SynStream syn;
  syn.stream_id = wire::get32(frame.payload, 0) & 0x7fffffff;
  syn.associated_id = wire::get32(frame.payload, 4) & 0x7fffffff;
  syn.priority = static_cast<uint8_t>(static_cast<uint8_t>(frame.payload[8]) >> 5);
  syn.header_block = std::string_view(frame.payload).substr(10);
  if (syn.stream_id == 0) return protocol_error("SYN_STREAM for stream 0");
  return syn;
}

Result<std::pair<uint32_t, std::string_view>> parse_stream_headers(const Frame& frame) {
  if (frame.payload.size() < 4) return protocol_error("SYN_REPLY/HEADERS too short");
  const uint32_t id = wire::get32(frame.payload, 0) & 0x7fffffff;
  if (id == 0) return protocol_error("SYN_REPLY/HEADERS for stream 0");
  return std::pair<uint32_t, std::string_view>(id, std::string_view(frame.payload).substr(4));
}

Result<std::pair<uint32_t, RstStatus>> parse_rst_stream(const Frame& frame) {
  if (frame.payload.size() != 8) return protocol_error("RST_STREAM of wrong size");
  return std::pair(wire::get32(frame.payload, 0) & 0x7fffffff, static_cast<RstStatus>(wire::get32(frame.payload, 4)));
}

Result<std::vector<std::pair<uint32_t, uint32_t>>> parse_settings(const Frame& frame) {
  if (frame.payload.size() < 4) return protocol_error("SETTINGS too short");
  const uint32_t count = wire::get32(frame.payload, 0);
  if (count > 64 || frame.payload.size() != 4 + size_t{count} * 8) return protocol_error("SETTINGS of wrong size");
  std::vector<std::pair<uint32_t, uint32_t>> entries;
  for (uint32_t i = 0; i < count; ++i) {
    const size_t at = 4 + size_t{i} * 8;
    entries.emplace_back(wire::get32(frame.payload, at) & 0xffffff, wire::get32(frame.payload, at + 4));
  }
  return entries;
}

Result<uint32_t> parse_ping(const Frame& frame) {
  if (frame.payload.size() != 4) return protocol_error("PING of wrong size");
  return wire::get32(frame.payload, 0);
}

Result<std::pair<uint32_t, GoAwayStatus>> parse_goaway(const Frame& frame) {
  if (frame.payload.size() != 8) return protocol_error("GOAWAY of wrong size");
  return std::pair(wire::get32(frame.payload, 0) & 0x7fffffff,
                   static_cast<GoAwayStatus>(wire::get32(frame.payload, 4)));
}

Result<std::pair<uint32_t, uint32_t>> parse_window_update(const Frame& frame) {
  if (frame.payload.size() != 8) return protocol_error("WINDOW_UPDATE of wrong size");
  const uint32_t delta = wire::get32(frame.payload, 4) & 0x7fffffff;
  if (delta == 0) return protocol_error("WINDOW_UPDATE with a zero delta");
  return std::pair(wire::get32(frame.payload, 0) & 0x7fffffff, delta);
}

std::string data_frame(uint32_t stream_id, uint8_t flags, std::string_view data) {
  std::string out;
  out.reserve(kHeaderSize + data.size());
  wire::put32(out, stream_id & 0x7fffffff);
  out.push_back(static_cast<char>(flags));
  wire::put24(out, static_cast<uint32_t>(data.size()));
  out.append(data);
  return out;
}

std::string control_frame(FrameType type, uint8_t flags, std::string_view payload) {
  std::string out;
  out.reserve(kHeaderSize + payload.size());
  wire::put32(out, 0x80000000u | (uint32_t{kVersion} << 16) | static_cast<uint16_t>(type));
  out.push_back(static_cast<char>(flags));
  wire::put24(out, static_cast<uint32_t>(payload.size()));
  out.append(payload);
  return out;
}

std::string syn_stream_frame(uint32_t stream_id, uint8_t flags, std::string_view header_block) {
  std::string payload;
  wire::put32(payload, stream_id & 0x7fffffff);
  wire::put32(payload, 0);
  payload.push_back(0);  // priority 0
  payload.push_back(0);  // slot
  payload.append(header_block);
  return control_frame(FrameType::kSynStream, flags, payload);
}

std::string syn_reply_frame(uint32_t stream_id, uint8_t flags, std::string_view header_block) {
  std::string payload;
  wire::put32(payload, stream_id & 0x7fffffff);
  payload.append(header_block);
  return control_frame(FrameType::kSynReply, flags, payload);
}

std::string rst_stream_frame(uint32_t stream_id, RstStatus status) {
  std::string payload;
  wire::put32(payload, stream_id & 0x7fffffff);
  wire::put32(payload, static_cast<uint32_t>(status));
  return control_frame(FrameType::kRstStream, 0, payload);
}

std::string settings_frame(const std::vector<std::pair<uint32_t, uint32_t>>& entries) {
  std::string payload;
  wire::put32(payload, static_cast<uint32_t>(entries.size()));
  for (const auto& [id, value] : entries) {
    wire::put32(payload, id & 0xffffff);
    wire::put32(payload, value);
  }
  return control_frame(FrameType::kSettings, 0, payload);
}

std::string ping_frame(uint32_t id) {
  std::string payload;
  wire::put32(payload, id);
  return control_frame(FrameType::kPing, 0, payload);
}

std::string goaway_frame(uint32_t last_good_stream, GoAwayStatus status) {
  std::string payload;
  wire::put32(payload, last_good_stream & 0x7fffffff);
  wire::put32(payload, static_cast<uint32_t>(status));
  return control_frame(FrameType::kGoAway, 0, payload);
}

std::string window_update_frame(uint32_t stream_id, uint32_t delta) {
  std::string payload;
  wire::put32(payload, stream_id & 0x7fffffff);
  wire::put32(payload, delta & 0x7fffffff);
  return control_frame(FrameType::kWindowUpdate, 0, payload);
}

}  // namespace zoned::streaming::spdy
