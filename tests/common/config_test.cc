#include "zoned/common/config.h"

#include <sys/stat.h>

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <string>
#include <vector>

#include "support/temp_dir.h"

using Catch::Matchers::ContainsSubstring;
using zoned::ErrorCode;
using zoned::parse_config;

TEST_CASE("empty config gives the documented defaults") {
  auto c = parse_config("", "test.toml");
  REQUIRE(c.ok());
  CHECK(c->socket_path == "/run/zoned/zoned.sock");
  CHECK(c->state_dir == "/var/lib/zoned");
  CHECK(c->data_dir == "/var/lib/zoned/data");
  CHECK(c->log_level == zoned::log::Level::kInfo);
  CHECK(c->log_format == zoned::log::Format::kText);
  CHECK(c->shutdown_timeout_seconds == 10);
}

TEST_CASE("every key is read") {
  auto c = parse_config(R"(
socket_path = "/tmp/z/z.sock"
socket_group = "kube"
state_dir = "/tmp/z/state"
data_dir = "/tmp/z/data"
log_level = "debug"
log_format = "json"
shutdown_timeout_seconds = 3
)",
                        "test.toml");
  REQUIRE(c.ok());
  CHECK(c->socket_path == "/tmp/z/z.sock");
  CHECK(c->socket_group == "kube");
  CHECK(c->state_dir == "/tmp/z/state");
  CHECK(c->data_dir == "/tmp/z/data");
  CHECK(c->log_level == zoned::log::Level::kDebug);
  CHECK(c->log_format == zoned::log::Format::kJson);
  CHECK(c->shutdown_timeout_seconds == 3);
}

TEST_CASE("unknown keys are refused with their line") {
  auto c = parse_config("log_level = \"info\"\nsocket_pth = \"/x\"\n", "cfg.toml");
  REQUIRE_FALSE(c.ok());
  CHECK(c.error().code() == ErrorCode::kInvalidArgument);
  CHECK_THAT(c.error().message(), ContainsSubstring("cfg.toml:2") && ContainsSubstring("unknown key 'socket_pth'") &&
                                      ContainsSubstring("socket_path"));
}

TEST_CASE("unknown tables are refused") {
  auto c = parse_config("[registry]\nmirror = \"x\"\n", "cfg.toml");
  REQUIRE_FALSE(c.ok());
  CHECK_THAT(c.error().message(), ContainsSubstring("unknown key 'registry'"));
}

TEST_CASE("wrong types are refused naming the expected type") {
  auto c = parse_config("log_level = 3\n", "cfg.toml");
  REQUIRE_FALSE(c.ok());
  CHECK_THAT(c.error().message(), ContainsSubstring("'log_level' must be a string, not integer"));
  auto t = parse_config("shutdown_timeout_seconds = \"10s\"\n", "cfg.toml");
  REQUIRE_FALSE(t.ok());
  CHECK_THAT(t.error().message(), ContainsSubstring("must be an integer, not string"));
}

TEST_CASE("invalid values are refused") {
  CHECK_FALSE(parse_config("log_level = \"loud\"\n", "c").ok());
  CHECK_FALSE(parse_config("log_format = \"xml\"\n", "c").ok());
  CHECK_FALSE(parse_config("state_dir = \"relative/dir\"\n", "c").ok());
  CHECK_FALSE(parse_config("shutdown_timeout_seconds = -1\n", "c").ok());
  auto long_socket = parse_config("socket_path = \"/" + std::string(120, 'a') + "\"\n", "c");
  REQUIRE_FALSE(long_socket.ok());
  CHECK_THAT(long_socket.error().message(), ContainsSubstring("107 bytes"));
}

TEST_CASE("TOML syntax errors name file, line and column") {
  auto c = parse_config("log_level = \"info\"\nstate_dir = \n", "bad.toml");
  REQUIRE_FALSE(c.ok());
  CHECK_THAT(c.error().message(), ContainsSubstring("bad.toml:2:"));
}

TEST_CASE("a missing config file is an error naming it") {
  auto c = zoned::load_config_file("/nonexistent/zoned.toml");
  REQUIRE_FALSE(c.ok());
  CHECK(c.error().code() == ErrorCode::kNotFound);
  CHECK_THAT(c.error().describe(), ContainsSubstring("/nonexistent/zoned.toml"));
}

TEST_CASE("prepare_config_dirs creates the directories and refuses unusable ones") {
  zoned::testing::TempDir tmp;
  zoned::Config config;
  config.state_dir = tmp.file("state");
  config.data_dir = tmp.file("data/nested");
  config.socket_path = tmp.file("run/zoned.sock");
  REQUIRE(zoned::prepare_config_dirs(config).ok());

  std::string file = tmp.write("plainfile", "x");
  config.data_dir = file + "/sub";
  auto st = zoned::prepare_config_dirs(config);
  REQUIRE_FALSE(st.ok());
  CHECK_THAT(st.error().describe(), ContainsSubstring("plainfile"));
}

TEST_CASE("registry hosts: mirrors, plain HTTP and TLS verification") {
  auto c = parse_config(R"(
[registries."registry.k8s.io"]
mirrors = ["http://127.0.0.1:5000/", "https://mirror.example:8443"]

[registries."127.0.0.1:5000"]
plain_http = true
insecure_skip_verify = false
)",
                        "r.toml");
  REQUIRE(c.ok());
  REQUIRE(c->registries.size() == 2);
  const auto& k8s = c->registries.at("registry.k8s.io");
  CHECK(k8s.mirrors == std::vector<std::string>{"http://127.0.0.1:5000", "https://mirror.example:8443"});
  CHECK_FALSE(k8s.plain_http);
  CHECK(c->registries.at("127.0.0.1:5000").plain_http);
}

TEST_CASE("registry hosts: bad entries are refused by name") {
  auto bad_url = parse_config("[registries.\"docker.io\"]\nmirrors = [\"ftp://x\"]\n", "r.toml");
  REQUIRE_FALSE(bad_url.ok());
  CHECK_THAT(bad_url.error().message(), ContainsSubstring("registries.\"docker.io\".mirrors"));
  auto path_url = parse_config("[registries.\"docker.io\"]\nmirrors = [\"http://x/some/path\"]\n", "r.toml");
  CHECK_FALSE(path_url.ok());
  auto unknown = parse_config("[registries.\"docker.io\"]\nmirror = [\"http://x\"]\n", "r.toml");
  REQUIRE_FALSE(unknown.ok());
  CHECK_THAT(unknown.error().message(), ContainsSubstring("unknown key 'registries.\"docker.io\".mirror'"));
  auto wrong_type = parse_config("[registries.\"docker.io\"]\nplain_http = \"yes\"\n", "r.toml");
  REQUIRE_FALSE(wrong_type.ok());
  CHECK_THAT(wrong_type.error().message(), ContainsSubstring("must be a boolean, not string"));
  CHECK_FALSE(parse_config("registries = 3\n", "r.toml").ok());
}

TEST_CASE("admin socket and [zones]: documented defaults") {
  auto c = parse_config("", "test.toml");
  REQUIRE(c.ok());
  CHECK(c->admin_socket_path == "/run/zoned/admin.sock");
  CHECK(c->zones.kernel == "/usr/share/zoned/vmlinux");
  CHECK(c->zones.initramfs == "/usr/share/zoned/initramfs.cpio");
  CHECK(c->zones.type == "pv");
  CHECK(c->zones.memory_mib == 256);
  CHECK(c->zones.max_memory_mib == 1024);
  CHECK(c->zones.vcpus == 1);
  CHECK(c->zones.max_vcpus == 2);
  CHECK(c->zones.agent_timeout_seconds == 60);
  CHECK(c->zones.extra_cmdline.empty());
  CHECK(c->zones.agent_log_level == "info");
  CHECK(c->zones.block_script == "/usr/libexec/zoned/block-zoned");
  CHECK_FALSE(c->zones.block_script_set);
}

TEST_CASE("admin socket and [zones]: every key is read") {
  auto c = parse_config(R"(
admin_socket_path = "/tmp/z/admin.sock"
[zones]
kernel = "/opt/z/vmlinuz"
initramfs = "/opt/z/initrd"
type = "pvh"
memory_mib = 512
max_memory_mib = 2048
vcpus = 2
max_vcpus = 4
agent_timeout_seconds = 300
extra_cmdline = "console=hvc0 loglevel=7"
agent_log_level = "debug"
block_script = "/opt/z/block"
)",
                        "z.toml");
  REQUIRE(c.ok());
  CHECK(c->admin_socket_path == "/tmp/z/admin.sock");
  CHECK(c->zones.kernel == "/opt/z/vmlinuz");
  CHECK(c->zones.initramfs == "/opt/z/initrd");
  CHECK(c->zones.type == "pvh");
  CHECK(c->zones.memory_mib == 512);
  CHECK(c->zones.max_memory_mib == 2048);
  CHECK(c->zones.vcpus == 2);
  CHECK(c->zones.max_vcpus == 4);
  CHECK(c->zones.agent_timeout_seconds == 300);
  CHECK(c->zones.extra_cmdline == "console=hvc0 loglevel=7");
  CHECK(c->zones.agent_log_level == "debug");
  CHECK(c->zones.block_script == "/opt/z/block");
  CHECK(c->zones.block_script_set);
}

TEST_CASE("[zones]: an empty block_script selects Xen's own hotplug script") {
  auto c = parse_config("[zones]\nblock_script = \"\"\n", "z.toml");
  REQUIRE(c.ok());
  CHECK(c->zones.block_script.empty());
  CHECK(c->zones.block_script_set);
}

TEST_CASE("admin socket: same rules as the CRI socket, and a different path") {
  auto relative = parse_config("admin_socket_path = \"admin.sock\"\n", "c");
  REQUIRE_FALSE(relative.ok());
  CHECK_THAT(relative.error().message(), ContainsSubstring("'admin_socket_path' must be an absolute path"));
  auto long_path = parse_config("admin_socket_path = \"/" + std::string(120, 'a') + "\"\n", "c");
  REQUIRE_FALSE(long_path.ok());
  CHECK_THAT(long_path.error().message(), ContainsSubstring("107 bytes"));
  auto same = parse_config("socket_path = \"/run/x.sock\"\nadmin_socket_path = \"/run/x.sock\"\n", "c");
  REQUIRE_FALSE(same.ok());
  CHECK_THAT(same.error().message(), ContainsSubstring("must differ"));
}

TEST_CASE("[zones]: out-of-range and inconsistent values are refused by name") {
  struct Bad {
    std::string toml;
    std::string message;
  };
  std::vector<Bad> cases = {
      {"[zones]\nmemory_mib = 63\n", "'zones.memory_mib' must be between 64 and"},
      {"[zones]\nmemory_mib = 2048\n", "'zones.max_memory_mib' (1024) must be at least zones.memory_mib (2048)"},
      {"[zones]\nmax_memory_mib = 128\nmemory_mib = 256\n", "at least zones.memory_mib"},
      {"[zones]\nvcpus = 0\n", "'zones.vcpus' must be between 1 and 64"},
      {"[zones]\nvcpus = 65\n", "'zones.vcpus' must be between 1 and 64"},
      {"[zones]\nvcpus = 4\n", "'zones.max_vcpus' (2) must be at least zones.vcpus (4)"},
      {"[zones]\nmax_vcpus = 100\n", "'zones.max_vcpus' must be between 1 and 64"},
      {"[zones]\nagent_timeout_seconds = 0\n", "'zones.agent_timeout_seconds' must be between 1 and 3600"},
      {"[zones]\ntype = \"hvm\"\n", "'zones.type' must be 'pv' or 'pvh'"},
      {"[zones]\nkernel = \"vmlinux\"\n", "'zones.kernel' must be an absolute path"},
      {"[zones]\nblock_script = \"block-zoned\"\n", "'zones.block_script' must be an absolute path"},
      {"[zones]\ninitramfs = 3\n", "'zones.initramfs' must be a string, not integer"},
      {"[zones]\nmemory_mib = \"256M\"\n", "'zones.memory_mib' must be an integer, not string"},
      {"[zones]\nagent_log_level = \"chatty\"\n", "'zones.agent_log_level' must be one of debug"},
      {"[zones]\nextra_cmdline = \"a\\nb\"\n", "'zones.extra_cmdline' must be one line"},
      {"[zones]\nextra_cmdline = \"" + std::string(600, 'x') + "\"\n", "longer than 512 bytes"},
      {"[zones]\nmemroy_mib = 256\n", "unknown key 'zones.memroy_mib'"},
      {"zones = 3\n", "'zones' must be a table"},
  };
  for (const auto& bad : cases) {
    CAPTURE(bad.toml);
    auto c = parse_config(bad.toml, "z.toml");
    REQUIRE_FALSE(c.ok());
    CHECK(c.error().code() == ErrorCode::kInvalidArgument);
    CHECK_THAT(c.error().message(), ContainsSubstring(bad.message) && ContainsSubstring("z.toml"));
  }
  // The limits themselves are fine.
  CHECK(parse_config("[zones]\nmemory_mib = 64\nvcpus = 64\nmax_vcpus = 64\n", "z.toml").ok());
}

TEST_CASE("prepare_config_dirs creates the admin socket's directory") {
  zoned::testing::TempDir tmp;
  zoned::Config config;
  config.state_dir = tmp.file("state");
  config.data_dir = tmp.file("data");
  config.socket_path = tmp.file("run/zoned.sock");
  config.admin_socket_path = tmp.file("admin-run/deep/admin.sock");
  REQUIRE(zoned::prepare_config_dirs(config).ok());
  struct stat st {};
  CHECK(::stat(tmp.file("admin-run/deep").c_str(), &st) == 0);
  CHECK(S_ISDIR(st.st_mode));
}

TEST_CASE("[cri]: handler names and cgroup driver, with defaults") {
  auto defaults = parse_config("", "c.toml");
  REQUIRE(defaults.ok());
  CHECK(defaults->cri.runtime_handler == "edera");
  CHECK(defaults->cri.default_runtime_handler == "edera");
  CHECK(defaults->cri.cgroup_driver == "systemd");

  auto set = parse_config(
      "[cri]\nruntime_handler = \"xen-zone\"\ndefault_runtime_handler = \"runc\"\ncgroup_driver = \"cgroupfs\"\n",
      "c.toml");
  REQUIRE(set.ok());
  CHECK(set->cri.runtime_handler == "xen-zone");
  CHECK(set->cri.default_runtime_handler == "runc");
  CHECK(set->cri.cgroup_driver == "cgroupfs");
  CHECK(defaults->cri.upstream_endpoint.empty());
  for (const std::string endpoint : {"unix:///run/containerd/containerd.sock", "/run/containerd/containerd.sock"}) {
    auto upstream = parse_config("[cri]\nupstream_endpoint = \"" + endpoint + "\"\n", "c.toml");
    REQUIRE(upstream.ok());
    CHECK(upstream->cri.upstream_endpoint == endpoint);
  }

  struct Bad {
    std::string toml;
    std::string message;
  };
  std::vector<Bad> cases = {
      {"[cri]\nruntime_handler = \"\"\n", "'cri.runtime_handler' must be 1-63 of [a-z0-9-.]"},
      {"[cri]\nruntime_handler = \"Edera\"\n", "'cri.runtime_handler' must be 1-63"},
      {"[cri]\ndefault_runtime_handler = \"a/b\"\n", "'cri.default_runtime_handler' must be 1-63"},
      {"[cri]\ndefault_runtime_handler = 1\n", "'cri.default_runtime_handler' must be a string"},
      {"[cri]\ncgroup_driver = \"cgroupv2\"\n", "'cri.cgroup_driver' must be 'systemd' or 'cgroupfs'"},
      {"[cri]\nhandler = \"edera\"\n", "unknown key 'cri.handler'"},
      {"[cri]\nupstream_endpoint = \"tcp://10.0.0.1:1234\"\n", "'cri.upstream_endpoint' must be a unix socket"},
      {"[cri]\nupstream_endpoint = \"unix://\"\n", "'cri.upstream_endpoint' must be a unix socket"},
      {"cri = \"edera\"\n", "'cri' must be a table"},
  };
  for (const auto& bad : cases) {
    CAPTURE(bad.toml);
    auto c = parse_config(bad.toml, "c.toml");
    REQUIRE_FALSE(c.ok());
    CHECK(c.error().code() == ErrorCode::kInvalidArgument);
    CHECK_THAT(c.error().message(), ContainsSubstring(bad.message) && ContainsSubstring("c.toml"));
  }
}

TEST_CASE("[streaming]: address and port, loopback and ephemeral by default") {
  auto defaults = parse_config("", "c.toml");
  REQUIRE(defaults.ok());
  CHECK(defaults->streaming.address == "127.0.0.1");
  CHECK(defaults->streaming.port == 0);

  auto set = parse_config("[streaming]\naddress = \"10.0.0.5\"\nport = 10010\n", "c.toml");
  REQUIRE(set.ok());
  CHECK(set->streaming.address == "10.0.0.5");
  CHECK(set->streaming.port == 10010);
  CHECK(set->streaming.tls_cert_file.empty());
  auto tls = parse_config("[streaming]\ntls_cert_file = \"/etc/zoned/s.crt\"\ntls_key_file = \"/etc/zoned/s.key\"\n",
                          "c.toml");
  REQUIRE(tls.ok());
  CHECK(tls->streaming.tls_cert_file == "/etc/zoned/s.crt");
  CHECK(tls->streaming.tls_key_file == "/etc/zoned/s.key");

  struct Bad {
    std::string toml;
    std::string message;
  };
  std::vector<Bad> cases = {
      {"[streaming]\naddress = \"\"\n", "'streaming.address' must be an IP address or host name"},
      {"[streaming]\naddress = \"a b\"\n", "'streaming.address' must be an IP address or host name"},
      {"[streaming]\nport = 65536\n", "streaming.port"},
      {"[streaming]\nport = -1\n", "streaming.port"},
      {"[streaming]\nport = \"80\"\n", "streaming.port"},
      {"[streaming]\ntls = true\n", "unknown key 'streaming.tls'"},
      {"[streaming]\ntls_cert_file = \"s.crt\"\ntls_key_file = \"/k\"\n",
       "'streaming.tls_cert_file' must be an absolute path"},
      {"[streaming]\ntls_cert_file = \"/s.crt\"\n", "go together"},
      {"streaming = 1\n", "'streaming' must be a table"},
  };
  for (const auto& bad : cases) {
    CAPTURE(bad.toml);
    auto c = parse_config(bad.toml, "c.toml");
    REQUIRE_FALSE(c.ok());
    CHECK(c.error().code() == ErrorCode::kInvalidArgument);
    CHECK_THAT(c.error().message(), ContainsSubstring(bad.message) && ContainsSubstring("c.toml"));
  }
}

TEST_CASE("[cni]: dirs, plugin dirs, timeout, with containerd's defaults; zones.vif_script") {
  auto defaults = parse_config("", "c.toml");
  REQUIRE(defaults.ok());
  CHECK(defaults->cni.conf_dir == "/etc/cni/net.d");
  CHECK(defaults->cni.plugin_dirs == std::vector<std::string>{"/usr/lib/cni", "/opt/cni/bin"});
  CHECK(defaults->cni.cache_dir.empty());
  CHECK(defaults->cni.netns_dir == "/run/netns");
  CHECK(defaults->cni.plugin_timeout_seconds == 60);
  CHECK(defaults->zones.vif_script == "/usr/libexec/zoned/vif-zoned");
  CHECK_FALSE(defaults->zones.vif_script_set);

  auto set = parse_config(
      "[cni]\nconf_dir = \"/c\"\nplugin_dirs = [\"/p1\", \"/p2\"]\ncache_dir = \"/k\"\nnetns_dir = \"/n\"\n"
      "plugin_timeout_seconds = 5\n[zones]\nvif_script = \"\"\n",
      "c.toml");
  REQUIRE(set.ok());
  CHECK(set->cni.conf_dir == "/c");
  CHECK(set->cni.plugin_dirs == std::vector<std::string>{"/p1", "/p2"});
  CHECK(set->cni.cache_dir == "/k");
  CHECK(set->cni.netns_dir == "/n");
  CHECK(set->cni.plugin_timeout_seconds == 5);
  CHECK(set->zones.vif_script.empty());
  CHECK(set->zones.vif_script_set);

  for (const char* bad :
       {"[cni]\nconf_dir = \"rel\"\n", "[cni]\nplugin_dirs = []\n", "[cni]\nplugin_dirs = [\"rel\"]\n",
        "[cni]\nplugin_timeout_seconds = 0\n", "[cni]\nplugin_timeout_seconds = 601\n", "[cni]\nbin_dir = \"/x\"\n",
        "cni = 1\n", "[zones]\nvif_script = \"vif-zoned\"\n"}) {
    CAPTURE(bad);
    auto c = parse_config(bad, "c.toml");
    REQUIRE_FALSE(c.ok());
    CHECK(c.error().code() == ErrorCode::kInvalidArgument);
  }
}
