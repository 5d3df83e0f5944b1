// The daemon's configuration file (TOML). Every key is documented in deploy/config.example.toml.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "zoned/common/log.h"
#include "zoned/common/result.h"

namespace zoned {

// [registries."<host>"]: how to reach one registry (host as written in image references,
// e.g. "docker.io", "registry.k8s.io", "127.0.0.1:5000").
struct RegistryHostConfig {
  std::vector<std::string> mirrors;   // "http(s)://host[:port]" endpoints tried first, in order
  bool plain_http = false;            // the registry itself speaks plain HTTP
  bool insecure_skip_verify = false;  // HTTPS without certificate verification
};

// [zones]: how zones (the Xen domains that run pods) are built. Checked when the config is
// parsed: memory_mib >= 64, max_memory_mib >= memory_mib, 1 <= vcpus <= max_vcpus <= 64.
struct ZonesConfig {
  std::string kernel = "/usr/share/zoned/vmlinux";            // the zone kernel (absolute path)
  std::string initramfs = "/usr/share/zoned/initramfs.cpio";  // the zone initramfs with the agent
  std::string type = "pv";                                    // "pv" or "pvh": default domain type
  uint64_t memory_mib = 256;                                  // default memory at boot
  uint64_t max_memory_mib = 1024;                             // the most a zone may ever be given
  uint32_t vcpus = 1;                                         // default vCPUs at boot
  uint32_t max_vcpus = 2;                                     // the most a zone may ask for
  int agent_timeout_seconds = 60;                             // domain created -> agent said hello
  std::string extra_cmdline;                                  // appended to the zone kernel's command line
  std::string agent_log_level = "info";                       // debug, info, warn or error
  // libxl's hotplug script for zone disks. zoned's own (installed with it) only publishes the
  // loop device it attached; "" selects Xen's /etc/xen/scripts/block (slow: locks and checks).
  std::string block_script = "/usr/libexec/zoned/block-zoned";
  bool block_script_set = false;  // true when the config file named block_script
  // libxl's hotplug script for the zone's vif. zoned's own only reports it connected (zoned
  // wires the vif into the pod's netns itself); "" selects Xen's vif-bridge.
  std::string vif_script = "/usr/libexec/zoned/vif-zoned";
  bool vif_script_set = false;  // true when the config file named vif_script
};

// [cni]: pod networking through the cluster's CNI plugins (as containerd's [plugins.cri.cni]).
struct CniConfig {
  std::string conf_dir = "/etc/cni/net.d";                              // .conf/.conflist/.json, first valid wins
  std::vector<std::string> plugin_dirs = {"/usr/lib/cni", "/opt/cni/bin"};  // searched in order (absolute)
  std::string cache_dir;            // CNI results (for DEL after a restart); "": <state_dir>/cni/results
  std::string netns_dir = "/run/netns";  // the pods' network namespaces (zoned-<id>)
  int plugin_timeout_seconds = 60;       // one plugin run (1..600)
};

// [cri]: the CRI runtime service. Handler names are RuntimeClass handlers: 1-63 of [a-z0-9-.].
struct CriConfig {
  std::string runtime_handler = "edera";          // the handler whose pods run in zones
  std::string default_runtime_handler = "edera";  // the handler of pods that name none
  std::string cgroup_driver = "systemd";          // answered in RuntimeConfig: "systemd" or "cgroupfs"
  // Another CRI runtime (e.g. containerd's socket) that runs the pods of every other handler,
  // unchanged; list results are merged (cri/include/zoned/cri/upstream.h). "": such pods are
  // refused. unix:///path or an absolute path.
  std::string upstream_endpoint;
};

// [streaming]: the server behind the URLs of the CRI Exec, Attach and PortForward RPCs (kubelet
// proxies kubectl exec/attach/port-forward to it). Like containerd: loopback, any free port.
struct StreamingConfig {
  std::string address = "127.0.0.1";  // IP address or host name to listen on (and put in URLs)
  uint16_t port = 0;                   // 0: an ephemeral port
  // TLS (https URLs): certificate chain and key, PEM, both or neither. Kubelet's proxy must
  // trust the certificate's CA.
  std::string tls_cert_file, tls_key_file;
};

struct Config {
  // Unix socket kubelet and crictl connect to (created with mode 0660).
  std::string socket_path = "/run/zoned/zoned.sock";
  // Unix socket of the admin API (zonectl), created with mode 0600: root only.
  std::string admin_socket_path = "/run/zoned/admin.sock";
  // Group that owns the socket; empty keeps the daemon's group.
  std::string socket_group;
  // Small persistent state: zone records, the image database.
  std::string state_dir = "/var/lib/zoned";
  // Bulk data: image blobs and root images.
  std::string data_dir = "/var/lib/zoned/data";
  log::Level log_level = log::Level::kInfo;
  log::Format log_format = log::Format::kText;
  // How long shutdown waits for in-flight RPCs before cancelling them.
  int shutdown_timeout_seconds = 10;
  std::map<std::string, RegistryHostConfig> registries;
  ZonesConfig zones;
  CriConfig cri;
  StreamingConfig streaming;
  CniConfig cni;
};

inline constexpr const char* kDefaultConfigPath = "/etc/zoned/config.toml";

// Parses TOML text. Unknown keys, wrong types and invalid values are errors naming the key and
// the line. `origin` names the source in messages (usually the file path).
Result<Config> parse_config(std::string_view toml_text, std::string_view origin);

// Reads and parses a file.
Result<Config> load_config_file(const std::string& path);

// Creates the configured directories and checks that they are writable.
Status prepare_config_dirs(const Config& config);

}  // namespace zoned
