// netplug: running one plugin binary (and through it process.h's environment, stdin and
// separate-stderr options).
#include "zoned/netplug/plugin_exec.h"

#include <sys/stat.h>

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "fakes/fake_cni_plugin.h"
#include "support/temp_dir.h"

using namespace zoned::netplug;
using Catch::Matchers::ContainsSubstring;

TEST_CASE("a plugin gets its config on stdin and only our CNI_ variables; stdout is kept apart from stderr",
          "[netplug][exec]") {
  zoned::testing::TempDir tmp;
  zoned::testing::FakeCniPlugins plugins(tmp.path());
  plugins.add("fake-echo",
              "echo 'noise' >&2\ncat $calls/$n.stdin\necho \"$CNI_COMMAND $CNI_IFNAME ${CNI_LEAK:-none}\" >&2");
  ::setenv("CNI_LEAK", "from-daemon", 1);
  PluginExec exec(PluginExecOptions{{tmp.path()}, {}, std::chrono::seconds(10)});
  auto path = exec.find("fake-echo");
  REQUIRE(path.ok());
  PluginRequest request{CniCommand::kDel, "id1", "", "eth9", "IgnoreUnknown=1", R"({"hello":"world"})"};
  auto out = exec.run(*path, request);
  ::unsetenv("CNI_LEAK");
  REQUIRE(out.ok());
  CHECK(*out == R"({"hello":"world"})");
  auto calls = plugins.calls();
  REQUIRE(calls.size() == 1);
  CHECK_THAT(calls[0].env, ContainsSubstring("CNI_IFNAME=eth9\n"));
  CHECK_THAT(calls[0].env, !ContainsSubstring("CNI_LEAK"));

  auto versions = exec.supported_versions(*path);
  REQUIRE(versions.ok());
  CHECK(versions->size() == 3);
}

TEST_CASE("plugin lookup refuses paths and non-executables", "[netplug][exec]") {
  zoned::testing::TempDir tmp;
  tmp.write("not-exec", "#!/bin/sh\n");
  PluginExec exec(PluginExecOptions{{tmp.path()}, {}, std::chrono::seconds(10)});
  CHECK(exec.find("not-exec").error().code() == zoned::ErrorCode::kNotFound);
  CHECK(exec.find("../not-exec").error().code() == zoned::ErrorCode::kInvalidArgument);
  CHECK(exec.find("").error().code() == zoned::ErrorCode::kInvalidArgument);
  CHECK(exec.find("missing").error().code() == zoned::ErrorCode::kNotFound);
}
