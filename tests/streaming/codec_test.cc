// The wire codecs on their own: the SPDY/3 dictionary, header blocks against a vector made by
// an independent zlib user (Python's zlib with zdict), frame bounds, WebSocket framing, and
// SpdyConnection's stream opening over a socketpair.
#include <poll.h>
#include <sys/socket.h>
#include <zlib.h>

#include <catch2/catch_test_macros.hpp>

#include "socket.h"
#include "spdy_connection.h"
#include "websocket.h"
#include "zoned/streaming/spdy_frame.h"

namespace spdy = zoned::streaming::spdy;
namespace ws = zoned::streaming::ws;

TEST_CASE("the SPDY/3 dictionary has the specified size and zlib id") {
  const auto dict = spdy::header_dictionary();
  CHECK(dict.size() == 1423);
  CHECK(adler32(1, reinterpret_cast<const Bytef*>(dict.data()), static_cast<uInt>(dict.size())) == 0xe3c6a7c2u);
}

TEST_CASE("header blocks compressed by another zlib user decode, in sequence on one stream") {
  // Python: zlib.compressobj(9, DEFLATED, 15, 9, zdict=<dictionary>), Z_SYNC_FLUSH per block.
  const std::string first(
      "\x78\xf9\xe3\xc6\xa7\xc2\x02\xe5\x0e\x70\x3a\x2b\x29\x4a\x4d\xcc\x85\x16\x25\xac\xa9\xa0\x80\x86\x14\xcb\x45"
      "\xe0\x1c\x60\x61\x60\x61\x00\x00\x00\x00\xff\xff",
      39);
  const std::string second("\xc2\xaa\x14\x54\xea\x24\xa2\xab\x04\x00\x00\x00\xff\xff", 14);
  spdy::HeaderCodec codec(spdy::Limits{});
  auto a = codec.decode(first);
  REQUIRE(a.ok());
  CHECK(spdy::find_header(*a, "streamtype") == "error");
  CHECK(spdy::find_header(*a, "port") == "8080");
  auto b = codec.decode(second);
  REQUIRE(b.ok());
  CHECK(spdy::find_header(*b, "streamtype") == "data");
}

TEST_CASE("header blocks round-trip and names are lower-cased") {
  spdy::HeaderCodec sender(spdy::Limits{}), receiver(spdy::Limits{});
  for (int i = 0; i < 3; ++i) {
    auto block = sender.encode({{"StreamType", "stdout"}, {"requestID", std::to_string(i)}});
    REQUIRE(block.ok());
    auto headers = receiver.decode(*block);
    REQUIRE(headers.ok());
    CHECK(spdy::find_header(*headers, "streamtype") == "stdout");
    CHECK(spdy::find_header(*headers, "requestid") == std::to_string(i));
  }
}

TEST_CASE("a header block inflating beyond the limit is refused") {
  spdy::Limits small;
  small.max_header_block = 1024;
  spdy::HeaderCodec sender(spdy::Limits{}), receiver(small);
  auto block = sender.encode({{"big", std::string(100000, 'a')}});
  REQUIRE(block.ok());
  CHECK(block->size() < 2000);  // compresses well: a bomb
  CHECK_FALSE(receiver.decode(*block).ok());
}

TEST_CASE("garbage and hostile counts in header blocks are errors") {
  spdy::HeaderCodec receiver(spdy::Limits{});
  CHECK_FALSE(receiver.decode("not zlib at all").ok());
  spdy::HeaderCodec sender(spdy::Limits{}), receiver2(spdy::Limits{});
  auto block = sender.encode({});
  REQUIRE(block.ok());
  CHECK(receiver2.decode(*block).ok());
}

TEST_CASE("the frame parser waits for whole frames and bounds their size") {
  spdy::FrameParser parser(spdy::Limits{});
  const std::string frame = spdy::data_frame(1, spdy::kFlagFin, "hello");
  parser.feed(frame.substr(0, 5));
  auto none = parser.next();
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());
  parser.feed(frame.substr(5));
  auto got = parser.next();
  REQUIRE(got.ok());
  REQUIRE(got->has_value());
  CHECK((*got)->stream_id == 1);
  CHECK((*got)->flags == spdy::kFlagFin);
  CHECK((*got)->payload == "hello");

  spdy::Limits limits;
  limits.max_frame_payload = 16;
  spdy::FrameParser bounded(limits);
  bounded.feed(spdy::data_frame(1, 0, std::string(17, 'x')).substr(0, 8));  // the header is enough
  CHECK_FALSE(bounded.next().ok());

  spdy::FrameParser versioned(spdy::Limits{});
  std::string v2 = spdy::ping_frame(1);
  v2[1] = 2;
  versioned.feed(v2);
  CHECK_FALSE(versioned.next().ok());
}

TEST_CASE("control frames decode what the serializers wrote, and wrong sizes are errors") {
  spdy::FrameParser parser(spdy::Limits{});
  parser.feed(spdy::window_update_frame(3, 1000) + spdy::rst_stream_frame(5, spdy::RstStatus::kCancel) +
              spdy::settings_frame({{spdy::kSettingsInitialWindowSize, 4096}}) +
              spdy::goaway_frame(7, spdy::GoAwayStatus::kOk));
  auto wu = parser.next();
  REQUIRE((wu.ok() && wu->has_value()));
  auto w = spdy::parse_window_update(**wu);
  REQUIRE(w.ok());
  CHECK(w->first == 3);
  CHECK(w->second == 1000);
  auto rst = parser.next();
  REQUIRE((rst.ok() && rst->has_value()));
  CHECK(spdy::parse_rst_stream(**rst)->second == spdy::RstStatus::kCancel);
  auto settings = parser.next();
  REQUIRE((settings.ok() && settings->has_value()));
  CHECK(spdy::parse_settings(**settings)->at(0).second == 4096);
  auto goaway = parser.next();
  REQUIRE((goaway.ok() && goaway->has_value()));
  CHECK(spdy::parse_goaway(**goaway)->first == 7);

  spdy::Frame bad;
  bad.control = true;
  bad.type = spdy::FrameType::kPing;
  bad.payload = "12345";
  CHECK_FALSE(spdy::parse_ping(bad).ok());
  bad.type = spdy::FrameType::kSettings;
  bad.payload = std::string("\xff\xff\xff\xff", 4);
  CHECK_FALSE(spdy::parse_settings(bad).ok());
}

TEST_CASE("websocket accept key matches RFC 6455's example") {
  CHECK(ws::accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST_CASE("websocket frames: masked round trip, fragments, direction and size checks") {
  ws::MessageReader server(true, 1 << 20);
  const std::string big(70000, 'z');
  server.feed(ws::encode_frame(ws::Opcode::kBinary, "\x01hi", true) + ws::encode_frame(ws::Opcode::kBinary, big, true));
  auto m1 = server.next();
  REQUIRE((m1.ok() && m1->has_value()));
  CHECK((*m1)->data == "\x01hi");
  auto m2 = server.next();
  REQUIRE((m2.ok() && m2->has_value()));
  CHECK((*m2)->data == big);

  // A fragmented message: FIN clear on the first frame, then a continuation.
  std::string first = ws::encode_frame(ws::Opcode::kBinary, "ab", true);
  first[0] = static_cast<char>(first[0] & 0x7f);
  server.feed(first + ws::encode_frame(ws::Opcode::kContinuation, "cd", true));
  auto m3 = server.next();
  REQUIRE((m3.ok() && m3->has_value()));
  CHECK((*m3)->data == "abcd");

  ws::MessageReader strict(true, 1 << 20);
  strict.feed(ws::encode_frame(ws::Opcode::kBinary, "x", false));
  CHECK_FALSE(strict.next().ok());

  ws::MessageReader small(true, 100);
  small.feed(ws::encode_frame(ws::Opcode::kBinary, std::string(101, 'a'), true).substr(0, 4));
  CHECK_FALSE(small.next().ok());
}

TEST_CASE("open_stream files the new id before its SYN_STREAM reaches the peer") {
  int fds[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
  zoned::streaming::Socket ours{zoned::UniqueFd(fds[0])};
  zoned::UniqueFd peer(fds[1]);
  zoned::streaming::SpdyConnection conn(ours, false, spdy::Limits{}, 4);
  std::vector<uint32_t> filed;
  bool peer_had_bytes = true;
  auto id = conn.open_stream({{"streamtype", "stdout"}}, false, [&](uint32_t new_id) {
    filed.push_back(new_id);
    pollfd p{peer.get(), POLLIN, 0};
    peer_had_bytes = ::poll(&p, 1, 0) != 0;
  });
  REQUIRE(id.ok());
  CHECK(filed == std::vector<uint32_t>{*id});
  CHECK_FALSE(peer_had_bytes);
  pollfd p{peer.get(), POLLIN, 0};
  CHECK(::poll(&p, 1, 1000) == 1);  // and then it was written
}
