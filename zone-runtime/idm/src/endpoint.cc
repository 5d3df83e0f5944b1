#include "zoned/idm/endpoint.h"

#include <algorithm>
#include <utility>

#include "zoned/idm/validate.h"

namespace zoned::idm {
namespace {

constexpr std::size_t kReadChunkBytes = 64 * 1024;

Endpoint::Limits sanitize(Endpoint::Limits limits) {
  limits.max_frame_bytes = std::clamp<std::uint32_t>(limits.max_frame_bytes, 1, kMaxFrameBytesCeiling);
  limits.max_outbound_bytes = std::max(limits.max_outbound_bytes, kFrameHeaderBytes + limits.max_frame_bytes);
  limits.max_read_per_pump = std::max<std::size_t>(limits.max_read_per_pump, 1);
  return limits;
}

}  // namespace

Endpoint::Endpoint(std::unique_ptr<ByteChannel> channel, Limits limits)
    : channel_(std::move(channel)),
      limits_(sanitize(limits)),
      decoder_(limits_.max_frame_bytes),
      read_buffer_(std::min(kReadChunkBytes, limits_.max_read_per_pump)) {}

Status Endpoint::send(const Envelope& envelope) {
  if (failure_) return *failure_;
  if (closed_) return *closed_;
  if (auto valid = validate(envelope); !valid.ok()) return std::move(valid).take_error().wrap("idm send");
  auto frame = encode_frame(envelope, limits_.max_frame_bytes);
  if (!frame.ok()) return std::move(frame).take_error().wrap("idm send");
  if (frame->size() > limits_.max_outbound_bytes - outbound_bytes_) {
    return Error(ErrorCode::kResourceExhausted, "idm send: " + std::to_string(outbound_bytes_) +
                                                    " bytes already queued for the peer (limit " +
                                                    std::to_string(limits_.max_outbound_bytes) + ")");
  }
  outbound_bytes_ += frame->size();
  outbound_.push_back(std::move(*frame));
  return ok_status();
}

Status Endpoint::ack_wakeup() {
  if (failure_) return *failure_;
  return channel_->ack_wakeup();
}

Error Endpoint::fail(Error error) {
  failure_ = error;
  input_pending_ = false;
  outbound_.clear();
  outbound_bytes_ = 0;
  front_written_ = 0;
  return error;
}

Status Endpoint::flush() {
  while (!outbound_.empty()) {
    const std::string& frame = outbound_.front();
    auto written = channel_->write_some(std::span<const char>(frame).subspan(front_written_));
    if (!written.ok()) return std::move(written).take_error().wrap("idm: writing to the peer");
    if (*written == 0) break;
    front_written_ += *written;
    outbound_bytes_ -= *written;
    if (front_written_ == frame.size()) {
      outbound_.pop_front();
      front_written_ = 0;
    }
  }
  return ok_status();
}

Result<std::vector<Envelope>> Endpoint::read_and_decode() {
  std::vector<Envelope> out;
  std::size_t total = 0;
  input_pending_ = false;
  while (total < limits_.max_read_per_pump) {
    const std::size_t want = std::min(read_buffer_.size(), limits_.max_read_per_pump - total);
    auto got = channel_->read_some(std::span<char>(read_buffer_.data(), want));
    if (!got.ok()) {
      if (got.error().code() != ErrorCode::kUnavailable) return std::move(got).take_error().wrap("idm: reading");
      // The peer closed. A frame cut short is a violation; a clean end is reported after the
      // envelopes that came before it.
      ZONED_TRY(decoder_.finish());
      closed_ = Error(ErrorCode::kUnavailable, "idm: the peer closed the connection");
      input_pending_ = true;
      break;
    }
    if (*got == 0) break;
    total += *got;
    auto decoded = decoder_.feed(std::string_view(read_buffer_.data(), *got));
    if (!decoded.ok()) return std::move(decoded).take_error();
    for (auto& envelope : *decoded) {
      ZONED_TRY(validate(envelope));
      out.push_back(std::move(envelope));
    }
  }
  if (total >= limits_.max_read_per_pump || closed_) input_pending_ = true;
  return out;
}

Result<std::vector<Envelope>> Endpoint::pump() {
  if (failure_) return *failure_;
  if (closed_) return fail(*closed_);
  if (auto flushed = flush(); !flushed.ok()) {
    if (flushed.error().code() != ErrorCode::kUnavailable) return fail(std::move(flushed).take_error());
    // The peer is gone: what we had queued is lost, but what it sent before going is still
    // delivered (up to this pump's budget); the next pump() reports the close.
    outbound_.clear();
    outbound_bytes_ = 0;
    front_written_ = 0;
    closed_ = Error(ErrorCode::kUnavailable, "idm: the peer closed the connection");
  }
  auto envelopes = read_and_decode();
  if (!envelopes.ok()) return fail(std::move(envelopes).take_error());
  return envelopes;
}

}  // namespace zoned::idm
