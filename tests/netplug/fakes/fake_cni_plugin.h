// Fake CNI plugins for netplug's unit tests: small /bin/sh scripts written into a temporary
// plugin dir. Each one answers VERSION with the versions it is given, records every call
// (command, CNI_* environment, stdin) under <dir>/calls/, and for other commands runs the
// body the test gives it (print a result, fail with an error object, print garbage, sleep...).
#pragma once

#include <string>
#include <vector>

namespace zoned::testing {

struct FakeCall {
  std::string plugin;
  std::string command;
  std::string env;    // the CNI_* lines, sorted
  std::string stdin;  // the config it read
};

class FakeCniPlugins {
 public:
  explicit FakeCniPlugins(std::string dir);

  // Writes <dir>/<name>. `body` is shell run for ADD/DEL/CHECK after recording the call.
  void add(const std::string& name, const std::string& body,
           const std::string& versions = R"(["0.3.1","0.4.0","1.0.0"])") const;

  // A body printing `result` (JSON) for ADD and nothing for DEL/CHECK.
  static std::string prints_on_add(const std::string& result);

  // The recorded calls, in order.
  std::vector<FakeCall> calls() const;

  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

// A 1.0.0 result with one interface "eth0" in `netns` and one IPv4 address.
std::string fake_result(const std::string& cidr, const std::string& gateway, const std::string& netns = "/x");

}  // namespace zoned::testing
