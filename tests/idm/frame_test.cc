// FrameDecoder and encode_frame: splits, batches, and every way a hostile peer can break a frame.
#include "zoned/idm/frame.h"

#include <google/protobuf/util/message_differencer.h>

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "sample_messages.h"

namespace zoned::idm {
namespace {

using Catch::Matchers::ContainsSubstring;
using google::protobuf::util::MessageDifferencer;

std::string header(std::uint32_t length, char version = 1, char flags = 0, char m0 = 'Z', char m1 = 'I') {
  std::string h{m0, m1, version, flags};
  for (int i = 0; i < 4; ++i) h.push_back(static_cast<char>((length >> (8 * i)) & 0xff));
  return h;
}

std::string must_encode(const Envelope& e) {
  auto frame = encode_frame(e);
  REQUIRE(frame.ok());
  return *frame;
}

// Feeds `bytes` and requires a kInvalidArgument error mentioning `problem`.
void require_rejected(FrameDecoder& decoder, const std::string& bytes, const std::string& problem) {
  auto result = decoder.feed(bytes);
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().code() == ErrorCode::kInvalidArgument);
  CHECK_THAT(result.error().message(), ContainsSubstring(problem));
  CHECK(decoder.failed());
  CHECK(decoder.buffered_bytes() == 0);
}

TEST_CASE("the header is magic, version, flags and a little-endian length", "[idm][frame]") {
  const Envelope e = testing::stream_envelope("x");
  const std::string frame = must_encode(e);
  REQUIRE(frame.size() == kFrameHeaderBytes + e.ByteSizeLong());
  CHECK(frame.substr(0, kFrameHeaderBytes) == header(static_cast<std::uint32_t>(e.ByteSizeLong())));
}

TEST_CASE("a frame fed one byte at a time decodes once, at its last byte", "[idm][frame]") {
  const Envelope e = testing::exec_start_envelope();
  const std::string frame = must_encode(e);
  FrameDecoder decoder;
  for (std::size_t i = 0; i + 1 < frame.size(); ++i) {
    auto out = decoder.feed(frame.substr(i, 1));
    REQUIRE(out.ok());
    REQUIRE(out->empty());
    CHECK(decoder.buffered_bytes() == i + 1);
  }
  auto out = decoder.feed(frame.substr(frame.size() - 1));
  REQUIRE(out.ok());
  REQUIRE(out->size() == 1);
  CHECK(MessageDifferencer::Equals(e, (*out)[0]));
  CHECK(decoder.buffered_bytes() == 0);
  CHECK(decoder.finish().ok());
}

TEST_CASE("many frames in one feed come out in order, with a split tail kept", "[idm][frame]") {
  const auto samples = testing::sample_envelopes();
  std::string stream;
  for (const auto& s : samples) stream += must_encode(s.envelope);
  const std::string extra = must_encode(testing::stream_envelope("tail"));
  stream += extra.substr(0, 5);

  FrameDecoder decoder;
  auto out = decoder.feed(stream);
  REQUIRE(out.ok());
  REQUIRE(out->size() == samples.size());
  for (std::size_t i = 0; i < samples.size(); ++i) CHECK(MessageDifferencer::Equals(samples[i].envelope, (*out)[i]));
  CHECK(decoder.buffered_bytes() == 5);
  CHECK_FALSE(decoder.finish().ok());
}

TEST_CASE("a split tail completes on the next feed", "[idm][frame]") {
  const std::string a = must_encode(testing::stream_envelope("one"));
  const std::string b = must_encode(testing::stream_envelope("two"));
  const std::string stream = a + b;
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    FrameDecoder decoder;
    auto first = decoder.feed(stream.substr(0, cut));
    auto second = decoder.feed(stream.substr(cut));
    REQUIRE(first.ok());
    REQUIRE(second.ok());
    REQUIRE(first->size() + second->size() == 2);
    CHECK(decoder.finish().ok());
  }
}

TEST_CASE("an empty feed is harmless", "[idm][frame]") {
  FrameDecoder decoder;
  auto out = decoder.feed("");
  REQUIRE(out.ok());
  CHECK(out->empty());
  CHECK(decoder.finish().ok());
}

TEST_CASE("a bad header is rejected as soon as it is complete", "[idm][frame]") {
  FrameDecoder decoder;
  SECTION("bad magic") {
    require_rejected(decoder, header(4, 1, 0, 'Z', 'X'), "bad magic");
  }
  SECTION("unknown version") {
    require_rejected(decoder, header(4, 2), "unsupported protocol version 2");
  }
  SECTION("version 0") {
    require_rejected(decoder, header(4, 0), "unsupported protocol version 0");
  }
  SECTION("reserved flags") {
    require_rejected(decoder, header(4, 1, 0x01), "reserved flags");
  }
  SECTION("high flag bit") {
    require_rejected(decoder, header(4, 1, static_cast<char>(0x80)), "reserved flags");
  }
  SECTION("zero length") {
    require_rejected(decoder, header(0), "zero payload length");
  }
}

TEST_CASE("an oversized length is rejected from the header alone, before any payload", "[idm][frame]") {
  SECTION("default limit: 1 MiB + 1") {
    FrameDecoder decoder;
    require_rejected(decoder, header(kDefaultMaxFrameBytes + 1), "exceeds the limit of 1048576");
  }
  SECTION("the largest u32") {
    FrameDecoder decoder;
    require_rejected(decoder, header(0xffffffffu), "payload length 4294967295");
  }
  SECTION("a configured limit") {
    FrameDecoder decoder(100);
    auto ok = decoder.feed(header(100));
    REQUIRE(ok.ok());
    FrameDecoder strict(100);
    require_rejected(strict, header(101), "exceeds the limit of 100");
  }
  SECTION("exactly the limit is accepted") {
    FrameDecoder decoder;
    auto out = decoder.feed(header(kDefaultMaxFrameBytes));
    REQUIRE(out.ok());
    CHECK(decoder.buffered_bytes() == kFrameHeaderBytes);
  }
}

TEST_CASE("the decoder never holds more than one frame", "[idm][frame]") {
  const std::string payload = must_encode(testing::stream_envelope(std::string(200, 'a')));
  FrameDecoder decoder(static_cast<std::uint32_t>(payload.size() - kFrameHeaderBytes));
  std::string stream;
  for (int i = 0; i < 50; ++i) stream += payload;
  for (std::size_t at = 0; at < stream.size(); at += 97) {
    auto out = decoder.feed(stream.substr(at, 97));
    REQUIRE(out.ok());
    CHECK(decoder.buffered_bytes() <= payload.size());
  }
  CHECK(decoder.finish().ok());
}

TEST_CASE("the limit is clamped to 1..kMaxFrameBytesCeiling", "[idm][frame]") {
  CHECK(FrameDecoder(0).max_frame_bytes() == 1);
  CHECK(FrameDecoder(0xffffffffu).max_frame_bytes() == kMaxFrameBytesCeiling);
  CHECK(FrameDecoder().max_frame_bytes() == kDefaultMaxFrameBytes);
}

TEST_CASE("a truncated frame is only an error once the stream ends", "[idm][frame]") {
  const std::string frame = must_encode(testing::exec_start_envelope());
  SECTION("inside the payload") {
    FrameDecoder decoder;
    auto out = decoder.feed(frame.substr(0, frame.size() - 1));
    REQUIRE(out.ok());
    CHECK(out->empty());
    auto end = decoder.finish();
    REQUIRE_FALSE(end.ok());
    CHECK(end.error().code() == ErrorCode::kInvalidArgument);
    CHECK_THAT(end.error().message(), ContainsSubstring("stream ended inside a frame"));
    CHECK(decoder.failed());
  }
  SECTION("inside the header") {
    FrameDecoder decoder;
    REQUIRE(decoder.feed(frame.substr(0, 3)).ok());
    CHECK_FALSE(decoder.finish().ok());
  }
}

TEST_CASE("a payload that is not an Envelope is rejected", "[idm][frame]") {
  FrameDecoder decoder;
  // Field 2 (request) as a length-delimited field claiming 100 bytes that are not there.
  const std::string garbage = "\x12\x64\x01\x02";
  require_rejected(decoder, header(static_cast<std::uint32_t>(garbage.size())) + garbage, "not a valid Envelope");
}

TEST_CASE("random bytes as payload are rejected", "[idm][frame]") {
  FrameDecoder decoder;
  const std::string garbage(16, '\xff');
  require_rejected(decoder, header(16) + garbage, "not a valid Envelope");
}

TEST_CASE("an envelope without a body is rejected", "[idm][frame]") {
  SECTION("only an id") {
    FrameDecoder decoder;
    Envelope e;
    e.set_id(5);
    const std::string payload = e.SerializeAsString();
    require_rejected(decoder, header(static_cast<std::uint32_t>(payload.size())) + payload, "no body");
  }
  SECTION("only an unknown field (a body from a future version)") {
    FrameDecoder decoder;
    const std::string payload = "\x78\x01";  // field 15, varint 1
    require_rejected(decoder, header(2) + payload, "no body");
  }
}

TEST_CASE("frames decoded before an error in the same feed are dropped with it", "[idm][frame]") {
  FrameDecoder decoder;
  const std::string good = must_encode(testing::stream_envelope("ok"));
  require_rejected(decoder, good + header(4, 9), "unsupported protocol version 9");
}

TEST_CASE("a failed decoder stays failed", "[idm][frame]") {
  FrameDecoder decoder;
  require_rejected(decoder, header(4, 1, 0, 'X', 'X'), "bad magic");
  const std::string good = must_encode(testing::stream_envelope("ok"));
  auto again = decoder.feed(good);
  REQUIRE_FALSE(again.ok());
  CHECK_THAT(again.error().message(), ContainsSubstring("bad magic"));
  CHECK_FALSE(decoder.feed("").ok());
  auto end = decoder.finish();
  REQUIRE_FALSE(end.ok());
  CHECK_THAT(end.error().message(), ContainsSubstring("bad magic"));
}

TEST_CASE("encode_frame refuses envelopes the decoder would reject", "[idm][frame]") {
  SECTION("no body") {
    auto frame = encode_frame(Envelope{});
    REQUIRE_FALSE(frame.ok());
    CHECK(frame.error().code() == ErrorCode::kInvalidArgument);
    CHECK_THAT(frame.error().message(), ContainsSubstring("no body"));
  }
  SECTION("over the default limit") {
    auto frame = encode_frame(testing::stream_envelope(std::string(kDefaultMaxFrameBytes, 'x')));
    REQUIRE_FALSE(frame.ok());
    CHECK(frame.error().code() == ErrorCode::kInvalidArgument);
    CHECK_THAT(frame.error().message(), ContainsSubstring("exceeds the limit"));
  }
  SECTION("over a given limit, and at it") {
    const Envelope e = testing::stream_envelope(std::string(100, 'x'));
    const auto size = static_cast<std::uint32_t>(e.ByteSizeLong());
    CHECK_FALSE(encode_frame(e, size - 1).ok());
    CHECK(encode_frame(e, size).ok());
  }
}

}  // namespace
}  // namespace zoned::idm
