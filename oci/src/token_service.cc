#include "token_service.h"

#include <algorithm>

#include "base64.h"
#include "json_fields.h"
#include "registry_endpoints.h"
#include "registry_errors.h"
#include "url.h"

namespace zoned::oci {
namespace {

constexpr int64_t kMinExpirySeconds = 60;
constexpr int64_t kMaxExpirySeconds = 24 * 3600;

Result<std::string> token_field(const json_fields::Json& doc) {
  for (const char* key : {"token", "access_token"}) {
    auto value = json_fields::optional_string(doc, key, "");
    if (!value.ok()) return value;
    if (!value->empty()) {
      if (!is_safe_header_value(*value)) {
        return Error(ErrorCode::kInvalidArgument,
                     std::string("field '") + key + "' holds characters not allowed in a token");
      }
      return value;
    }
  }
  return Error(ErrorCode::kInvalidArgument, "no 'token' or 'access_token' in the response");
}

int64_t expires_in(const json_fields::Json& doc) {
  auto it = doc.find("expires_in");
  if (it == doc.end() || !it->is_number_integer()) return kMinExpirySeconds;
  auto v = it->get<int64_t>();
  return std::clamp(v, kMinExpirySeconds, kMaxExpirySeconds);
}

http::Request build_request(const RegistryClientOptions& options, const TokenRequest& r, const std::string& basic) {
  http::Request req;
  std::string query;
  auto add = [&query](std::string_view k, std::string_view v) {
    if (v.empty()) return;
    query += (query.empty() ? "" : "&") + std::string(k) + "=" + url::escape(v);
  };
  if (!r.creds.identity_token.empty()) {
    req.method = "POST";
    req.url = r.realm;
    add("grant_type", "refresh_token");
    add("client_id", "zoned");
    add("refresh_token", r.creds.identity_token);
    add("service", r.service);
    add("scope", r.scope);
    req.body = query;
    req.headers.push_back("Content-Type: application/x-www-form-urlencoded");
  } else {
    add("service", r.service);
    add("scope", r.scope);
    req.url = url::with_query(r.realm, query);
    if (!basic.empty()) req.headers.push_back("Authorization: " + basic);
  }
  req.verify_tls = verify_tls_for(options, r.realm);
  req.connect_timeout_seconds = options.connect_timeout_seconds;
  req.low_speed_timeout_seconds = options.low_speed_timeout_seconds;
  req.total_timeout_seconds = options.request_timeout_seconds;
  req.max_body_bytes = options.max_token_response_bytes;
  return req;
}

}  // namespace

bool is_safe_header_value(std::string_view value) {
  if (value.empty()) return false;
  for (char c : value) {
    auto b = static_cast<unsigned char>(c);
    if (b <= 0x20 || b >= 0x7f) return false;
  }
  return true;
}

Result<TokenResponse> parse_token_response(std::string_view body) {
  auto doc = json_fields::parse_document(body, "token response");
  if (!doc.ok()) return std::move(doc).take_error();
  if (!doc->is_object()) return Error(ErrorCode::kInvalidArgument, "token response is not a JSON object");
  auto token = token_field(*doc);
  if (!token.ok()) return std::move(token).take_error().wrap("token response");
  return TokenResponse{std::move(*token), expires_in(*doc)};
}

Result<std::string> basic_authorization(const Credentials& creds) {
  if (!creds.username.empty() || !creds.password.empty()) {
    return "Basic " + base64::encode(creds.username + ":" + creds.password);
  }
  if (creds.auth.empty()) return std::string();
  auto decoded = base64::decode(creds.auth);
  if (!decoded || decoded->find(':') == std::string::npos) {
    return Error(ErrorCode::kInvalidArgument, "credentials: 'auth' is not base64 of \"user:password\"");
  }
  return "Basic " + base64::encode(*decoded);
}

Result<TokenResponse> fetch_token(http::Transport& transport, const RegistryClientOptions& options,
                                  const TokenRequest& request) {
  std::string context = "token service " + http::redact(request.realm);
  auto basic = basic_authorization(request.creds);
  if (!basic.ok()) return std::move(basic).take_error();
  auto response = transport.perform(build_request(options, request, *basic));
  if (!response.ok()) return std::move(response).take_error().wrap(context);
  if (response->status == 401 || response->status == 403) {
    bool had_creds = !basic->empty() || !request.creds.identity_token.empty();
    return status_error(*response, context + (had_creds ? " refused the credentials" : " refused anonymous access"),
                        "");
  }
  if (response->status < 200 || response->status >= 300) {
    return status_error(*response, context, "token endpoint not found");
  }
  auto token = parse_token_response(response->body);
  if (!token.ok()) return std::move(token).take_error().wrap(context);
  return token;
}

}  // namespace zoned::oci
