#include "registry_auth.h"

#include <algorithm>
#include <chrono>

#include "token_service.h"
#include "url.h"
#include "zoned/oci/digest.h"
#include "zoned/oci/www_authenticate.h"

namespace zoned::oci {
namespace {

constexpr std::chrono::hours kBasicLifetime{1};

std::string pull_scope(std::string_view repository) {
  return "repository:" + std::string(repository) + ":pull";
}

bool has_any(const Credentials& c) {
  return !c.username.empty() || !c.password.empty() || !c.auth.empty() || !c.identity_token.empty();
}

const AuthChallenge* pick(const std::vector<AuthChallenge>& challenges, std::string_view scheme) {
  auto it =
      std::find_if(challenges.begin(), challenges.end(), [&](const AuthChallenge& c) { return c.scheme == scheme; });
  return it == challenges.end() ? nullptr : &*it;
}

std::string schemes_of(const std::vector<AuthChallenge>& challenges) {
  std::string out;
  for (const AuthChallenge& c : challenges) out += (out.empty() ? "" : ", ") + c.scheme.substr(0, 40);
  return out.empty() ? "none" : out;
}

// Token lifetime minus a margin, so a token is not used in its last seconds.
TokenCache::Clock::time_point token_expiry(int64_t expires_in_seconds) {
  int64_t margin = std::min<int64_t>(10, expires_in_seconds / 2);
  return TokenCache::Clock::now() + std::chrono::seconds(expires_in_seconds - margin);
}

}  // namespace

Authenticator::Authenticator(http::Transport& transport, const RegistryClientOptions& options)
    : transport_(transport), options_(options) {}

std::string Authenticator::cache_key(const Endpoint& endpoint, std::string_view repository,
                                     const Credentials& creds) const {
  std::string secret = creds.username + '\0' + creds.password + '\0' + creds.auth + '\0' + creds.identity_token;
  return endpoint.base_url + '\n' + pull_scope(repository) + '\n' + std::string(sha256_of(secret).hex());
}

Result<std::string> Authenticator::initial(const Endpoint& endpoint, std::string_view repository,
                                           const Credentials& creds) {
  if (!creds.registry_token.empty()) {
    if (!is_safe_header_value(creds.registry_token)) {
      return Error(ErrorCode::kInvalidArgument, "credentials: registry_token holds characters not allowed in a token");
    }
    return "Bearer " + creds.registry_token;
  }
  return cache_.get(cache_key(endpoint, repository, creds)).value_or("");
}

Result<std::string> Authenticator::answer(const Endpoint& endpoint, std::string_view repository,
                                          const Credentials& creds, const std::vector<std::string>& challenges) {
  if (!creds.registry_token.empty()) {
    return Error(ErrorCode::kPermissionDenied, "the registry refused the registry token");
  }
  std::vector<AuthChallenge> parsed;
  for (const std::string& h : challenges) {
    for (AuthChallenge& c : parse_www_authenticate(h)) parsed.push_back(std::move(c));
  }
  std::string key = cache_key(endpoint, repository, creds);
  if (const AuthChallenge* bearer = pick(parsed, "bearer")) {
    auto realm = bearer->params.find("realm");
    if (realm == bearer->params.end()) {
      return Error(ErrorCode::kPermissionDenied, "the registry's Bearer challenge has no realm");
    }
    auto realm_url = url::parse(realm->second);
    if (!realm_url.ok()) return std::move(realm_url).take_error().wrap("the registry's Bearer challenge");
    if (realm_url->scheme == "http" && endpoint.base_url.starts_with("https:") && has_any(creds)) {
      return Error(ErrorCode::kPermissionDenied,
                   "refusing to send credentials to plain-HTTP token realm " + http::redact(realm->second));
    }
    auto scope = bearer->params.find("scope");
    auto service = bearer->params.find("service");
    TokenRequest request{realm->second, service == bearer->params.end() ? "" : service->second,
                         scope == bearer->params.end() ? pull_scope(repository) : scope->second, creds};
    auto token = fetch_token(transport_, options_, request);
    if (!token.ok()) return std::move(token).take_error();
    std::string value = "Bearer " + token->token;
    cache_.put(key, value, token_expiry(token->expires_in_seconds));
    return value;
  }
  if (pick(parsed, "basic") != nullptr) {
    auto basic = basic_authorization(creds);
    if (!basic.ok()) return basic;
    if (basic->empty()) {
      return Error(ErrorCode::kPermissionDenied,
                   "the registry requires basic authentication and no credentials were given");
    }
    cache_.put(key, *basic, TokenCache::Clock::now() + kBasicLifetime);
    return basic;
  }
  return Error(
      ErrorCode::kPermissionDenied,
      "authentication required, but no supported WWW-Authenticate challenge (schemes: " + schemes_of(parsed) + ")");
}

}  // namespace zoned::oci
