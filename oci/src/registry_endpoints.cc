#include "registry_endpoints.h"

#include "url.h"
#include "zoned/common/log.h"

namespace zoned::oci {
namespace {

const RegistryHostSettings* settings_for(const RegistryClientOptions& options, std::string_view host) {
  auto it = options.hosts.find(std::string(host));
  return it == options.hosts.end() ? nullptr : &it->second;
}

std::string strip_trailing(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.ends_with("/v2")) url.resize(url.size() - 3);
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// A mirror as configured: "https://mirror.example", "http://10.0.2.2:5000", or a bare host
// (HTTPS unless that host is configured plain_http).
std::optional<Endpoint> mirror_endpoint(const RegistryClientOptions& options, std::string_view registry,
                                        const std::string& configured) {
  std::string text = configured;
  if (text.find("://") == std::string::npos) {
    const RegistryHostSettings* s = settings_for(options, text);
    text = (s != nullptr && s->plain_http ? "http://" : "https://") + text;
  }
  text = strip_trailing(text);
  auto parts = url::parse(text);
  if (!parts.ok()) {
    log::warn("ignoring malformed registry mirror",
              {{"registry", registry}, {"mirror", configured.substr(0, 200)}, {"error", parts.error().message()}});
    return std::nullopt;
  }
  Endpoint e;
  e.base_url = text;
  e.label = "mirror " + text + " of " + std::string(registry);
  e.verify_tls = verify_tls_for(options, text);
  e.is_mirror = true;
  e.send_credentials = parts->authority == registry_api_host(registry) || parts->authority == registry;
  return e;
}

}  // namespace

std::string registry_api_host(std::string_view registry) {
  return registry == "docker.io" ? "registry-1.docker.io" : std::string(registry);
}

std::vector<Endpoint> endpoints_for(const RegistryClientOptions& options, std::string_view registry) {
  std::vector<Endpoint> out;
  const RegistryHostSettings* settings = settings_for(options, registry);
  if (settings != nullptr) {
    for (const std::string& m : settings->mirrors) {
      if (auto e = mirror_endpoint(options, registry, m)) out.push_back(std::move(*e));
    }
  }
  bool plain = settings != nullptr && settings->plain_http;
  Endpoint self;
  self.base_url = (plain ? "http://" : "https://") + registry_api_host(registry);
  self.label = "registry " + std::string(registry);
  if (registry_api_host(registry) != registry) self.label += " (" + self.base_url + ")";
  self.verify_tls = !(settings != nullptr && settings->insecure_skip_verify);
  out.push_back(std::move(self));
  return out;
}

bool verify_tls_for(const RegistryClientOptions& options, std::string_view target) {
  auto parts = url::parse(target);
  if (!parts.ok()) return true;
  const RegistryHostSettings* s = settings_for(options, parts->authority);
  return !(s != nullptr && s->insecure_skip_verify);
}

}  // namespace zoned::oci
