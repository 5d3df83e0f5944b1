// zonectl's pieces: argument parsing, CRI log parsing, output formatting.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "admin.pb.h"
#include "args.h"
#include "cri_log.h"
#include "log_stream.h"
#include "output.h"

using Catch::Matchers::ContainsSubstring;
using namespace zoned::zonectl;

namespace {

CommandSpec exec_like() {
  return {"exec",
          "CONTAINER CMD...",
          "run",
          "",
          {{"tty", 't', "", "tty"},
           {"interactive", 'i', "", "stdin"},
           {"env", 'e', "K=V", "env", true},
           {"user", 'u', "USER", "user"}},
          2,
          std::numeric_limits<size_t>::max(),
          false};
}

CommandSpec logs_like() {
  return {"logs", "CONTAINER", "logs", "", {{"bytes", 'n', "BYTES", "tail"}, {"follow", 'f', "", "follow"}}, 1, 1};
}

ParsedArgs parse_ok(const CommandSpec& spec, const std::vector<std::string>& args) {
  auto parsed = parse_args(spec, args);
  if (auto* error = std::get_if<UsageError>(&parsed)) FAIL(error->message);
  return std::get<ParsedArgs>(parsed);
}

std::string parse_error(const CommandSpec& spec, const std::vector<std::string>& args) {
  auto parsed = parse_args(spec, args);
  REQUIRE(std::holds_alternative<UsageError>(parsed));
  return std::get<UsageError>(parsed).message;
}

}  // namespace

TEST_CASE("args: long, short, grouped, attached values, repeatable options") {
  auto a = parse_ok(exec_like(), {"-ti", "-e", "A=1", "--env=B=2", "-uroot", "--json", "c1", "sh", "-c", "ls -l"});
  CHECK(a.flag("tty"));
  CHECK(a.flag("interactive"));
  CHECK(a.all("env") == std::vector<std::string>{"A=1", "B=2"});
  CHECK(a.value("user") == "root");
  CHECK(a.flag("json"));
  // Options end at the first positional: the command's own flags are left alone.
  CHECK(a.positional == std::vector<std::string>{"c1", "sh", "-c", "ls -l"});
}

TEST_CASE("args: options anywhere for other commands, the last value wins, -- ends options") {
  auto a = parse_ok(logs_like(), {"c1", "-n", "10", "--bytes", "20", "-f"});
  CHECK(a.positional == std::vector<std::string>{"c1"});
  CHECK(a.value("bytes") == "20");
  CHECK(a.flag("follow"));
  auto b = parse_ok(logs_like(), {"--", "-weird-name"});
  CHECK(b.positional == std::vector<std::string>{"-weird-name"});
  auto help = parse_ok(logs_like(), {"--help"});
  CHECK(help.help);  // no positional needed for help
}

TEST_CASE("args: usage errors say what is wrong") {
  CHECK_THAT(parse_error(logs_like(), {"--nope", "c"}), ContainsSubstring("unknown option --nope"));
  CHECK_THAT(parse_error(logs_like(), {"-x", "c"}), ContainsSubstring("unknown option -x"));
  CHECK_THAT(parse_error(logs_like(), {"c", "-n"}), ContainsSubstring("-n needs a value"));
  CHECK_THAT(parse_error(logs_like(), {"--follow=yes", "c"}), ContainsSubstring("takes no value"));
  CHECK_THAT(parse_error(logs_like(), {}), ContainsSubstring("missing arguments"));
  CHECK_THAT(parse_error(logs_like(), {"a", "b"}), ContainsSubstring("unexpected argument 'b'"));
  CHECK_THAT(parse_error(exec_like(), {"c1"}), ContainsSubstring("missing arguments"));
  auto number = parse_number("--vcpus", "65", 1, 64);
  REQUIRE(std::holds_alternative<UsageError>(number));
  CHECK_THAT(std::get<UsageError>(number).message, ContainsSubstring("--vcpus") && ContainsSubstring("65"));
  CHECK(std::holds_alternative<UsageError>(parse_number("-n", "12k", 0, 100)));
  CHECK(std::holds_alternative<UsageError>(parse_number("-n", "", 0, 100)));
  CHECK(std::get<uint64_t>(parse_number("-n", "100", 0, 100)) == 100);
}

TEST_CASE("help text lists every option with its value name") {
  std::string help = command_help(exec_like());
  CHECK_THAT(help, ContainsSubstring("Usage: zonectl exec CONTAINER CMD...") && ContainsSubstring("-e, --env K=V") &&
                       ContainsSubstring("--socket PATH") && ContainsSubstring("-h, --help"));
}

TEST_CASE("CRI log lines: streams, partial records, lines split across chunks, junk") {
  auto r = parse_cri_line("2025-01-01T00:00:00.000000000Z stderr F oh no");
  CHECK(r.fd == 2);
  CHECK(r.text == "oh no");
  CHECK_FALSE(r.partial);
  CHECK(r.time == "2025-01-01T00:00:00.000000000Z");
  CHECK(parse_cri_line("t stdout F ").text.empty());
  CHECK(parse_cri_line("t stdout P a b  c").text == "a b  c");
  auto junk = parse_cri_line("not a cri line");
  CHECK(junk.fd == 1);
  CHECK(junk.text == "not a cri line");

  CriLogParser parser;
  CHECK(parser.feed("t stdout P hel").empty());
  auto records = parser.feed("lo\nt stdout F  world\nt std");
  REQUIRE(records.size() == 2);
  CHECK(records[0].partial);
  CHECK(records[0].text == "hello");
  CHECK(records[1].text == " world");
  auto last = parser.finish();
  REQUIRE(last.has_value());
  CHECK(last->text == "t std");
  CHECK_FALSE(parser.finish().has_value());
}

TEST_CASE("LogCollector joins partial records into lines per stream") {
  LogCollector c;
  c.add({"t1", 1, "hel", true});
  c.add({"t2", 2, "err", false});
  c.add({"t3", 1, "lo", false});
  c.add({"t4", 1, "next", false});
  auto lines = c.lines();
  REQUIRE(lines.size() == 3);
  CHECK(lines[0]["log"] == "hello");
  CHECK(lines[0]["stream"] == "stdout");
  CHECK(lines[1]["stream"] == "stderr");
  CHECK(c.text(1) == "hello\nnext\n");
  CHECK(c.text(2) == "err\n");
}

TEST_CASE("output: JSON keeps proto field names and 64-bit numbers as numbers") {
  zoned::admin::v1::Zone zone;
  zone.set_id("abc");
  zone.set_memory_mib(1ULL << 40);
  zone.set_created_at_ns(1735689600000000000);
  zone.add_images("busybox");
  (*zone.mutable_labels())["k"] = "v";
  zone.add_disks()->set_vdev("xvdb");
  auto j = message_json(zone);
  CHECK(j["id"] == "abc");
  CHECK(j["memory_mib"].is_number_unsigned());
  CHECK(j["memory_mib"] == 1ULL << 40);
  CHECK(j["created_at_ns"] == 1735689600000000000);
  CHECK(j["images"] == nlohmann::json::array({"busybox"}));
  CHECK(j["labels"]["k"] == "v");
  CHECK(j["disks"][0]["vdev"] == "xvdb");
  CHECK(j["agent_connected"] == false);  // defaults are printed too
  CHECK(j.contains("reason"));
  // Bytes that are not UTF-8 do not break the output.
  CHECK_THAT(json_text(nlohmann::json{{"x", std::string("\xff\xfe")}}), ContainsSubstring("\"x\""));
}

TEST_CASE("output: ids, ages, sizes, tables") {
  CHECK(short_id("0123456789abcdef") == "0123456789ab");
  int64_t now = 1000LL * 86400 * 1000000000;
  int64_t s = 1000000000;
  CHECK(format_age(0, now) == "-");
  CHECK(format_age(now - 5 * s, now) == "5s");
  CHECK(format_age(now - 300 * s, now) == "5m");
  CHECK(format_age(now - 3 * 3600 * s, now) == "3h");
  CHECK(format_age(now - 3 * 86400 * s, now) == "3d");
  CHECK(format_mib(256) == "256MiB");
  CHECK(format_mib(2048) == "2GiB");
  CHECK(format_bytes(512) == "512B");
  CHECK(format_bytes(1536) == "1.5KiB");
  CHECK(format_bytes(256ULL << 20) == "256.0MiB");
  CHECK(format_time(1735689600000000000) == "2025-01-01T00:00:00Z");
  Table t({"ID", "NAME"});
  t.add({"abc", "x"});
  t.add({"a", "longer"});
  CHECK(t.render() == "ID   NAME\nabc  x\na    longer\n");
}
