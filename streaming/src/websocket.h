// RFC 6455 framing: an incremental message reader (reassembles fragments, checks masking in
// the required direction, bounds message size) and a frame encoder; the handshake key.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "zoned/common/result.h"

namespace zoned::streaming::ws {

enum class Opcode : uint8_t { kContinuation = 0, kText = 1, kBinary = 2, kClose = 8, kPing = 9, kPong = 10 };

struct Message {
  Opcode opcode = Opcode::kBinary;  // never kContinuation
  std::string data;
};

class MessageReader {
 public:
  // A server reads masked frames, a client unmasked ones.
  MessageReader(bool expect_masked, size_t max_message) : expect_masked_(expect_masked), max_message_(max_message) {}
  void feed(std::string_view bytes) { buffer_.append(bytes); }
  Result<std::optional<Message>> next();

 private:
  bool expect_masked_;
  size_t max_message_;
  std::string buffer_;
  std::optional<Message> partial_;  // a fragmented data message in progress
};

// One unfragmented frame. Clients must mask (a random key).
std::string encode_frame(Opcode opcode, std::string_view payload, bool mask);
// A close frame payload: code (big endian) + reason.
std::string close_payload(uint16_t code, std::string_view reason);
// base64(SHA-1(key + GUID)), the Sec-WebSocket-Accept value.
std::string accept_key(std::string_view key);
std::string base64_encode(std::string_view data);
// Random bytes from the kernel (getrandom).
Status random_bytes(void* out, size_t n);

}  // namespace zoned::streaming::ws
