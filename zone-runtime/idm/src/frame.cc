#include "zoned/idm/frame.h"

#include <algorithm>
#include <utility>

namespace zoned::idm {
namespace {

std::uint32_t clamp_max(std::uint32_t max_frame_bytes) {
  return std::clamp<std::uint32_t>(max_frame_bytes, 1, kMaxFrameBytesCeiling);
}

std::uint32_t read_u32_le(const char* p) {
  auto byte = [p](int i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(p[i])); };
  return byte(0) | (byte(1) << 8) | (byte(2) << 16) | (byte(3) << 24);
}

Error invalid(std::string message) {
  return Error(ErrorCode::kInvalidArgument, "idm frame: " + std::move(message));
}

}  // namespace

Result<std::string> encode_frame(const Envelope& envelope, std::uint32_t max_frame_bytes) {
  if (envelope.body_case() == Envelope::BODY_NOT_SET) return invalid("envelope has no body");
  const std::size_t size = envelope.ByteSizeLong();
  const std::uint32_t max = clamp_max(max_frame_bytes);
  if (size == 0 || size > max) {
    return invalid("payload of " + std::to_string(size) + " bytes exceeds the limit of " + std::to_string(max));
  }
  std::string frame(kFrameHeaderBytes + size, '\0');
  frame[0] = static_cast<char>(kFrameMagic0);
  frame[1] = static_cast<char>(kFrameMagic1);
  frame[2] = static_cast<char>(kProtocolVersion);
  frame[3] = 0;  // flags: none defined in version 1
  for (int i = 0; i < 4; ++i) frame[static_cast<std::size_t>(4 + i)] = static_cast<char>((size >> (8 * i)) & 0xff);
  if (!envelope.SerializeToArray(frame.data() + kFrameHeaderBytes, static_cast<int>(size))) {
    return Error(ErrorCode::kInternal, "idm frame: serialising the envelope failed");
  }
  return frame;
}

FrameDecoder::FrameDecoder(std::uint32_t max_frame_bytes) : max_frame_bytes_(clamp_max(max_frame_bytes)) {}

Error FrameDecoder::fail(std::string message) {
  failure_ = invalid(std::move(message));
  buffer_.clear();
  buffer_.shrink_to_fit();
  return *failure_;
}

Status FrameDecoder::consume_header() {
  const auto* h = reinterpret_cast<const unsigned char*>(buffer_.data());
  if (h[0] != kFrameMagic0 || h[1] != kFrameMagic1) return fail("bad magic");
  if (h[2] != kProtocolVersion) return fail("unsupported protocol version " + std::to_string(h[2]));
  if (h[3] != 0) return fail("reserved flags set");
  payload_bytes_ = read_u32_le(buffer_.data() + 4);
  if (payload_bytes_ == 0) return fail("zero payload length");
  if (payload_bytes_ > max_frame_bytes_) {
    return fail("payload length " + std::to_string(payload_bytes_) + " exceeds the limit of " +
                std::to_string(max_frame_bytes_));
  }
  header_done_ = true;
  buffer_.reserve(kFrameHeaderBytes + payload_bytes_);
  return ok_status();
}

Result<Envelope> FrameDecoder::parse_payload() {
  Envelope envelope;
  if (!envelope.ParseFromArray(buffer_.data() + kFrameHeaderBytes, static_cast<int>(payload_bytes_))) {
    return fail("payload is not a valid Envelope");
  }
  if (envelope.body_case() == Envelope::BODY_NOT_SET) return fail("envelope has no body");
  return envelope;
}

Result<std::vector<Envelope>> FrameDecoder::feed(std::string_view bytes) {
  if (failure_) return *failure_;
  std::vector<Envelope> out;
  while (!bytes.empty()) {
    const std::size_t want = header_done_ ? kFrameHeaderBytes + payload_bytes_ : kFrameHeaderBytes;
    const std::size_t take = std::min(want - buffer_.size(), bytes.size());
    buffer_.append(bytes.substr(0, take));
    bytes.remove_prefix(take);
    if (buffer_.size() < want) break;
    if (!header_done_) {
      ZONED_TRY(consume_header());
      continue;
    }
    auto envelope = parse_payload();
    if (!envelope.ok()) return std::move(envelope).take_error();
    out.push_back(std::move(*envelope));
    buffer_.clear();
    header_done_ = false;
    payload_bytes_ = 0;
  }
  return out;
}

Status FrameDecoder::finish() {
  if (failure_) return *failure_;
  if (!buffer_.empty()) {
    return fail("stream ended inside a frame (" + std::to_string(buffer_.size()) + " bytes pending)");
  }
  return ok_status();
}

}  // namespace zoned::idm
