// config.json generation: each containerd CRI rule, the zone-specific ones (no network, ipc or
// uts namespaces; sysctls for the zone), the seccomp profiles, bad input, and a structural
// check of the whole document against the OCI runtime spec 1.0.2 (written here, by hand).
#include "zoned/oci/runtime_spec.h"

#include <unistd.h>

#include <algorithm>
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "zoned/common/process.h"
#include "zoned/oci/seccomp_profile.h"

using Catch::Matchers::ContainsSubstring;
using Json = nlohmann::json;
using zoned::ErrorCode;
namespace oci = zoned::oci;

namespace {

// --- a structural check of config.json (OCI runtime spec 1.0.2, Linux) ---

class SpecChecker {
 public:
  std::vector<std::string> check(const Json& doc) {
    if (!doc.is_object()) return {"document is not an object"};
    static const std::set<std::string> kTop = {"ociVersion", "process", "root",        "hostname",
                                               "mounts",     "hooks",   "annotations", "linux"};
    for (const auto& [k, v] : doc.items()) {
      if (kTop.count(k) == 0) fail(k, "unknown top-level field");
    }
    if (string_at(doc, "ociVersion", true) && doc["ociVersion"].get<std::string>().rfind("1.0.", 0) != 0) {
      fail("ociVersion", "not 1.0.x");
    }
    if (object_at(doc, "root", true)) check_root(doc["root"]);
    if (object_at(doc, "process", true)) check_process(doc["process"]);
    if (array_at(doc, "mounts", false)) check_mounts(doc["mounts"]);
    if (object_at(doc, "linux", true)) check_linux(doc["linux"]);
    if (object_at(doc, "annotations", false)) {
      for (const auto& [k, v] : doc["annotations"].items()) {
        if (!v.is_string()) fail("annotations." + k, "not a string");
      }
    }
    return errors_;
  }

 private:
  void fail(const std::string& where, const std::string& what) { errors_.push_back(where + ": " + what); }

  bool present(const Json& o, const char* k, bool required) {
    if (o.contains(k)) return true;
    if (required) fail(k, "missing");
    return false;
  }
  bool string_at(const Json& o, const char* k, bool required) {
    if (!present(o, k, required)) return false;
    if (o[k].is_string()) return true;
    fail(k, "not a string");
    return false;
  }
  bool bool_at(const Json& o, const char* k, bool required) {
    if (!present(o, k, required)) return false;
    if (o[k].is_boolean()) return true;
    fail(k, "not a boolean");
    return false;
  }
  bool uint_at(const Json& o, const char* k, bool required) {
    if (!present(o, k, required)) return false;
    if (o[k].is_number_unsigned()) return true;
    fail(k, "not an unsigned integer");
    return false;
  }
  bool object_at(const Json& o, const char* k, bool required) {
    if (!present(o, k, required)) return false;
    if (o[k].is_object()) return true;
    fail(k, "not an object");
    return false;
  }
  bool array_at(const Json& o, const char* k, bool required) {
    if (!present(o, k, required)) return false;
    if (o[k].is_array()) return true;
    fail(k, "not an array");
    return false;
  }
  void strings_at(const Json& o, const char* k, bool required, const std::string& prefix = "") {
    if (!array_at(o, k, required)) return;
    for (const auto& s : o[k]) {
      if (!s.is_string() || s.get<std::string>().rfind(prefix, 0) != 0) fail(k, "entry " + s.dump() + " is wrong");
    }
  }
  void uints_at(const Json& o, const char* k) {
    if (!array_at(o, k, false)) return;
    for (const auto& v : o[k]) {
      if (!v.is_number_unsigned()) fail(k, "entry not an unsigned integer");
    }
  }
  void absolute_at(const Json& o, const char* k, bool required) {
    if (string_at(o, k, required) && o[k].get<std::string>().rfind('/', 0) != 0) fail(k, "not absolute");
  }

  void check_root(const Json& root) {
    if (string_at(root, "path", true) && root["path"].get<std::string>().empty()) fail("root.path", "empty");
    bool_at(root, "readonly", false);
  }

  void check_process(const Json& p) {
    bool_at(p, "terminal", false);
    if (object_at(p, "user", true)) {
      uint_at(p["user"], "uid", true);
      uint_at(p["user"], "gid", true);
      uints_at(p["user"], "additionalGids");
    }
    strings_at(p, "args", true);
    if (p.contains("args") && p["args"].empty()) fail("process.args", "empty");
    strings_at(p, "env", false);
    for (const auto& e : p.value("env", Json::array())) {
      if (e.is_string() && e.get<std::string>().find('=') == std::string::npos)
        fail("process.env", "entry without '='");
    }
    absolute_at(p, "cwd", true);
    if (object_at(p, "capabilities", false)) {
      for (const auto& [k, v] : p["capabilities"].items()) {
        static const std::set<std::string> kSets = {"bounding", "effective", "inheritable", "permitted", "ambient"};
        if (kSets.count(k) == 0) fail("process.capabilities." + k, "unknown set");
        strings_at(p["capabilities"], k.c_str(), true, "CAP_");
      }
    }
    bool_at(p, "noNewPrivileges", false);
    if (p.contains("oomScoreAdj") && !p["oomScoreAdj"].is_number_integer()) fail("oomScoreAdj", "not an integer");
    if (array_at(p, "rlimits", false)) {
      for (const auto& r : p["rlimits"]) {
        string_at(r, "type", true);
        uint_at(r, "soft", true);
        uint_at(r, "hard", true);
      }
    }
  }

  void check_mounts(const Json& mounts) {
    for (const auto& m : mounts) {
      if (!m.is_object()) {
        fail("mounts", "entry not an object");
        continue;
      }
      absolute_at(m, "destination", true);
      string_at(m, "type", false);
      string_at(m, "source", false);
      strings_at(m, "options", false);
    }
  }

  void check_linux(const Json& l) {
    static const std::set<std::string> kNamespaces = {"pid", "network", "mount", "ipc", "uts", "user", "cgroup"};
    std::set<std::string> seen;
    if (array_at(l, "namespaces", false)) {
      for (const auto& ns : l["namespaces"]) {
        if (!string_at(ns, "type", true)) continue;
        std::string t = ns["type"];
        if (kNamespaces.count(t) == 0) fail("linux.namespaces", "unknown type " + t);
        if (!seen.insert(t).second) fail("linux.namespaces", "duplicate " + t);
      }
    }
    if (object_at(l, "resources", false)) check_resources(l["resources"]);
    absolute_at(l, "cgroupsPath", false);
    strings_at(l, "maskedPaths", false, "/");
    strings_at(l, "readonlyPaths", false, "/");
    if (object_at(l, "sysctl", false)) fail("linux.sysctl", "a zone's containers may not set sysctls");
    if (object_at(l, "seccomp", false)) check_seccomp(l["seccomp"]);
  }

  void check_resources(const Json& r) {
    if (array_at(r, "devices", false)) {
      for (const auto& d : r["devices"]) {
        bool_at(d, "allow", true);
        string_at(d, "access", false);
      }
    }
    if (object_at(r, "cpu", false)) {
      uint_at(r["cpu"], "shares", false);
      uint_at(r["cpu"], "period", false);
      if (r["cpu"].contains("quota") && !r["cpu"]["quota"].is_number_integer()) fail("cpu.quota", "not an integer");
      string_at(r["cpu"], "cpus", false);
      string_at(r["cpu"], "mems", false);
    }
    if (object_at(r, "memory", false) && !r["memory"]["limit"].is_number_integer())
      fail("memory.limit", "not an integer");
    if (object_at(r, "pids", false) && !r["pids"]["limit"].is_number_integer()) fail("pids.limit", "not an integer");
    if (object_at(r, "unified", false)) {
      for (const auto& [k, v] : r["unified"].items()) {
        if (!v.is_string()) fail("unified." + k, "not a string");
      }
    }
  }

  void check_seccomp(const Json& s) {
    if (string_at(s, "defaultAction", true) && s["defaultAction"].get<std::string>().rfind("SCMP_ACT_", 0) != 0) {
      fail("seccomp.defaultAction", "not SCMP_ACT_*");
    }
    strings_at(s, "architectures", false, "SCMP_ARCH_");
    if (!array_at(s, "syscalls", false)) return;
    for (const auto& rule : s["syscalls"]) {
      strings_at(rule, "names", true);
      if (rule.contains("names") && rule["names"].empty()) fail("seccomp.syscalls.names", "empty");
      if (string_at(rule, "action", true) && rule["action"].get<std::string>().rfind("SCMP_ACT_", 0) != 0) {
        fail("seccomp.syscalls.action", "not SCMP_ACT_*");
      }
      uint_at(rule, "errnoRet", false);
      if (!array_at(rule, "args", false)) continue;
      for (const auto& a : rule["args"]) {
        uint_at(a, "index", true);
        uint_at(a, "value", true);
        uint_at(a, "valueTwo", false);
        if (string_at(a, "op", true) && a["op"].get<std::string>().rfind("SCMP_CMP_", 0) != 0)
          fail("op", "not SCMP_CMP_*");
      }
    }
  }

  std::vector<std::string> errors_;
};

// --- helpers ---

oci::ImageConfig busybox() {
  oci::ImageConfig image;
  image.os = "linux";
  image.architecture = "amd64";
  image.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
  image.cmd = {"sh"};
  return image;
}

oci::ContainerSpecInput defaults() {
  oci::ContainerSpecInput in;
  in.hostname = "pod-a";
  in.cgroups_path = oci::default_cgroups_path("c0ffee");
  return in;
}

struct Generated {
  oci::GeneratedSpec spec;
  Json doc;
};

Generated generate(const oci::ImageConfig& image, const oci::ContainerSpecInput& in) {
  auto r = oci::generate_runtime_spec(image, in);
  if (!r.ok()) FAIL("generate_runtime_spec: " << r.error().message());
  Json doc = Json::parse(r->config_json);
  auto problems = SpecChecker().check(doc);
  INFO(r->config_json);
  CHECK(problems == std::vector<std::string>{});
  return {std::move(*r), std::move(doc)};
}

Json generate_doc(const oci::ContainerSpecInput& in, const oci::ImageConfig& image = busybox()) {
  return generate(image, in).doc;
}

void require_invalid(const oci::ImageConfig& image, const oci::ContainerSpecInput& in, const std::string& fragment) {
  auto r = oci::generate_runtime_spec(image, in);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code() == ErrorCode::kInvalidArgument);
  CHECK_THAT(r.error().message(), ContainsSubstring(fragment));
}

void require_invalid(const oci::ContainerSpecInput& in, const std::string& fragment) {
  require_invalid(busybox(), in, fragment);
}

std::vector<std::string> strings(const Json& j) {
  return j.get<std::vector<std::string>>();
}

std::vector<std::string> namespaces(const Json& doc) {
  std::vector<std::string> out;
  for (const auto& ns : doc["linux"]["namespaces"]) out.push_back(ns["type"]);
  return out;
}

std::vector<std::string> mount_destinations(const Json& doc) {
  std::vector<std::string> out;
  for (const auto& m : doc["mounts"]) out.push_back(m["destination"]);
  return out;
}

const Json* mount_at(const Json& doc, const std::string& destination) {
  for (const auto& m : doc["mounts"]) {
    if (m["destination"] == destination) return &m;
  }
  return nullptr;
}

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// The syscalls a profile allows unconditionally (rules without args).
std::set<std::string> allowed_syscalls(const Json& profile) {
  std::set<std::string> out;
  for (const auto& rule : profile["syscalls"]) {
    if (rule["action"] == "SCMP_ACT_ALLOW" && !rule.contains("args")) {
      for (const auto& n : rule["names"]) out.insert(n.get<std::string>());
    }
  }
  return out;
}

const Json* rule_for(const Json& profile, const std::string& name, const std::string& action) {
  for (const auto& rule : profile["syscalls"]) {
    if (rule["action"] == action && has(strings(rule["names"]), name)) return &rule;
  }
  return nullptr;
}

}  // namespace

// --- the whole document ---

TEST_CASE("runtime spec: a busybox image with defaults gives the spec crun expects in a zone") {
  auto g = generate(busybox(), defaults());
  const Json& d = g.doc;
  CHECK(d["ociVersion"] == "1.0.2");
  CHECK(d["root"] == Json({{"path", "rootfs"}, {"readonly", false}}));
  CHECK_FALSE(d.contains("hostname"));  // crun: "hostname requires the UTS namespace"
  CHECK_FALSE(d.contains("annotations"));

  const Json& p = d["process"];
  CHECK(strings(p["args"]) == std::vector<std::string>{"sh"});
  CHECK(
      strings(p["env"]) ==
      std::vector<std::string>{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=pod-a"});
  CHECK(p["cwd"] == "/");
  CHECK(p["terminal"] == false);
  CHECK(p["user"] == Json({{"uid", 0}, {"gid", 0}, {"additionalGids", {0}}}));
  CHECK(p["noNewPrivileges"] == false);
  CHECK(p["oomScoreAdj"] == 0);
  CHECK_FALSE(p.contains("rlimits"));  // containerd's CRI removes the default rlimits
  for (const char* set : {"bounding", "effective", "permitted"}) {
    CHECK(strings(p["capabilities"][set]) == oci::default_capabilities());
  }
  CHECK_FALSE(p["capabilities"].contains("ambient"));
  CHECK_FALSE(p["capabilities"].contains("inheritable"));
  CHECK(oci::default_capabilities().size() == 14);

  // The same seven mounts as `crun spec` (crun 1.8.1), with containerd's options.
  CHECK(mount_destinations(d) ==
        std::vector<std::string>{"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup"});
  CHECK((*mount_at(d, "/proc"))["type"] == "proc");
  CHECK((*mount_at(d, "/dev"))["type"] == "tmpfs");
  CHECK((*mount_at(d, "/dev/pts"))["type"] == "devpts");
  CHECK((*mount_at(d, "/dev/shm"))["source"] == "shm");
  CHECK((*mount_at(d, "/dev/mqueue"))["type"] == "mqueue");
  CHECK(has(strings((*mount_at(d, "/sys"))["options"]), "ro"));
  CHECK((*mount_at(d, "/sys/fs/cgroup"))["type"] == "cgroup");
  CHECK(has(strings((*mount_at(d, "/sys/fs/cgroup"))["options"]), "ro"));

  const Json& l = d["linux"];
  CHECK(namespaces(d) == std::vector<std::string>{"pid", "mount", "cgroup"});
  CHECK(l["cgroupsPath"] == "/zoned/c0ffee");
  CHECK(l["resources"] == Json({{"devices", {{{"allow", false}, {"access", "rwm"}}}}}));
  CHECK(strings(l["maskedPaths"]) == std::vector<std::string>{"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                                                              "/proc/latency_stats", "/proc/timer_list",
                                                              "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
                                                              "/proc/scsi"});
  CHECK(strings(l["readonlyPaths"]) ==
        std::vector<std::string>{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"});
  CHECK(l["seccomp"]["defaultAction"] == "SCMP_ACT_ERRNO");
  CHECK_FALSE(l.contains("sysctl"));

  CHECK(g.spec.username.empty());
  CHECK(g.spec.groupname.empty());
  CHECK_FALSE(g.spec.gid_from_passwd);
  CHECK(g.spec.warnings.empty());
  CHECK(g.spec.zone_sysctls.empty());
}

TEST_CASE("runtime spec: the structural check catches what it is meant to catch") {
  Json doc = generate_doc(defaults());
  SpecChecker checker;
  doc["process"]["user"]["uid"] = "0";
  doc["linux"]["namespaces"].push_back({{"type", "pid"}});
  doc["mounts"][0]["destination"] = "proc";
  doc["linux"]["seccomp"]["syscalls"][0]["action"] = "ALLOW";
  doc["bogus"] = 1;
  auto errors = checker.check(doc);
  CHECK(errors.size() == 5);
}

TEST_CASE("runtime spec: never network, ipc or uts namespaces; pid unless shared; no cgroupns when privileged") {
  auto in = defaults();
  for (bool share : {false, true}) {
    for (bool privileged : {false, true}) {
      in.share_pid_namespace = share;
      in.privileged = privileged;
      auto ns = namespaces(generate_doc(in));
      CHECK_FALSE(has(ns, "network"));
      CHECK_FALSE(has(ns, "ipc"));
      CHECK_FALSE(has(ns, "uts"));
      CHECK_FALSE(has(ns, "user"));
      CHECK(has(ns, "mount"));
      CHECK(has(ns, "pid") == !share);
      CHECK(has(ns, "cgroup") == !privileged);
    }
  }
}

// --- process.args ---

TEST_CASE("runtime spec: args follow containerd (command replaces entrypoint and drops cmd, args replace cmd)") {
  auto image = busybox();
  image.entrypoint = {"/entry", "-e"};
  image.cmd = {"run", "--image"};
  struct Case {
    std::vector<std::string> command, args, want;
  };
  std::vector<Case> cases = {
      {{}, {}, {"/entry", "-e", "run", "--image"}},
      {{}, {"--mine"}, {"/entry", "-e", "--mine"}},
      {{"/bin/true"}, {}, {"/bin/true"}},
      {{"/bin/echo"}, {"a", "b"}, {"/bin/echo", "a", "b"}},
  };
  for (const auto& c : cases) {
    auto in = defaults();
    in.command = c.command;
    in.args = c.args;
    CHECK(strings(generate_doc(in, image)["process"]["args"]) == c.want);
  }
}

TEST_CASE("runtime spec: an entrypoint of [\"\"] counts as none; a cmd alone runs") {
  auto image = busybox();
  image.entrypoint = {""};
  image.cmd = {"/bin/sh", "-c", "true"};
  CHECK(strings(generate_doc(defaults(), image)["process"]["args"]) ==
        std::vector<std::string>{"/bin/sh", "-c", "true"});
  auto in = defaults();
  in.args = {"/bin/date"};
  CHECK(strings(generate_doc(in, image)["process"]["args"]) == std::vector<std::string>{"/bin/date"});
}

TEST_CASE("runtime spec: no command anywhere is InvalidArgument \"no command specified\"") {
  auto image = busybox();
  image.cmd.clear();
  require_invalid(image, defaults(), "no command specified");
  image.entrypoint = {""};
  require_invalid(image, defaults(), "no command specified");
  auto in = defaults();
  in.command = {""};
  require_invalid(busybox(), in, "command: the program (first argument) is empty");
  in.command = {"/bin/sh", std::string("a\0b", 3)};
  require_invalid(busybox(), in, "NUL");
}

// --- process.env ---

TEST_CASE("runtime spec: env is the image's with ours over it, in order, PATH defaulted") {
  auto image = busybox();
  image.env = {"PATH=/image/bin", "LANG=C", "FOO=image"};
  auto in = defaults();
  in.hostname.clear();
  in.env = {{"FOO", "cri"}, {"BAR", "1"}, {"LANG", "C.UTF-8"}};
  CHECK(strings(generate_doc(in, image)["process"]["env"]) ==
        std::vector<std::string>{"PATH=/image/bin", "LANG=C.UTF-8", "FOO=cri", "BAR=1"});

  image.env = {"HOME=/root"};
  CHECK(strings(generate_doc(defaults(), image)["process"]["env"]) ==
        std::vector<std::string>{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=pod-a",
                                 "HOME=/root"});
}

TEST_CASE("runtime spec: env details: TERM with a tty, '=' in values, duplicates, unsetting image entries") {
  auto image = busybox();
  image.env = {"PATH", "A=1=2"};  // an image entry without '=' removes the variable (containerd)
  auto in = defaults();
  in.tty = true;
  in.env = {{"X", "a=b"}, {"X", "last"}, {"TERM", "vt100"}, {"EMPTY", ""}};
  auto doc = generate_doc(in, image);
  CHECK(doc["process"]["terminal"] == true);
  CHECK(strings(doc["process"]["env"]) ==
        std::vector<std::string>{"TERM=vt100", "HOSTNAME=pod-a", "A=1=2", "X=last", "EMPTY="});
}

TEST_CASE("runtime spec: bad env names are InvalidArgument naming the field") {
  auto in = defaults();
  in.env = {{"", "x"}};
  require_invalid(in, "env: empty variable name");
  in.env = {{"A=B", "x"}};
  require_invalid(in, "env: variable name \"A=B\" contains '='");
  in.env = {{"A", std::string("x\0y", 3)}};
  require_invalid(in, "env: the value of \"A\" contains a NUL byte");
  auto image = busybox();
  image.env = {"OK=1", "=nope"};
  require_invalid(image, defaults(), "image config Env[1]: empty variable name");
}

// --- process.cwd ---

TEST_CASE("runtime spec: cwd is ours, else the image's, else /; relative ones are refused") {
  auto image = busybox();
  CHECK(generate_doc(defaults(), image)["process"]["cwd"] == "/");
  image.working_dir = "/srv";
  CHECK(generate_doc(defaults(), image)["process"]["cwd"] == "/srv");
  auto in = defaults();
  in.working_dir = "/work";
  CHECK(generate_doc(in, image)["process"]["cwd"] == "/work");
  in.working_dir = "work";
  require_invalid(image, in, "working_dir: must be an absolute path");
  in.working_dir = "/a/../b";
  require_invalid(image, in, "working_dir: \"/a/../b\" contains \"..\"");
  image.working_dir = "app";
  require_invalid(image, defaults(), "image config WorkingDir: must be an absolute path");
}

// --- process.user ---

TEST_CASE("runtime spec: the image user: uid, uid:gid, name, name:group, mixed") {
  struct Case {
    std::string user;
    uint32_t uid, gid;
    std::string username, groupname;
    bool gid_from_passwd;
    Json additional;  // null: absent
  };
  std::vector<Case> cases = {
      {"", 0, 0, "", "", false, {0}},
      {"1000", 1000, 0, "", "", true, nullptr},
      {"1000:2000", 1000, 2000, "", "", false, {2000}},
      {"0:0", 0, 0, "", "", false, {0}},
      {"nobody", 0, 0, "nobody", "", false, nullptr},
      {"nobody:nogroup", 0, 0, "nobody", "nogroup", false, nullptr},
      {"1000:staff", 1000, 0, "", "staff", false, nullptr},
      {"www-data:33", 0, 33, "www-data", "", false, {33}},
  };
  for (const auto& c : cases) {
    INFO("user " << c.user);
    auto image = busybox();
    image.user = c.user;
    auto g = generate(image, defaults());
    const Json& u = g.doc["process"]["user"];
    CHECK(u["uid"] == c.uid);
    CHECK(u["gid"] == c.gid);
    CHECK(g.spec.username == c.username);
    CHECK(g.spec.groupname == c.groupname);
    CHECK(g.spec.gid_from_passwd == c.gid_from_passwd);
    if (c.additional.is_null()) {
      CHECK_FALSE(u.contains("additionalGids"));
    } else {
      CHECK(u["additionalGids"] == c.additional);
    }
  }
}

TEST_CASE("runtime spec: bad image users are InvalidArgument") {
  for (std::string user : {"a:b:c", "1000:", ":1000", "bad name", "4294967295", "99999999999", "us/er"}) {
    INFO(user);
    auto image = busybox();
    image.user = user;
    require_invalid(image, defaults(), "image config User");
  }
}

TEST_CASE("runtime spec: CRI run_as_* win over the image user; a group needs a user") {
  auto image = busybox();
  image.user = "nobody";
  auto in = defaults();
  in.run_as_user = 1001;
  auto g = generate(image, in);
  CHECK(g.doc["process"]["user"]["uid"] == 1001);
  CHECK(g.spec.username.empty());
  CHECK(g.spec.gid_from_passwd);

  in.run_as_group = 3000;
  g = generate(image, in);
  CHECK(g.doc["process"]["user"]["gid"] == 3000);
  CHECK_FALSE(g.spec.gid_from_passwd);

  in.run_as_username = "app";  // the name wins over the uid; the group stays
  g = generate(image, in);
  CHECK(g.spec.username == "app");
  CHECK(g.doc["process"]["user"]["uid"] == 0);
  CHECK(g.doc["process"]["user"]["gid"] == 3000);

  auto bad = defaults();
  bad.run_as_group = 5;
  require_invalid(image, bad, "run_as_group: set without run_as_user or run_as_username");
  bad = defaults();
  bad.run_as_user = -1;
  require_invalid(image, bad, "run_as_user: -1 is out of range");
  bad.run_as_user = 1LL << 32;
  require_invalid(image, bad, "run_as_user");
  bad = defaults();
  bad.run_as_username = "a:b";
  require_invalid(image, bad, "run_as_username: invalid name");
}

TEST_CASE("runtime spec: supplemental groups are sorted, unique, with the primary group") {
  auto in = defaults();
  in.run_as_user = 1000;
  in.run_as_group = 50;
  in.supplemental_groups = {300, 20, 300, 1};
  CHECK(generate_doc(in)["process"]["user"]["additionalGids"] == Json({1, 20, 50, 300}));
  in.supplemental_groups = {-5};
  require_invalid(in, "supplemental_groups: -5 is out of range");
}

// --- capabilities ---

namespace {
std::vector<std::string> caps_of(const oci::ContainerSpecInput& in) {
  Json doc = generate_doc(in);
  auto bounding = strings(doc["process"]["capabilities"]["bounding"]);
  CHECK(strings(doc["process"]["capabilities"]["effective"]) == bounding);
  CHECK(strings(doc["process"]["capabilities"]["permitted"]) == bounding);
  return bounding;
}
}  // namespace

TEST_CASE("runtime spec: capabilities: add and drop in CRI style, CAP_ optional, any case") {
  auto in = defaults();
  in.add_capabilities = {"net_admin", "CAP_SYS_TIME", "CHOWN"};
  in.drop_capabilities = {"mknod", "CAP_NET_RAW"};
  auto caps = caps_of(in);
  CHECK(caps.size() == 14 + 2 - 2);
  CHECK(caps.back() == "CAP_SYS_TIME");
  CHECK(has(caps, "CAP_NET_ADMIN"));
  CHECK_FALSE(has(caps, "CAP_MKNOD"));
  CHECK_FALSE(has(caps, "CAP_NET_RAW"));

  in.add_capabilities = {"SYS_ADMIN"};
  in.drop_capabilities = {"SYS_ADMIN"};  // drops are applied after additions
  CHECK_FALSE(has(caps_of(in), "CAP_SYS_ADMIN"));
}

TEST_CASE("runtime spec: capabilities: ALL") {
  auto in = defaults();
  in.add_capabilities = {"ALL"};
  in.drop_capabilities = {"CHOWN"};
  auto caps = caps_of(in);
  CHECK(caps.size() == oci::all_capabilities().size() - 1);
  CHECK_FALSE(has(caps, "CAP_CHOWN"));
  CHECK(has(caps, "CAP_CHECKPOINT_RESTORE"));

  in.add_capabilities = {"NET_BIND_SERVICE"};
  in.drop_capabilities = {"all"};
  CHECK(caps_of(in) == std::vector<std::string>{"CAP_NET_BIND_SERVICE"});

  in.add_capabilities = {};
  in.drop_capabilities = {"ALL"};
  CHECK(caps_of(in).empty());
  CHECK(oci::all_capabilities().size() == 41);
}

TEST_CASE("runtime spec: unknown capability names are InvalidArgument naming them") {
  auto in = defaults();
  in.add_capabilities = {"NET_ADMIN", "FLY"};
  require_invalid(in, "capabilities: unknown capability \"FLY\" in add_capabilities");
  in.add_capabilities = {};
  in.drop_capabilities = {"CAP_"};
  require_invalid(in, "unknown capability \"CAP_\" in drop_capabilities");
  in.privileged = true;  // checked even when privileged
  require_invalid(in, "unknown capability");
}

// --- privileged, read-only root, no-new-privileges, masked and read-only paths ---

TEST_CASE("runtime spec: privileged: every capability, no seccomp, no masked/readonly paths, rw /sys, all devices") {
  auto in = defaults();
  in.privileged = true;
  in.drop_capabilities = {"CHOWN"};
  in.masked_paths = std::vector<std::string>{"/proc/kcore"};
  in.seccomp = oci::SeccompMode::kLocalhost;
  in.seccomp_localhost_json = R"({"defaultAction":"SCMP_ACT_ALLOW"})";
  Json doc = generate_doc(in);
  CHECK(strings(doc["process"]["capabilities"]["bounding"]) == oci::all_capabilities());
  CHECK_FALSE(doc["linux"].contains("seccomp"));
  CHECK(doc["linux"]["maskedPaths"].empty());
  CHECK(doc["linux"]["readonlyPaths"].empty());
  CHECK(has(strings((*mount_at(doc, "/sys"))["options"]), "rw"));
  CHECK_FALSE(has(strings((*mount_at(doc, "/sys"))["options"]), "ro"));
  CHECK(has(strings((*mount_at(doc, "/sys/fs/cgroup"))["options"]), "rw"));
  CHECK(doc["linux"]["resources"]["devices"] == Json({{{"allow", true}, {"access", "rwm"}}}));
}

TEST_CASE("runtime spec: read-only root, no_new_privileges, explicit masked and readonly paths") {
  auto in = defaults();
  in.readonly_rootfs = true;
  in.no_new_privileges = true;
  in.masked_paths = std::vector<std::string>{};
  in.readonly_paths = std::vector<std::string>{"/proc/sys", "/proc/bus"};
  Json doc = generate_doc(in);
  CHECK(doc["root"]["readonly"] == true);
  CHECK(doc["process"]["noNewPrivileges"] == true);
  CHECK(doc["linux"]["maskedPaths"].empty());  // an empty list is honoured, not defaulted
  CHECK(strings(doc["linux"]["readonlyPaths"]) == std::vector<std::string>{"/proc/sys", "/proc/bus"});
  in.masked_paths = std::vector<std::string>{"proc/kcore"};
  require_invalid(in, "masked_paths[0]: must be an absolute path");
  in.masked_paths.reset();
  in.readonly_paths = std::vector<std::string>{"/proc/../etc"};
  require_invalid(in, "readonly_paths[0]");
}

// --- mounts ---

TEST_CASE("runtime spec: extra mounts replace defaults, sort parents first, bind mounts get rbind") {
  auto in = defaults();
  in.extra_mounts = {
      {"/data/cache/", "", "/zone/volumes/c", {"ro"}},
      {"/dev/shm", "bind", "/run/zone/shm", {"rbind", "rw"}},
      {"/data", "bind", "/zone/volumes/d", {"rw"}},
      {"/etc/hosts", "bind", "/run/zone/hosts", {"bind", "ro"}},
  };
  Json doc = generate_doc(in);
  CHECK(mount_destinations(doc) == std::vector<std::string>{"/proc", "/dev", "/dev/pts", "/dev/mqueue", "/sys",
                                                            "/sys/fs/cgroup", "/data", "/data/cache", "/dev/shm",
                                                            "/etc/hosts"});
  const Json& cache = *mount_at(doc, "/data/cache");
  CHECK(cache["type"] == "bind");
  CHECK(strings(cache["options"]) == std::vector<std::string>{"rbind", "ro"});
  CHECK(strings((*mount_at(doc, "/etc/hosts"))["options"]) == std::vector<std::string>{"bind", "ro"});
  CHECK((*mount_at(doc, "/dev/shm"))["source"] == "/run/zone/shm");
}

TEST_CASE("runtime spec: a /dev mount of our own drops every default mount under /dev") {
  auto in = defaults();
  in.extra_mounts = {{"/dev", "tmpfs", "tmpfs", {"mode=755"}}};
  CHECK(mount_destinations(generate_doc(in)) == std::vector<std::string>{"/proc", "/sys", "/sys/fs/cgroup", "/dev"});
}

TEST_CASE("runtime spec: bad mounts are InvalidArgument naming the mount") {
  auto in = defaults();
  in.extra_mounts = {{"data", "bind", "/x", {}}};
  require_invalid(in, "extra_mounts[0].destination: must be an absolute path");
  in.extra_mounts = {{"/a/../etc", "bind", "/x", {}}};
  require_invalid(in, "extra_mounts[0].destination");
  in.extra_mounts = {{"/a", "bind", "", {}}};
  require_invalid(in, "extra_mounts[0].source: empty");
  in.extra_mounts = {{"/a", "bind", "relative", {}}};
  require_invalid(in, "extra_mounts[0].source: must be an absolute path");
  in.extra_mounts = {{"/a", "Bad Type", "x", {}}};
  require_invalid(in, "extra_mounts[0].type");
  in.extra_mounts = {{"/a", "tmpfs", "tmpfs", {"size=1m,mode=777"}}};
  require_invalid(in, "extra_mounts[0].options: invalid option");
  in.extra_mounts = {{"/a", "tmpfs", "tmpfs", {}}, {"/a/", "tmpfs", "tmpfs", {}}};
  require_invalid(in, "extra_mounts[1].destination: /a is mounted twice");
}

// --- resources ---

TEST_CASE("runtime spec: resources map to linux.resources and process.oomScoreAdj") {
  auto in = defaults();
  in.resources.cpu_period = 100000;
  in.resources.cpu_quota = 50000;
  in.resources.cpu_shares = 512;
  in.resources.memory_limit_bytes = 256LL << 20;
  in.resources.pids_limit = 100;
  in.resources.oom_score_adj = 999;
  in.resources.cpuset_cpus = "0-1";
  in.resources.cpuset_mems = "0";
  in.resources.unified = {{"memory.high", "200M"}};
  Json doc = generate_doc(in);
  const Json& r = doc["linux"]["resources"];
  CHECK(r["cpu"] == Json({{"period", 100000}, {"quota", 50000}, {"shares", 512}, {"cpus", "0-1"}, {"mems", "0"}}));
  CHECK(r["memory"] == Json({{"limit", 256LL << 20}}));
  CHECK(r["pids"] == Json({{"limit", 100}}));
  CHECK(r["unified"] == Json({{"memory.high", "200M"}}));
  CHECK(doc["process"]["oomScoreAdj"] == 999);

  in.resources = {};
  in.resources.cpu_quota = -1;
  in.resources.pids_limit = -1;
  in.resources.oom_score_adj = -998;
  doc = generate_doc(in);
  CHECK(doc["linux"]["resources"]["cpu"] == Json({{"quota", -1}}));
  CHECK(doc["linux"]["resources"]["pids"] == Json({{"limit", -1}}));
  CHECK_FALSE(doc["linux"]["resources"].contains("memory"));
  CHECK(doc["process"]["oomScoreAdj"] == -998);
}

TEST_CASE("runtime spec: out-of-range resources are InvalidArgument naming the field") {
  struct Case {
    void (*set)(oci::ContainerSpecInput::Resources&);
    std::string fragment;
  };
  std::vector<Case> cases = {
      {[](auto& r) { r.cpu_period = 10; }, "resources.cpu_period: 10 is out of range"},
      {[](auto& r) { r.cpu_quota = -5; }, "resources.cpu_quota"},
      {[](auto& r) { r.cpu_shares = 1; }, "resources.cpu_shares: 1 is out of range (2..262144)"},
      {[](auto& r) { r.memory_limit_bytes = -1; }, "resources.memory_limit_bytes"},
      {[](auto& r) { r.pids_limit = -2; }, "resources.pids_limit"},
      {[](auto& r) { r.oom_score_adj = 1001; }, "resources.oom_score_adj: 1001 is out of range (-1000..1000)"},
      {[](auto& r) { r.cpuset_cpus = "0-1;rm"; }, "resources.cpuset_cpus: invalid cpuset"},
      {[](auto& r) {
         r.unified = {{"../memory.max", "1"}};
       },
       "resources.unified: invalid cgroup file name"},
      {[](auto& r) {
         r.unified = {{"memory.max", "1\nmemory.high 2"}};
       },
       "resources.unified: the value of memory.max"},
  };
  for (const auto& c : cases) {
    auto in = defaults();
    c.set(in.resources);
    require_invalid(in, c.fragment);
  }
}

TEST_CASE("update_resources_json: the limits crun update takes, checked like the spec's, no devices") {
  oci::ContainerSpecInput::Resources r;
  r.cpu_quota = 20000;
  r.cpu_period = 100000;
  r.memory_limit_bytes = 64LL << 20;
  r.unified = {{"memory.high", "60M"}};
  r.oom_score_adj = 500;
  auto json = oci::update_resources_json(r);
  REQUIRE(json.ok());
  CHECK(Json::parse(*json) == Json({{"cpu", {{"period", 100000}, {"quota", 20000}}},
                                    {"memory", {{"limit", 64LL << 20}}},
                                    {"unified", {{"memory.high", "60M"}}}}));
  CHECK(Json::parse(*oci::update_resources_json({})) == Json::object());
  r.cpu_shares = 1;
  auto bad = oci::update_resources_json(r);
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.error().message(), ContainsSubstring("resources.cpu_shares"));
  r.cpu_shares = 0;
  r.unified = {{"../memory.max", "1"}};
  CHECK_FALSE(oci::update_resources_json(r).ok());
}

TEST_CASE("runtime spec: rlimits only when given, checked") {
  auto in = defaults();
  in.rlimits = {{"RLIMIT_NOFILE", 1024, 4096}, {"RLIMIT_NPROC", 100, 100}};
  CHECK(generate_doc(in)["process"]["rlimits"] == Json({{{"type", "RLIMIT_NOFILE"}, {"hard", 4096}, {"soft", 1024}},
                                                        {{"type", "RLIMIT_NPROC"}, {"hard", 100}, {"soft", 100}}}));
  in.rlimits = {{"RLIMIT_FOO", 1, 1}};
  require_invalid(in, "rlimits: unknown type \"RLIMIT_FOO\"");
  in.rlimits = {{"RLIMIT_NOFILE", 2, 1}};
  require_invalid(in, "rlimits: RLIMIT_NOFILE: soft limit above the hard limit");
  in.rlimits = {{"RLIMIT_CORE", 0, 0}, {"RLIMIT_CORE", 0, 0}};
  require_invalid(in, "rlimits: RLIMIT_CORE is given twice");
}

// --- sysctls ---

TEST_CASE("runtime spec: namespaced sysctls are returned for the zone, never put in linux.sysctl") {
  auto in = defaults();
  in.sysctls = {{"net.ipv4.ip_unprivileged_port_start", "0"},
                {"kernel.shm_rmid_forced", "1"},
                {"kernel.msgmax", "65536"},
                {"kernel.sem", "250 32000 100 128"},
                {"fs.mqueue.msg_max", "20"},
                {"net/ipv4/conf/eth0.100/rp_filter", "2"}};
  auto g = generate(busybox(), in);
  CHECK_FALSE(g.doc["linux"].contains("sysctl"));
  CHECK(g.spec.zone_sysctls.size() == 6);
  CHECK(g.spec.zone_sysctls[0] == std::pair<std::string, std::string>{"fs.mqueue.msg_max", "20"});
  CHECK(oci::validate_pod_sysctl("net.core.somaxconn", "1024").ok());
  // they reach the agent in zoned's own annotation
  auto carried = nlohmann::json::parse(g.doc["annotations"]["io.zoned.zone-sysctls"].get<std::string>());
  CHECK(carried.size() == 6);
  CHECK(carried["kernel.sem"] == "250 32000 100 128");
  CHECK(carried["net/ipv4/conf/eth0.100/rp_filter"] == "2");
}

TEST_CASE("runtime spec: a user's annotation cannot pose as zoned's sysctl annotation") {
  auto in = defaults();
  in.annotations = {{"io.zoned.zone-sysctls", R"({"kernel.core_pattern":"|/bin/evil"})"}, {"keep", "me"}};
  auto g = generate(busybox(), in);
  CHECK_FALSE(g.doc["annotations"].contains("io.zoned.zone-sysctls"));
  CHECK(g.doc["annotations"]["keep"] == "me");
  in.sysctls = {{"kernel.shm_rmid_forced", "1"}};
  g = generate(busybox(), in);
  CHECK(g.doc["annotations"]["io.zoned.zone-sysctls"] == R"({"kernel.shm_rmid_forced":"1"})");
}

TEST_CASE("runtime spec: other sysctls are refused with a clear message") {
  for (const char* name :
       {"kernel.hostname", "vm.swappiness", "kernel.domainname", "fs.file-max", "kernel.sem_next_id"}) {
    auto s = oci::validate_pod_sysctl(name, "1");
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().code() == ErrorCode::kInvalidArgument);
    CHECK_THAT(s.error().message(), ContainsSubstring("is not namespaced (allowed: net.*"));
  }
  for (const char* name : {"Net.ipv4.x", "net..x", "net.x.", "", "net.x/../../etc", "net.ipv4.-x"}) {
    INFO(name);
    CHECK_THAT(oci::validate_pod_sysctl(name, "1").error().message(), ContainsSubstring("invalid sysctl name"));
  }
  CHECK_THAT(oci::validate_pod_sysctl("net.core.somaxconn", "1\n2").error().message(),
             ContainsSubstring("must be one line"));
  auto in = defaults();
  in.sysctls = {{"net.ipv4.ip_forward", "1"}, {"kernel.panic", "1"}};
  require_invalid(in, "sysctls: sysctl \"kernel.panic\" is not namespaced");
}

// --- seccomp ---

TEST_CASE("runtime spec: the RuntimeDefault seccomp profile") {
  Json profile = generate_doc(defaults())["linux"]["seccomp"];
  CHECK(profile["defaultAction"] == "SCMP_ACT_ERRNO");
  CHECK(strings(profile["architectures"]) ==
        std::vector<std::string>{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"});
  auto allowed = allowed_syscalls(profile);
  CHECK(allowed.size() > 300);
  for (const char* s : {"read", "write", "openat", "execve", "exit_group", "futex", "epoll_wait", "clock_gettime",
                        "arch_prctl", "chroot", "io_uring_setup", "statx", "rseq"}) {
    INFO(s);
    CHECK(allowed.count(s) == 1);
  }
  for (const char* s :
       {"mount", "umount2", "unshare", "setns", "reboot", "kexec_load", "init_module", "bpf", "perf_event_open",
        "add_key", "keyctl", "userfaultfd", "clock_settime", "swapon", "open_by_handle_at", "clone"}) {
    INFO(s);
    CHECK(allowed.count(s) == 0);
  }
  // clone only without namespace flags; clone3 gives ENOSYS so that libc falls back to clone.
  const Json* clone = rule_for(profile, "clone", "SCMP_ACT_ALLOW");
  REQUIRE(clone != nullptr);
  CHECK((*clone)["args"] ==
        Json({{{"index", 0}, {"value", 2114060288}, {"valueTwo", 0}, {"op", "SCMP_CMP_MASKED_EQ"}}}));
  const Json* clone3 = rule_for(profile, "clone3", "SCMP_ACT_ERRNO");
  REQUIRE(clone3 != nullptr);
  CHECK((*clone3)["errnoRet"] == 38);
  // personality only with the harmless personas.
  int personas = 0;
  for (const auto& rule : profile["syscalls"]) personas += has(strings(rule["names"]), "personality") ? 1 : 0;
  CHECK(personas == 5);
}

TEST_CASE("runtime spec: the RuntimeDefault profile opens syscalls for capabilities in the bounding set") {
  auto in = defaults();
  in.add_capabilities = {"SYS_ADMIN", "SYS_PTRACE", "SYS_TIME", "DAC_READ_SEARCH"};
  in.drop_capabilities = {"SYS_CHROOT"};
  Json profile = generate_doc(in)["linux"]["seccomp"];
  auto allowed = allowed_syscalls(profile);
  for (const char* s :
       {"mount", "unshare", "setns", "clone", "clone3", "process_vm_readv", "clock_settime", "open_by_handle_at"}) {
    INFO(s);
    CHECK(allowed.count(s) == 1);
  }
  CHECK(allowed.count("chroot") == 0);
  CHECK(rule_for(profile, "clone3", "SCMP_ACT_ERRNO") == nullptr);
  CHECK(oci::default_seccomp_profile_json({}) == oci::default_seccomp_profile_json({"CAP_CHOWN"}));
}

TEST_CASE("runtime spec: seccomp Unconfined leaves it out; Localhost embeds the profile's OCI fields") {
  auto in = defaults();
  in.seccomp = oci::SeccompMode::kUnconfined;
  CHECK_FALSE(generate_doc(in)["linux"].contains("seccomp"));

  in.seccomp = oci::SeccompMode::kLocalhost;
  in.seccomp_localhost_json = R"({
    "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1, "architectures": ["SCMP_ARCH_X86_64"],
    "archMap": [{"architecture": "SCMP_ARCH_X86_64"}], "comment": "dropped",
    "syscalls": [
      {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW", "comment": "x"},
      {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
       "args": [{"index": 1, "value": 9, "op": "SCMP_CMP_EQ"}]}]})";
  Json profile = generate_doc(in)["linux"]["seccomp"];
  CHECK(profile == Json::parse(R"({
    "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1, "architectures": ["SCMP_ARCH_X86_64"],
    "syscalls": [
      {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
      {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
       "args": [{"index": 1, "value": 9, "op": "SCMP_CMP_EQ"}]}]})"));
  auto normalized = oci::normalize_seccomp_profile(in.seccomp_localhost_json);
  REQUIRE(normalized.ok());
  CHECK(Json::parse(*normalized) == profile);
}

TEST_CASE("runtime spec: bad Localhost profiles are InvalidArgument naming the field") {
  struct Case {
    std::string json, fragment;
  };
  std::vector<Case> cases = {
      {"", "seccomp_localhost_json: empty"},
      {"{", "seccomp profile: malformed JSON"},
      {"[]", "seccomp profile: field '(document)' must be an object"},
      {"{}", "seccomp profile: required field 'defaultAction' is missing"},
      {R"({"defaultAction":"ALLOW"})", "field 'defaultAction': must be one of SCMP_ACT_KILL"},
      {R"({"defaultAction":"SCMP_ACT_NOTIFY"})", "defaultAction"},
      {R"({"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/run/agent.sock"})", "listenerPath"},
      {R"({"defaultAction":"SCMP_ACT_ALLOW","architectures":["x86_64"]})", "unknown value \"x86_64\""},
      {R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":{}})", "field 'syscalls' must be an array"},
      {R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"action":"SCMP_ACT_ALLOW"}]})",
       "field 'syscalls[0].names': must list 1..4096 syscalls"},
      {R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"]}]})",
       "required field 'syscalls[0].action' is missing"},
      {R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","errnoRet":-1}]})",
       "field 'syscalls[0].errnoRet' must be a non-negative integer"},
      {R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["kill"],"action":"SCMP_ACT_ERRNO",
          "args":[{"index":6,"value":1,"op":"SCMP_CMP_EQ"}]}]})",
       "field 'syscalls[0].args[0].index': 6 is too large"},
      {R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["kill"],"action":"SCMP_ACT_ERRNO",
          "args":[{"index":0,"value":1,"op":"EQ"}]}]})",
       "field 'syscalls[0].args[0].op': must be one of SCMP_CMP_NE"},
  };
  for (const auto& c : cases) {
    INFO(c.json);
    auto in = defaults();
    in.seccomp = oci::SeccompMode::kLocalhost;
    in.seccomp_localhost_json = c.json;
    require_invalid(in, c.fragment);
  }
}

// --- the rest ---

TEST_CASE("runtime spec: AppArmor is ignored with a warning; annotations pass through") {
  auto in = defaults();
  in.apparmor_profile = "localhost/k8s-nginx";
  in.annotations = {{"io.kubernetes.cri.container-type", "container"}, {"io.kubernetes.cri.sandbox-id", "abc"}};
  auto g = generate(busybox(), in);
  REQUIRE(g.spec.warnings.size() == 1);
  CHECK_THAT(g.spec.warnings[0], ContainsSubstring("zones have no AppArmor"));
  CHECK(g.doc["annotations"]["io.kubernetes.cri.sandbox-id"] == "abc");
  CHECK_FALSE(g.doc["process"].contains("apparmorProfile"));
  in.annotations = {{"", "x"}};
  require_invalid(in, "annotations: invalid key");
}

TEST_CASE("runtime spec: the cgroup path is optional, absolute and cgroupfs-style") {
  auto in = defaults();
  in.cgroups_path.clear();
  CHECK_FALSE(generate_doc(in)["linux"].contains("cgroupsPath"));
  in.cgroups_path = "zoned/c1";
  require_invalid(in, "cgroups_path: must be an absolute path");
  in.cgroups_path = "/zoned/../c1";
  require_invalid(in, "cgroups_path");
  in.cgroups_path = "zoned.slice:zoned:c1";
  require_invalid(in, "cgroups_path");
  CHECK(oci::default_cgroups_path("abc") == "/zoned/abc");
}

TEST_CASE("runtime spec: text that JSON cannot carry and specs too big for a zone are refused") {
  auto in = defaults();
  in.args = {"/bin/echo", "\xff\xfe"};
  require_invalid(in, "spec: cannot be encoded as JSON");
  in = defaults();
  for (int i = 0; i < 600; ++i) in.env.emplace_back("V" + std::to_string(i), std::string(1000, 'x'));
  require_invalid(in, "more than the 512 KiB a zone accepts");
}

// --- crun itself ---

namespace {

// A directory under /tmp, removed with everything in it.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "zoned-spec-XXXXXX").string();
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::string find_program(const std::string& name) {
  for (const char* dir : {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}) {
    auto p = std::filesystem::path(dir) / name;
    if (access(p.c_str(), X_OK) == 0) return p.string();
  }
  return "";
}

std::string own_namespace(const char* type) {
  std::error_code ec;
  return std::filesystem::read_symlink(std::string("/proc/self/ns/") + type, ec).string();
}

}  // namespace

// The zone runs crun 1.8.1 on a pure cgroup2 layout. This host has a hybrid layout, which crun
// refuses, so the container runs in a private mount namespace with cgroup2 mounted on
// /sys/fs/cgroup. The sandbox forbids raising RLIMIT_MEMLOCK, which crun needs to load its eBPF
// device filter, so linux.resources.devices is the one part removed before running.
TEST_CASE("runtime spec: crun 1.8.1 runs the generated spec, in the namespaces of its caller", "[crun]") {
  std::string crun = find_program("crun");
  std::string unshare = find_program("unshare");
  std::string busybox_bin = find_program("busybox");
  if (geteuid() != 0 || crun.empty() || unshare.empty() || busybox_bin.empty()) {
    SKIP("needs root, crun, unshare and busybox");
  }
  ScratchDir dir;
  REQUIRE_FALSE(dir.path().empty());
  auto rootfs = dir.path() / "bundle" / "rootfs";
  std::filesystem::create_directories(rootfs / "bin");
  std::filesystem::create_directories(rootfs / "etc");
  std::filesystem::copy_file(busybox_bin, rootfs / "bin" / "busybox");
  std::filesystem::create_symlink("busybox", rootfs / "bin" / "sh");
  {
    std::ofstream passwd(rootfs / "etc" / "passwd");
    passwd << "root:x:0:0:root:/root:/bin/sh\n";
  }

  std::string cgroup = "zoned-spec-test-" + std::to_string(getpid());
  auto in = defaults();
  in.cgroups_path = "/" + cgroup;
  in.readonly_rootfs = true;
  in.command = {"/bin/sh", "-c",
                "busybox id; busybox grep -E '^(CapBnd|CapEff|Seccomp|NoNewPrivs):' /proc/self/status; "
                "busybox cat /proc/self/cgroup; for t in net ipc uts pid; do busybox readlink /proc/self/ns/$t; done; "
                "busybox grep -E ' /sys(/fs/cgroup)? ' /proc/self/mounts; echo HOSTNAME=$HOSTNAME; "
                "busybox touch /x 2>/dev/null || echo rootfs-ro; "
                "busybox grep -oE ' /proc/(keys|acpi|sys) ' /proc/self/mounts"};
  Json doc = generate_doc(in);
  doc["linux"]["resources"].erase("devices");
  {
    std::ofstream config(dir.path() / "bundle" / "config.json");
    config << doc.dump();
  }

  std::string script = "mount --make-rprivate / && mount -t cgroup2 none /sys/fs/cgroup && " + crun + " --root " +
                       (dir.path() / "state").string() + " run --bundle " + (dir.path() / "bundle").string() +
                       " spec-test; rc=$?; rmdir /sys/fs/cgroup/" + cgroup + " 2>/dev/null; exit $rc";
  zoned::process::Options options;
  options.argv = {unshare, "-m", "/bin/sh", "-c", script};
  options.timeout = std::chrono::seconds(60);
  auto outcome = zoned::process::run(options);
  REQUIRE(outcome.ok());
  INFO(outcome->output);
  REQUIRE(outcome->success());
  const std::string& out = outcome->output;
  CHECK_THAT(out, ContainsSubstring("uid=0(root) gid=0"));
  CHECK_THAT(out, ContainsSubstring("CapBnd:\t00000000a80425fb"));  // the 14 default capabilities
  CHECK_THAT(out, ContainsSubstring("CapEff:\t00000000a80425fb"));
  CHECK_THAT(out, ContainsSubstring("Seccomp:\t2"));
  CHECK_THAT(out, ContainsSubstring("NoNewPrivs:\t0"));
  CHECK_THAT(out, ContainsSubstring("0::/\n"));  // its own cgroup namespace
  CHECK_THAT(out, ContainsSubstring("sysfs /sys sysfs ro,"));
  CHECK_THAT(out, ContainsSubstring("/sys/fs/cgroup cgroup2 ro,"));
  CHECK_THAT(out, ContainsSubstring("HOSTNAME=pod-a"));
  CHECK_THAT(out, ContainsSubstring("rootfs-ro"));
  // Masked (keys, acpi) and read-only (sys) paths are mounts over /proc.
  for (const char* p : {" /proc/keys ", " /proc/acpi ", " /proc/sys "}) CHECK_THAT(out, ContainsSubstring(p));
  // The pod's network, IPC and UTS namespaces are the caller's (the zone's); pid is its own.
  for (const char* t : {"net", "ipc", "uts"}) CHECK_THAT(out, ContainsSubstring(own_namespace(t)));
  CHECK_THAT(out, !ContainsSubstring(own_namespace("pid")));
}
