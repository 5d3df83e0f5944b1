// One valid Envelope of every request, response, event and stream form, for the idm tests.
#pragma once

#include <string>
#include <vector>

#include "zoned/idm/frame.h"

namespace zoned::idm::testing {

struct Sample {
  std::string name;
  Envelope envelope;
};

std::vector<Sample> sample_envelopes();

// Builders for the envelopes the tests tweak.
Envelope exec_start_envelope();
Envelope stream_envelope(std::string data);

}  // namespace zoned::idm::testing
