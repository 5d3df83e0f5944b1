// Every message form survives encode_frame -> FrameDecoder unchanged and passes validate().
#include <google/protobuf/util/message_differencer.h>

#include <catch2/catch_test_macros.hpp>
#include <set>
#include <string>
#include <vector>

#include "sample_messages.h"
#include "zoned/idm/frame.h"
#include "zoned/idm/validate.h"

namespace zoned::idm {
namespace {

using google::protobuf::util::MessageDifferencer;

TEST_CASE("every message form round-trips through a frame and validates", "[idm][frame]") {
  for (const auto& sample : testing::sample_envelopes()) {
    INFO(sample.name);
    REQUIRE(validate(sample.envelope).ok());
    auto frame = encode_frame(sample.envelope);
    REQUIRE(frame.ok());
    FrameDecoder decoder;
    auto decoded = decoder.feed(*frame);
    REQUIRE(decoded.ok());
    REQUIRE(decoded->size() == 1);
    CHECK(MessageDifferencer::Equals(sample.envelope, (*decoded)[0]));
    CHECK(decoder.finish().ok());
  }
}

TEST_CASE("the samples cover every request, response, event and stream form", "[idm]") {
  std::set<int> requests, responses, events;
  bool stream = false;
  for (const auto& sample : testing::sample_envelopes()) {
    const auto& e = sample.envelope;
    if (e.has_request()) requests.insert(e.request().kind_case());
    if (e.has_response()) responses.insert(e.response().kind_case());
    if (e.has_event()) events.insert(e.event().kind_case());
    stream = stream || e.has_stream();
  }
  CHECK(static_cast<int>(requests.size()) == v1::Request::descriptor()->FindOneofByName("kind")->field_count());
  CHECK(static_cast<int>(responses.size()) == v1::Response::descriptor()->FindOneofByName("kind")->field_count());
  CHECK(static_cast<int>(events.size()) == v1::Event::descriptor()->FindOneofByName("kind")->field_count());
  CHECK(stream);
}

// Every field of every message type reachable from Envelope.
void all_fields(const google::protobuf::Descriptor* type, std::set<std::string>& seen_types,
                std::set<std::string>& out) {
  if (!seen_types.insert(type->full_name()).second) return;
  for (int i = 0; i < type->field_count(); ++i) {
    const auto* field = type->field(i);
    out.insert(field->full_name());
    if (field->message_type() != nullptr) all_fields(field->message_type(), seen_types, out);
  }
}

// The fields set (non-default) somewhere in `message`, recursively.
void set_fields(const google::protobuf::Message& message, std::set<std::string>& out) {
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  const auto* reflection = message.GetReflection();
  reflection->ListFields(message, &fields);
  for (const auto* field : fields) {
    out.insert(field->full_name());
    if (field->message_type() == nullptr) continue;
    if (field->is_repeated()) {
      for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
        set_fields(reflection->GetRepeatedMessage(message, field, i), out);
      }
    } else {
      set_fields(reflection->GetMessage(message, field), out);
    }
  }
}

TEST_CASE("the samples set every field of every message at least once", "[idm]") {
  std::set<std::string> types, expected, covered;
  all_fields(Envelope::descriptor(), types, expected);
  for (const auto& sample : testing::sample_envelopes()) set_fields(sample.envelope, covered);
  for (const auto& name : expected) {
    INFO(name);
    CHECK(covered.count(name) == 1);
  }
}

}  // namespace
}  // namespace zoned::idm
