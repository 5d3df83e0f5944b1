// Fuzzes the IDM FrameDecoder as a zone would attack it: an arbitrary byte stream, delivered in
// arbitrary pieces. Every envelope that decodes must validate or be rejected cleanly, and must
// survive encode -> decode unchanged.
//
// Input layout: byte 0 picks the frame limit, bytes 1..8 seed the chunk sizes, the rest is the
// stream.
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "zoned/idm/frame.h"
#include "zoned/idm/validate.h"

namespace {

void check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "idm_decoder_fuzz: invariant broken: %s\n", what);
    std::abort();
  }
}

std::uint32_t pick_limit(std::uint8_t selector) {
  switch (selector % 4) {
    case 0: return zoned::idm::kDefaultMaxFrameBytes;
    case 1: return 4096;
    case 2: return 64;
    default: return 1 + selector;  // tiny limits: 1..256
  }
}

// encode -> decode must give back the same message, and encoding is stable.
void check_round_trip(const zoned::idm::Envelope& envelope, std::uint32_t limit) {
  auto frame = zoned::idm::encode_frame(envelope, limit);
  if (!frame.ok()) {
    // Re-serialising may differ in size from what the peer sent (non-canonical varints, merged
    // repeated sub-messages); only the size check may refuse a decoded envelope.
    check(envelope.ByteSizeLong() > limit, "encode_frame refused a decodable envelope within the limit");
    return;
  }
  zoned::idm::FrameDecoder decoder(limit);
  auto decoded = decoder.feed(*frame);
  check(decoded.ok(), "re-encoded frame did not decode");
  check(decoded->size() == 1, "re-encoded frame did not decode to one envelope");
  check(decoder.finish().ok(), "re-encoded frame left bytes pending");
  check(google::protobuf::util::MessageDifferencer::Equals(envelope, (*decoded)[0]), "round trip changed the message");
  auto again = zoned::idm::encode_frame((*decoded)[0], limit);
  check(again.ok() && *again == *frame, "encoding is not stable");
  check(zoned::idm::validate(envelope).ok() == zoned::idm::validate((*decoded)[0]).ok(), "validate is not stable");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);  // invalid UTF-8 in string fields is logged; mute it
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 9) return 0;
  const std::uint32_t limit = pick_limit(data[0]);
  std::uint64_t chunk_seed = 0;
  std::memcpy(&chunk_seed, data + 1, sizeof(chunk_seed));
  std::string_view stream(reinterpret_cast<const char*>(data + 9), size - 9);

  zoned::idm::FrameDecoder decoder(limit);
  bool failed = false;
  while (!stream.empty()) {
    // Chunk sizes 1..256 from the seed, rotating; a zero seed feeds everything at once.
    std::size_t chunk = chunk_seed == 0 ? stream.size() : 1 + (chunk_seed & 0xff);
    chunk_seed = (chunk_seed >> 8) | (chunk_seed << 56);
    chunk = std::min(chunk, stream.size());
    auto envelopes = decoder.feed(stream.substr(0, chunk));
    stream.remove_prefix(chunk);
    check(decoder.buffered_bytes() <= zoned::idm::kFrameHeaderBytes + limit, "decoder buffered more than a frame");
    if (!envelopes.ok()) {
      check(envelopes.error().code() == zoned::ErrorCode::kInvalidArgument, "decode error is not kInvalidArgument");
      check(decoder.failed(), "decoder not failed after an error");
      failed = true;
      break;
    }
    for (const auto& envelope : *envelopes) {
      check(envelope.body_case() != zoned::idm::Envelope::BODY_NOT_SET, "decoded an envelope without a body");
      (void)zoned::idm::validate(envelope);
      check_round_trip(envelope, limit);
    }
  }
  if (failed) {
    check(!decoder.feed("ZI").ok(), "a failed decoder accepted more input");
    check(!decoder.finish().ok(), "a failed decoder finished cleanly");
  } else {
    (void)decoder.finish();
  }
  return 0;
}
