#include "websocket.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <sys/random.h>

#include <cerrno>

#include "wire.h"

namespace zoned::streaming::ws {
namespace {

Error ws_error(std::string message) {
  return Error(ErrorCode::kInvalidArgument, "websocket: " + std::move(message));
}

bool is_control(Opcode op) {
  return (static_cast<uint8_t>(op) & 0x8) != 0;
}

}  // namespace

Result<std::optional<Message>> MessageReader::next() {
  while (true) {
    const std::string_view b = buffer_;
    if (b.size() < 2) return std::optional<Message>();
    const auto b0 = static_cast<uint8_t>(b[0]);
    const auto b1 = static_cast<uint8_t>(b[1]);
    const bool fin = (b0 & 0x80) != 0;
    if ((b0 & 0x70) != 0) return ws_error("reserved bits set (no extension was negotiated)");
    const auto opcode = static_cast<Opcode>(b0 & 0x0f);
    const bool masked = (b1 & 0x80) != 0;
    if (masked != expect_masked_) return ws_error(masked ? "unexpected masked frame" : "client frame not masked");
    uint64_t len = b1 & 0x7f;
    size_t at = 2;
    if (len == 126) {
      if (b.size() < 4) return std::optional<Message>();
      len = wire::get16(b, 2);
      at = 4;
    } else if (len == 127) {
      if (b.size() < 10) return std::optional<Message>();
      len = (uint64_t{wire::get32(b, 2)} << 32) | wire::get32(b, 6);
      at = 10;
    }
    switch (opcode) {
      case Opcode::kContinuation:
      case Opcode::kText:
      case Opcode::kBinary:
      case Opcode::kClose:
      case Opcode::kPing:
      case Opcode::kPong: break;
      default: return ws_error("unknown opcode " + std::to_string(static_cast<int>(opcode)));
    }
    if (is_control(opcode) && (len > 125 || !fin)) return ws_error("bad control frame");
    const size_t so_far = partial_ ? partial_->data.size() : 0;
    if (len > max_message_ || so_far + len > max_message_)
      return ws_error("message exceeds " + std::to_string(max_message_) + " bytes");
    const size_t key_at = at;
    if (masked) at += 4;
    if (b.size() < at + len) return std::optional<Message>();
    std::string payload(b.substr(at, len));
    if (masked) {
      for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(payload[i] ^ b[key_at + i % 4]);
    }
    buffer_.erase(0, at + len);
    if (is_control(opcode)) return std::optional<Message>(Message{opcode, std::move(payload)});
    if (opcode == Opcode::kContinuation) {
      if (!partial_) return ws_error("continuation without a message");
      partial_->data += payload;
    } else {
      if (partial_) return ws_error("new message inside a fragmented one");
      partial_ = Message{opcode, std::move(payload)};
    }
    if (fin) {
      std::optional<Message> done = std::move(partial_);
      partial_.reset();
      return done;
    }
  }
}

Status random_bytes(void* out, size_t n) {
  auto* p = static_cast<char*>(out);
  while (n > 0) {
    const ssize_t got = ::getrandom(p, n, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      return sys_error("getrandom");
    }
    p += got;
    n -= static_cast<size_t>(got);
  }
  return ok_status();
}

std::string encode_frame(Opcode opcode, std::string_view payload, bool mask) {
  std::string out;
  out.reserve(payload.size() + 14);
  out.push_back(static_cast<char>(0x80 | static_cast<uint8_t>(opcode)));
  const uint8_t mask_bit = mask ? 0x80 : 0;
  if (payload.size() < 126) {
    out.push_back(static_cast<char>(mask_bit | payload.size()));
  } else if (payload.size() <= 0xffff) {
    out.push_back(static_cast<char>(mask_bit | 126));
    wire::put16(out, static_cast<uint16_t>(payload.size()));
  } else {
    out.push_back(static_cast<char>(mask_bit | 127));
    wire::put32(out, static_cast<uint32_t>(uint64_t{payload.size()} >> 32));
    wire::put32(out, static_cast<uint32_t>(payload.size() & 0xffffffffu));
  }
  if (!mask) {
    out.append(payload);
    return out;
  }
  char key[4] = {0, 0, 0, 0};
  (void)random_bytes(key, sizeof(key));
  out.append(key, sizeof(key));
  const size_t start = out.size();
  out.append(payload);
  for (size_t i = 0; i < payload.size(); ++i) out[start + i] = static_cast<char>(out[start + i] ^ key[i % 4]);
  return out;
}

std::string close_payload(uint16_t code, std::string_view reason) {
  std::string out;
  wire::put16(out, code);
  out.append(reason.substr(0, 123));
  return out;
}

std::string base64_encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(data.data()), static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string accept_key(std::string_view key) {
  std::string input(key);
  input += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  return base64_encode(std::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

}  // namespace zoned::streaming::ws
