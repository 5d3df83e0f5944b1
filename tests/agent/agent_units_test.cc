// Unit tests of the agent's parsers and spec edits (no loop, no processes).
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <fstream>
#include <nlohmann/json.hpp>

#include "../../zone-runtime/agent/src/bundle_files.h"
#include "support/temp_dir.h"
#include "zoned/agent/init.h"
#include "zoned/agent/oci_spec.h"
#include "zoned/agent/stats.h"
#include "zoned/agent/user_db.h"

using namespace zoned::agent;
using Catch::Matchers::ContainsSubstring;
using nlohmann::json;

namespace {

std::string image_root(const zoned::testing::TempDir& dir) {
  const std::string root = dir.path() + "/root";
  REQUIRE(::system(("mkdir -p " + root + "/etc").c_str()) == 0);
  std::ofstream(root + "/etc/passwd") << "# comment\nroot:x:0:0::/root:/bin/sh\napp:x:1000:1001::/app:/bin/sh\n"
                                      << "broken line\nweb:x:33:33::/var/www:/bin/false\n";
  std::ofstream(root + "/etc/group")
      << "root:x:0:\napps:x:1001:\nwheel:x:10:app,web\nvideo:x:44:web\nextra:x:1001:app\n";
  return root;
}

}  // namespace

TEST_CASE("passwd and group parsing skips comments and malformed lines") {
  const auto users = parse_passwd("# c\nroot:x:0:0::/:/bin/sh\nbad\nx:y:notanumber:0::/:\napp:x:1000:1000::/:\n");
  REQUIRE(users.size() == 2);
  CHECK(users[1].name == "app");
  CHECK(users[1].uid == 1000);
  const auto groups = parse_group("wheel:x:10:a,b\nempty:x:11:\n");
  REQUIRE(groups.size() == 2);
  CHECK(groups[0].members == std::vector<std::string>{"a", "b"});
  CHECK(groups[1].members.empty());
}

TEST_CASE("resolve_user: names, numbers, uid:gid, groups, supplementary groups, unknown names") {
  zoned::testing::TempDir dir;
  const auto root = image_root(dir);
  auto app = resolve_user(root, "app", "", 0, 0);
  REQUIRE(app.ok());
  CHECK(app->uid == 1000);
  CHECK(app->gid == 1001);
  CHECK(app->additional_gids == std::vector<std::uint32_t>{10});  // "extra" is its primary gid

  auto numeric = resolve_user(root, "33", "", 0, 0);
  REQUIRE(numeric.ok());
  CHECK(numeric->gid == 33);  // from passwd
  CHECK(numeric->additional_gids == std::vector<std::uint32_t>{10, 44});

  auto pair = resolve_user(root, "5000:6000", "", 0, 0);
  REQUIRE(pair.ok());
  CHECK(pair->uid == 5000);
  CHECK(pair->gid == 6000);

  auto with_group = resolve_user(root, "app", "video", 0, 0);
  REQUIRE(with_group.ok());
  CHECK(with_group->gid == 44);

  auto group_only = resolve_user(root, "", "wheel", 7, 8);
  REQUIRE(group_only.ok());
  CHECK(group_only->uid == 7);
  CHECK(group_only->gid == 10);

  auto ghost = resolve_user(root, "ghost", "", 0, 0);
  REQUIRE_FALSE(ghost.ok());
  CHECK(ghost.error().code() == zoned::ErrorCode::kNotFound);
  CHECK(ghost.error().message() == "user ghost not found in the image");
  auto no_group = resolve_user(root, "app", "nogroup", 0, 0);
  REQUIRE_FALSE(no_group.ok());
  CHECK(no_group.error().message() == "group nogroup not found in the image");
}

TEST_CASE("files are read inside the root: an absolute symlink does not escape") {
  zoned::testing::TempDir dir;
  const auto root = image_root(dir);
  REQUIRE(::system(("mkdir -p " + root + "/x && echo inside > " + root + "/x/secret && echo outside > " + dir.path() +
                    "/secret && ln -s " + dir.path() + "/secret " + root + "/link && ln -s /x/secret " + root + "/abs")
                       .c_str()) == 0);
  auto abs = read_file_in_root(root, "abs", 1024);
  REQUIRE(abs.ok());
  CHECK(*abs == "inside\n");
  auto escaping = read_file_in_root(root, "link", 1024);  // resolves to <root><dir>/secret: absent
  CHECK_FALSE(escaping.ok());
}

TEST_CASE("make_container_spec sets root, cgroupsPath and the user; refuses broken specs") {
  zoned::testing::TempDir dir;
  const auto root = image_root(dir);
  const std::string daemon =
      R"({"process":{"terminal":true,"user":{"uid":1,"gid":2,"additionalGids":[10]},"args":["sh"]},
                                 "root":{"path":"x","readonly":true},"hostname":"h"})";
  auto spec = make_container_spec(daemon, root, "/zoned/c", "app", "");
  REQUIRE(spec.ok());
  CHECK(spec->terminal);
  const auto config = json::parse(spec->config_json);
  CHECK(config["root"]["path"] == root);
  CHECK(config["root"]["readonly"] == true);
  CHECK(config["linux"]["cgroupsPath"] == "/zoned/c");
  CHECK(config["hostname"] == "h");
  CHECK(config["process"]["user"]["uid"] == 1000);
  CHECK(config["process"]["user"]["additionalGids"] == json::array({10}));  // no duplicate
  CHECK(json::parse(spec->process_json)["args"] == json::array({"sh"}));

  auto unchanged = make_container_spec(R"({"process":{"user":{"uid":5,"gid":6}}})", root, "/zoned/c", "", "");
  REQUIRE(unchanged.ok());
  CHECK(json::parse(unchanged->config_json)["process"]["user"]["uid"] == 5);
  CHECK_FALSE(unchanged->terminal);

  CHECK(make_container_spec("[1,2]", root, "/z", "", "").error().code() == zoned::ErrorCode::kInvalidArgument);
  CHECK(make_container_spec(R"({"root":{}})", root, "/z", "", "").error().code() == zoned::ErrorCode::kInvalidArgument);
  CHECK(make_container_spec(R"({"process":{},"root":7,"linux":"x"})", root, "/z", "", "").ok());
}

TEST_CASE("make_exec_process: args, tty, env override, cwd and user on top of the container's process") {
  zoned::testing::TempDir dir;
  const auto root = image_root(dir);
  const std::string base =
      R"({"args":["init"],"env":["A=1","B=2"],"cwd":"/srv","user":{"uid":1,"gid":1,"additionalGids":[9]},
                               "capabilities":{"bounding":["CAP_KILL"]},"terminal":false})";
  zoned::idm::v1::ExecStart exec;
  exec.add_args("ls");
  exec.add_args("-l");
  exec.add_env("B=3");
  exec.add_env("C=4");
  exec.set_tty(true);
  auto process = make_exec_process(base, exec, root);
  REQUIRE(process.ok());
  auto p = json::parse(*process);
  CHECK(p["args"] == json::array({"ls", "-l"}));
  CHECK(p["env"] == json::array({"A=1", "B=3", "C=4"}));
  CHECK(p["terminal"] == true);
  CHECK(p["cwd"] == "/srv");
  CHECK(p["user"]["uid"] == 1);
  CHECK(p["capabilities"]["bounding"] == json::array({"CAP_KILL"}));

  exec.set_cwd("/tmp");
  exec.set_user("web");
  p = json::parse(*make_exec_process(base, exec, root));
  CHECK(p["cwd"] == "/tmp");
  CHECK(p["user"]["uid"] == 33);
  CHECK(p["user"]["gid"] == 33);
  CHECK(p["user"]["additionalGids"] == json::array({10, 44}));

  exec.set_user("0:0");
  p = json::parse(*make_exec_process(base, exec, root));
  CHECK(p["user"]["uid"] == 0);
  CHECK_FALSE(p["user"].contains("additionalGids"));

  exec.add_args(std::string("\xff\xfe", 2));
  CHECK(make_exec_process(base, exec, root).error().code() == zoned::ErrorCode::kInvalidArgument);
}

TEST_CASE("stats parsers") {
  CHECK(*parse_keyed_value("usage_usec 12\nuser_usec 3\n", "usage_usec") == 12);
  CHECK(*parse_keyed_value("MemTotal:    100 kB\n", "MemTotal") == 102400);
  CHECK(*parse_keyed_value("inactive_file_x 1\ninactive_file 2\n", "inactive_file") == 2);
  CHECK_FALSE(parse_keyed_value("a 1\n", "b").ok());
  CHECK_FALSE(parse_keyed_value("a x\n", "a").ok());
  CHECK(*parse_proc_stat_busy_ticks("cpu  1 2 3 1000 1000 4 5 6 7 8\ncpu0 ...\n") == 21);
  CHECK_FALSE(parse_proc_stat_busy_ticks("intr 1 2\n").ok());
  zoned::testing::TempDir dir;
  CHECK_FALSE(read_cgroup_usage(dir.path() + "/missing").ok());
}

TEST_CASE("kernel command line: hostname and log level") {
  const auto params = parse_cmdline("console=hvc0 zoned.hostname=pod-a zoned.loglevel=debug quiet\n");
  CHECK(params.hostname == "pod-a");
  REQUIRE(params.log_level.has_value());
  CHECK(*params.log_level == zoned::log::Level::kDebug);
  const auto none = parse_cmdline("zoned.hostname= zoned.loglevel=loud");
  CHECK(none.hostname.empty());
  CHECK_FALSE(none.log_level.has_value());
}

TEST_CASE("modules.load: relative paths in order; escapes refused") {
  auto paths = parse_modules_load("kernel/a.ko\n\n# c\n  kernel/fs/b.ko  \nkernel/c.ko");
  REQUIRE(paths.ok());
  CHECK(*paths == std::vector<std::string>{"kernel/a.ko", "kernel/fs/b.ko", "kernel/c.ko"});
  CHECK_FALSE(parse_modules_load("/abs.ko\n").ok());
  CHECK_FALSE(parse_modules_load("../x.ko\n").ok());
  CHECK_FALSE(parse_modules_load("a/../../x.ko\n").ok());
}

TEST_CASE("ids used as path components") {
  CHECK(is_safe_path_component("c1"));
  CHECK(is_safe_path_component("a.b-c_D"));
  CHECK_FALSE(is_safe_path_component(""));
  CHECK_FALSE(is_safe_path_component("."));
  CHECK_FALSE(is_safe_path_component(".."));
  CHECK_FALSE(is_safe_path_component("a/b"));
  CHECK_FALSE(is_safe_path_component(std::string(129, 'a')));
}
