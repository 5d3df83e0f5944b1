// The admin service's pure pieces: user strings and the console overlap used to follow it.
#include "translate.h"

#include <catch2/catch_test_macros.hpp>
#include <random>

#include "streams.h"

using zoned::admin::console_overlap;
using zoned::admin::format_user;
using zoned::admin::parse_user;

TEST_CASE("users: uid, uid:gid, name, name:gid; group names and junk are refused") {
  struct Good {
    std::string text;
    std::optional<int64_t> uid, gid;
    std::string name;
  };
  for (const Good& g : std::vector<Good>{{"0", 0, std::nullopt, ""},
                                         {"1000:100", 1000, 100, ""},
                                         {"nobody", std::nullopt, std::nullopt, "nobody"},
                                         {"www-data:33", std::nullopt, 33, "www-data"},
                                         {"4294967294", 4294967294, std::nullopt, ""}}) {
    CAPTURE(g.text);
    zoned::oci::ContainerSpecInput spec;
    REQUIRE(parse_user(g.text, spec).ok());
    CHECK(spec.run_as_user == g.uid);
    CHECK(spec.run_as_group == g.gid);
    CHECK(spec.run_as_username == g.name);
    CHECK(format_user(spec) == g.text);
  }
  zoned::oci::ContainerSpecInput untouched;
  REQUIRE(parse_user("", untouched).ok());
  CHECK_FALSE(untouched.run_as_user.has_value());
  CHECK(format_user(untouched).empty());

  for (const std::string& bad :
       std::vector<std::string>{"root:wheel", ":1", "1:", "a b", "-x", "4294967295", "1:4294967295", "x/y",
                                "99999999999999999999", std::string(40, 'a')}) {
    CAPTURE(bad);
    zoned::oci::ContainerSpecInput spec;
    auto status = parse_user(bad, spec);
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().code() == zoned::ErrorCode::kInvalidArgument);
  }
}

TEST_CASE("console overlap: how much of a new snapshot the last one already had") {
  CHECK(console_overlap("", "abc") == 0);
  CHECK(console_overlap("abc", "") == 0);
  CHECK(console_overlap("abc", "abcdef") == 3);     // grew, nothing dropped
  CHECK(console_overlap("abcdef", "abcdef") == 6);  // nothing new
  CHECK(console_overlap("abcdef", "defgh") == 3);   // the kept tail moved on
  CHECK(console_overlap("abc", "xyz") == 0);        // more than the tail was written
  CHECK(console_overlap("aab", "aabaab") == 3);     // a self-overlapping new snapshot
  CHECK(console_overlap("xxaaa", "aaaab") == 3);

  // Against brute force on random small alphabets, where repeats are common.
  std::mt19937 rng(7);
  for (int round = 0; round < 2000; ++round) {
    auto random_text = [&](size_t max) {
      std::string s(rng() % max, 'a');
      for (char& c : s) c = static_cast<char>('a' + rng() % 2);
      return s;
    };
    std::string previous = random_text(12), current = random_text(12);
    size_t expected = 0;
    for (size_t k = std::min(previous.size(), current.size()); k > 0; --k) {
      if (previous.compare(previous.size() - k, k, current, 0, k) == 0) {
        expected = k;
        break;
      }
    }
    CAPTURE(previous, current);
    CHECK(console_overlap(previous, current) == expected);
  }
}
