#include "zoned/common/config.h"

#include <sys/stat.h>
#include <toml++/toml.h>

#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "zoned/common/fs.h"

namespace zoned {
namespace {

std::string where(std::string_view origin, const toml::node& node) {
  std::ostringstream out;
  out << origin;
  if (node.source().begin.line > 0) out << ":" << node.source().begin.line;
  return out.str();
}

std::string_view type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table: return "table";
    case toml::node_type::array: return "array";
    case toml::node_type::string: return "string";
    case toml::node_type::integer: return "integer";
    case toml::node_type::floating_point: return "float";
    case toml::node_type::boolean: return "boolean";
    case toml::node_type::date: return "date";
    case toml::node_type::time: return "time";
    case toml::node_type::date_time: return "date-time";
    default: return "nothing";
  }
}

Error bad_value(std::string_view origin, const toml::node& node, std::string_view key, std::string_view what) {
  return Error(ErrorCode::kInvalidArgument,
               where(origin, node) + ": key '" + std::string(key) + "' " + std::string(what));
}

Result<std::string> as_string(std::string_view origin, const toml::node& node, std::string_view key) {
  if (const auto* s = node.as_string()) return std::string(s->get());
  return bad_value(origin, node, key, "must be a string, not " + std::string(type_name(node)));
}

Result<std::string> as_absolute_path(std::string_view origin, const toml::node& node, std::string_view key) {
  auto s = as_string(origin, node, key);
  if (!s.ok()) return s;
  if (s->empty() || (*s)[0] != '/') return bad_value(origin, node, key, "must be an absolute path, got '" + *s + "'");
  if (s->find('\0') != std::string::npos) return bad_value(origin, node, key, "contains a NUL byte");
  return s;
}

Result<std::string> as_socket_path(std::string_view origin, const toml::node& node, std::string_view key) {
  auto v = as_absolute_path(origin, node, key);
  if (!v.ok()) return v;
  // sun_path holds 108 bytes including the terminating NUL.
  if (v->size() > 107) return bad_value(origin, node, key, "is longer than 107 bytes (unix socket limit)");
  return v;
}

// Accepts "http://host[:port]" or "https://host[:port]", optionally with a trailing slash.
bool valid_mirror_url(std::string_view url) {
  std::string_view rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    rest = url.substr(8);
  } else {
    return false;
  }
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.empty() || rest.size() > 255) return false;
  for (char c : rest) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
              c == ':' || c == '[' || c == ']';
    if (!ok) return false;
  }
  return true;
}

Result<RegistryHostConfig> parse_registry_host(std::string_view origin, std::string_view host,
                                               const toml::table& table) {
  RegistryHostConfig out;
  std::string prefix = "registries.\"" + std::string(host) + "\".";
  for (const auto& [key, node] : table) {
    std::string full = prefix + std::string(key.str());
    if (key.str() == "mirrors") {
      const auto* array = node.as_array();
      if (array == nullptr)
        return bad_value(origin, node, full, "must be an array of URLs, not " + std::string(type_name(node)));
      for (const auto& item : *array) {
        const auto* url = item.as_string();
        if (url == nullptr || !valid_mirror_url(url->get())) {
          return bad_value(origin, item, full, "entries must be \"http://host[:port]\" or \"https://host[:port]\"");
        }
        std::string u(url->get());
        if (u.back() == '/') u.pop_back();
        out.mirrors.push_back(u);
      }
    } else if (key.str() == "plain_http" || key.str() == "insecure_skip_verify") {
      const auto* flag = node.as_boolean();
      if (flag == nullptr)
        return bad_value(origin, node, full, "must be a boolean, not " + std::string(type_name(node)));
      (key.str() == "plain_http" ? out.plain_http : out.insecure_skip_verify) = flag->get();
    } else {
      return Error(ErrorCode::kInvalidArgument, where(origin, node) + ": unknown key '" + full +
                                                    "' (known keys: mirrors, plain_http, insecure_skip_verify)");
    }
  }
  return out;
}

Status parse_registries(Config& config, std::string_view origin, const toml::node& node) {
  const auto* table = node.as_table();
  if (table == nullptr) return bad_value(origin, node, "registries", "must be a table of registry hosts");
  for (const auto& [host, entry] : *table) {
    const auto* host_table = entry.as_table();
    if (host_table == nullptr) {
      return bad_value(origin, entry, "registries." + std::string(host.str()), "must be a table");
    }
    if (host.str().empty() || host.str().find_first_of("/ @") != std::string_view::npos) {
      return bad_value(origin, entry, "registries", "has an invalid host name '" + std::string(host.str()) + "'");
    }
    auto parsed = parse_registry_host(origin, host.str(), *host_table);
    if (!parsed.ok()) return std::move(parsed).take_error();
    config.registries[std::string(host.str())] = std::move(*parsed);
  }
  return ok_status();
}

Result<int64_t> as_integer_in(std::string_view origin, const toml::node& node, std::string_view key, int64_t min,
                              int64_t max) {
  const auto* i = node.as_integer();
  if (i == nullptr) return bad_value(origin, node, key, "must be an integer, not " + std::string(type_name(node)));
  if (i->get() < min || i->get() > max) {
    return bad_value(
        origin, node, key,
        "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " + std::to_string(i->get()));
  }
  return i->get();
}

// [zones]: one setter per key, then the checks that relate keys to each other.
using ZonesSetter = std::function<Status(ZonesConfig&, std::string_view origin, const toml::node&)>;

constexpr int64_t kMinZoneMemoryMib = 64;
constexpr int64_t kMaxZoneMemoryMib = 1024 * 1024;  // 1 TiB
constexpr int64_t kMaxZoneVcpus = 64;
// Xen keeps 1024 bytes of a PV guest's command line; ours needs some of them.
constexpr size_t kMaxExtraCmdlineBytes = 512;

ZonesSetter zones_path(std::string ZonesConfig::*field, std::string key) {
  return [field, key](ZonesConfig& z, std::string_view o, const toml::node& n) -> Status {
    auto v = as_absolute_path(o, n, key);
    if (!v.ok()) return std::move(v).take_error();
    z.*field = *v;
    return ok_status();
  };
}

template <typename T>
ZonesSetter zones_integer(T ZonesConfig::*field, std::string key, int64_t min, int64_t max) {
  return [field, key, min, max](ZonesConfig& z, std::string_view o, const toml::node& n) -> Status {
    auto v = as_integer_in(o, n, key, min, max);
    if (!v.ok()) return std::move(v).take_error();
    z.*field = static_cast<T>(*v);
    return ok_status();
  };
}

const std::map<std::string, ZonesSetter, std::less<>>& zones_setters() {
  static const std::map<std::string, ZonesSetter, std::less<>> table = {
      {"kernel", zones_path(&ZonesConfig::kernel, "zones.kernel")},
      {"initramfs", zones_path(&ZonesConfig::initramfs, "zones.initramfs")},
      {"type",
       [](ZonesConfig& z, std::string_view o, const toml::node& n) -> Status {
         auto v = as_string(o, n, "zones.type");
         if (!v.ok()) return std::move(v).take_error();
         if (*v != "pv" && *v != "pvh") return bad_value(o, n, "zones.type", "must be 'pv' or 'pvh'; got '" + *v + "'");
         z.type = *v;
         return ok_status();
       }},
      {"memory_mib", zones_integer(&ZonesConfig::memory_mib, "zones.memory_mib", kMinZoneMemoryMib, kMaxZoneMemoryMib)},
      {"max_memory_mib",
       zones_integer(&ZonesConfig::max_memory_mib, "zones.max_memory_mib", kMinZoneMemoryMib, kMaxZoneMemoryMib)},
      {"vcpus", zones_integer(&ZonesConfig::vcpus, "zones.vcpus", 1, kMaxZoneVcpus)},
      {"max_vcpus", zones_integer(&ZonesConfig::max_vcpus, "zones.max_vcpus", 1, kMaxZoneVcpus)},
      {"agent_timeout_seconds",
       zones_integer(&ZonesConfig::agent_timeout_seconds, "zones.agent_timeout_seconds", 1, 3600)},
      {"extra_cmdline",
       [](ZonesConfig& z, std::string_view o, const toml::node& n) -> Status {
         auto v = as_string(o, n, "zones.extra_cmdline");
         if (!v.ok()) return std::move(v).take_error();
         if (v->size() > kMaxExtraCmdlineBytes) {
           return bad_value(o, n, "zones.extra_cmdline",
                            "is longer than " + std::to_string(kMaxExtraCmdlineBytes) + " bytes");
         }
         for (char c : *v) {
           if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
             return bad_value(o, n, "zones.extra_cmdline", "must be one line of printable characters");
           }
         }
         z.extra_cmdline = *v;
         return ok_status();
       }},
      {"block_script",
       [](ZonesConfig& z, std::string_view o, const toml::node& n) -> Status {
         auto v = as_string(o, n, "zones.block_script");
         if (!v.ok()) return std::move(v).take_error();
         if (!v->empty()) {
           auto path = as_absolute_path(o, n, "zones.block_script");
           if (!path.ok()) return std::move(path).take_error();
         }
         z.block_script = *v;
         z.block_script_set = true;
         return ok_status();
       }},
      {"vif_script",
       [](ZonesConfig& z, std::string_view o, const toml::node& n) -> Status {
         auto v = as_string(o, n, "zones.vif_script");
         if (!v.ok()) return std::move(v).take_error();
         if (!v->empty()) {
           auto path = as_absolute_path(o, n, "zones.vif_script");
           if (!path.ok()) return std::move(path).take_error();
         }
         z.vif_script = *v;
         z.vif_script_set = true;
         return ok_status();
       }},
      {"agent_log_level",
       [](ZonesConfig& z, std::string_view o, const toml::node& n) -> Status {
         auto v = as_string(o, n, "zones.agent_log_level");
         if (!v.ok()) return std::move(v).take_error();
         if (!log::parse_level(*v)) {
           return bad_value(o, n, "zones.agent_log_level", "must be one of debug, info, warn, error; got '" + *v + "'");
         }
         z.agent_log_level = *v;
         return ok_status();
       }},
  };
  return table;
}

Status check_zones(const ZonesConfig& z, std::string_view origin, const toml::node& node) {
  if (z.max_memory_mib < z.memory_mib) {
    return bad_value(origin, node, "zones.max_memory_mib",
                     "(" + std::to_string(z.max_memory_mib) + ") must be at least zones.memory_mib (" +
                         std::to_string(z.memory_mib) + ")");
  }
  if (z.max_vcpus < z.vcpus) {
    return bad_value(
        origin, node, "zones.max_vcpus",
        "(" + std::to_string(z.max_vcpus) + ") must be at least zones.vcpus (" + std::to_string(z.vcpus) + ")");
  }
  return ok_status();
}

Status parse_zones(Config& config, std::string_view origin, const toml::node& node) {
  const auto* table = node.as_table();
  if (table == nullptr) return bad_value(origin, node, "zones", "must be a table, not " + std::string(type_name(node)));
  for (const auto& [key, value] : *table) {
    auto it = zones_setters().find(key.str());
    if (it == zones_setters().end()) {
      std::string known;
      for (const auto& [name, _] : zones_setters()) known += (known.empty() ? "" : ", ") + name;
      return Error(ErrorCode::kInvalidArgument, where(origin, value) + ": unknown key 'zones." +
                                                    std::string(key.str()) + "' (known keys: " + known + ")");
    }
    ZONED_TRY(it->second(config.zones, origin, value));
  }
  return check_zones(config.zones, origin, node);
}

bool valid_handler_name(const std::string& name) {
  if (name.empty() || name.size() > 63) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) return false;
  }
  return true;
}

// [cni]
Status parse_cni(Config& config, std::string_view origin, const toml::node& node) {
  const auto* table = node.as_table();
  if (table == nullptr) return bad_value(origin, node, "cni", "must be a table, not " + std::string(type_name(node)));
  for (const auto& [key, value] : *table) {
    const std::string full = "cni." + std::string(key.str());
    if (key.str() == "conf_dir" || key.str() == "cache_dir" || key.str() == "netns_dir") {
      auto v = as_absolute_path(origin, value, full);
      if (!v.ok()) return std::move(v).take_error();
      (key.str() == "conf_dir"    ? config.cni.conf_dir
       : key.str() == "cache_dir" ? config.cni.cache_dir
                                  : config.cni.netns_dir) = *v;
    } else if (key.str() == "plugin_dirs") {
      const auto* array = value.as_array();
      if (array == nullptr || array->empty() || array->size() > 16) {
        return bad_value(origin, value, full, "must be an array of 1 to 16 absolute paths");
      }
      std::vector<std::string> dirs;
      for (const auto& item : *array) {
        auto v = as_absolute_path(origin, item, full);
        if (!v.ok()) return std::move(v).take_error();
        dirs.push_back(*v);
      }
      config.cni.plugin_dirs = std::move(dirs);
    } else if (key.str() == "plugin_timeout_seconds") {
      auto v = as_integer_in(origin, value, full, 1, 600);
      if (!v.ok()) return std::move(v).take_error();
      config.cni.plugin_timeout_seconds = static_cast<int>(*v);
    } else {
      return Error(ErrorCode::kInvalidArgument,
                   where(origin, value) + ": unknown key '" + full +
                       "' (known keys: cache_dir, conf_dir, netns_dir, plugin_dirs, plugin_timeout_seconds)");
    }
  }
  return ok_status();
}

// [streaming]
Status parse_streaming(Config& config, std::string_view origin, const toml::node& node) {
  const auto* table = node.as_table();
  if (table == nullptr) {
    return bad_value(origin, node, "streaming", "must be a table, not " + std::string(type_name(node)));
  }
  for (const auto& [key, value] : *table) {
    std::string full = "streaming." + std::string(key.str());
    if (key.str() == "address") {
      auto v = as_string(origin, value, full);
      if (!v.ok()) return std::move(v).take_error();
      const bool ok = !v->empty() && v->size() <= 253 &&
                      v->find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:") ==
                          std::string::npos;
      if (!ok) return bad_value(origin, value, full, "must be an IP address or host name; got '" + *v + "'");
      config.streaming.address = *v;
    } else if (key.str() == "port") {
      auto v = as_integer_in(origin, value, full, 0, 65535);
      if (!v.ok()) return std::move(v).take_error();
      config.streaming.port = static_cast<uint16_t>(*v);
    } else if (key.str() == "tls_cert_file" || key.str() == "tls_key_file") {
      auto v = as_absolute_path(origin, value, full);
      if (!v.ok()) return std::move(v).take_error();
      (key.str() == "tls_cert_file" ? config.streaming.tls_cert_file : config.streaming.tls_key_file) = *v;
    } else {
      return Error(ErrorCode::kInvalidArgument, where(origin, value) + ": unknown key '" + full +
                                                    "' (known keys: address, port, tls_cert_file, tls_key_file)");
    }
  }
  return ok_status();
}

// [cri]
Status parse_cri(Config& config, std::string_view origin, const toml::node& node) {
  const auto* table = node.as_table();
  if (table == nullptr) return bad_value(origin, node, "cri", "must be a table, not " + std::string(type_name(node)));
  for (const auto& [key, value] : *table) {
    std::string full = "cri." + std::string(key.str());
    if (key.str() == "runtime_handler" || key.str() == "default_runtime_handler") {
      auto v = as_string(origin, value, full);
      if (!v.ok()) return std::move(v).take_error();
      if (!valid_handler_name(*v)) {
        return bad_value(origin, value, full, "must be 1-63 of [a-z0-9-.] (a RuntimeClass handler); got '" + *v + "'");
      }
      (key.str() == "runtime_handler" ? config.cri.runtime_handler : config.cri.default_runtime_handler) = *v;
    } else if (key.str() == "cgroup_driver") {
      auto v = as_string(origin, value, full);
      if (!v.ok()) return std::move(v).take_error();
      if (*v != "systemd" && *v != "cgroupfs") {
        return bad_value(origin, value, full, "must be 'systemd' or 'cgroupfs'; got '" + *v + "'");
      }
      config.cri.cgroup_driver = *v;
    } else if (key.str() == "upstream_endpoint") {
      auto v = as_string(origin, value, full);
      if (!v.ok()) return std::move(v).take_error();
      const std::string path = v->rfind("unix://", 0) == 0 ? v->substr(7)
                               : v->rfind("unix:", 0) == 0 ? v->substr(5)
                                                           : *v;
      if (!v->empty() && (path.empty() || path[0] != '/')) {
        return bad_value(origin, value, full,
                         "must be a unix socket: unix:///path or an absolute path; got '" + *v + "'");
      }
      config.cri.upstream_endpoint = *v;
    } else {
      return Error(ErrorCode::kInvalidArgument,
                   where(origin, value) + ": unknown key '" + full +
                       "' (known keys: cgroup_driver, default_runtime_handler, runtime_handler, upstream_endpoint)");
    }
  }
  return ok_status();
}

using Setter = std::function<Status(Config&, std::string_view origin, const toml::node&)>;

Status check_config(const Config& config, std::string_view origin) {
  if (config.admin_socket_path == config.socket_path) {
    return Error(ErrorCode::kInvalidArgument, std::string(origin) +
                                                  ": admin_socket_path and socket_path must differ (both are '" +
                                                  config.socket_path + "')");
  }
  if (config.streaming.tls_cert_file.empty() != config.streaming.tls_key_file.empty()) {
    return Error(
        ErrorCode::kInvalidArgument,
        std::string(origin) + ": streaming.tls_cert_file and streaming.tls_key_file go together (TLS needs both)");
  }
  return ok_status();
}

const std::map<std::string, Setter, std::less<>>& setters() {
  static const std::map<std::string, Setter, std::less<>> table = {
      {"socket_path",
       [](Config& c, std::string_view o, const toml::node& n) -> Status {
         auto v = as_socket_path(o, n, "socket_path");
         if (!v.ok()) return std::move(v).take_error();
         c.socket_path = *v;
         return ok_status();
       }},
      {"admin_socket_path",
       [](Config& c, std::string_view o, const toml::node& n) -> Status {
         auto v = as_socket_path(o, n, "admin_socket_path");
         if (!v.ok()) return std::move(v).take_error();
         c.admin_socket_path = *v;
         return ok_status();
       }},
      {"socket_group",
       [](Config& c, std::string_view o, const toml::node& n) -> Status {
         auto v = as_string(o, n, "socket_group");
         if (!v.ok()) return std::move(v).take_error();
         c.socket_group = *v;
         return ok_status();
       }},
      {"state_dir",
       [](Config& c, std::string_view o, const toml::node& n) -> Status {
         auto v = as_absolute_path(o, n, "state_dir");
         if (!v.ok()) return std::move(v).take_error();
         c.state_dir = *v;
         return ok_status();
       }},
      {"data_dir",
       [](Config& c, std::string_view o, const toml::node& n) -> Status {
         auto v = as_absolute_path(o, n, "data_dir");
         if (!v.ok()) return std::move(v).take_error();
         c.data_dir = *v;
         return ok_status();
       }},
      {"log_level",
       [](Config& c, std::string_view o, const toml::node& n) -> Status {
         auto v = as_string(o, n, "log_level");
         if (!v.ok()) return std::move(v).take_error();
         auto level = log::parse_level(*v);
         if (!level) return bad_value(o, n, "log_level", "must be one of debug, info, warn, error; got '" + *v + "'");
         c.log_level = *level;
         return ok_status();
       }},
      {"log_format",
       [](Config& c, std::string_view o, const toml::node& n) -> Status {
         auto v = as_string(o, n, "log_format");
         if (!v.ok()) return std::move(v).take_error();
         auto format = log::parse_format(*v);
         if (!format) return bad_value(o, n, "log_format", "must be 'text' or 'json'; got '" + *v + "'");
         c.log_format = *format;
         return ok_status();
       }},
      {"shutdown_timeout_seconds",
       [](Config& c, std::string_view o, const toml::node& n) -> Status {
         const auto* i = n.as_integer();
         if (i == nullptr) {
           return bad_value(o, n, "shutdown_timeout_seconds", "must be an integer, not " + std::string(type_name(n)));
         }
         if (i->get() < 0 || i->get() > 3600) {
           return bad_value(o, n, "shutdown_timeout_seconds", "must be between 0 and 3600");
         }
         c.shutdown_timeout_seconds = static_cast<int>(i->get());
         return ok_status();
       }},
      {"registries", parse_registries},
      {"zones", parse_zones},
      {"cri", parse_cri},
      {"streaming", parse_streaming},
      {"cni", parse_cni},
  };
  return table;
}

std::string known_keys() {
  std::string out;
  for (const auto& [key, _] : setters()) {
    if (!out.empty()) out += ", ";
    out += key;
  }
  return out;
}

}  // namespace

Result<Config> parse_config(std::string_view toml_text, std::string_view origin) {
  toml::table root;
  try {
    root = toml::parse(toml_text, origin);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << origin << ":" << e.source().begin.line << ":" << e.source().begin.column << ": " << e.description();
    return Error(ErrorCode::kInvalidArgument, msg.str());
  }
  Config config;
  for (const auto& [key, node] : root) {
    auto it = setters().find(key.str());
    if (it == setters().end()) {
      return Error(ErrorCode::kInvalidArgument, where(origin, node) + ": unknown key '" + std::string(key.str()) +
                                                    "' (known keys: " + known_keys() + ")");
    }
    ZONED_TRY(it->second(config, origin, node));
  }
  ZONED_TRY(check_config(config, origin));
  return config;
}

Result<Config> load_config_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return sys_error("reading config file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return sys_error("reading config file " + path);
  return parse_config(text.str(), path);
}

Status prepare_config_dirs(const Config& config) {
  for (const std::string* dir : {&config.state_dir, &config.data_dir}) {
    auto st = fs::prepare_dir(*dir, 0711);
    if (!st.ok()) return std::move(st).take_error().wrap("preparing " + *dir);
  }
  for (const std::string* socket : {&config.socket_path, &config.admin_socket_path}) {
    std::string socket_dir = socket->substr(0, socket->rfind('/'));
    if (socket_dir.empty()) socket_dir = "/";
    auto st = fs::prepare_dir(socket_dir, 0711);
    if (!st.ok()) return std::move(st).take_error().wrap("preparing the directory of socket " + *socket);
  }
  return ok_status();
}

}  // namespace zoned
