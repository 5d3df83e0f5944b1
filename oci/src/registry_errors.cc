#include "registry_errors.h"

#include <charconv>

#include "json_fields.h"

namespace zoned::oci {
namespace {

constexpr size_t kMaxErrorText = 300;
constexpr size_t kMaxErrorsListed = 3;

std::string printable(std::string_view s, size_t limit) {
  std::string out;
  for (char c : s) {
    if (out.size() >= limit) {
      out += "...";
      break;
    }
    auto b = static_cast<unsigned char>(c);
    out += (b < 0x20 || b == 0x7f) ? ' ' : c;
  }
  return out;
}

std::string string_member(const json_fields::Json& obj, std::string_view key) {
  auto value = json_fields::optional_string(obj, key, "");
  return value.ok() ? *value : std::string();
}

std::string json_error_text(const json_fields::Json& doc) {
  auto errors = json_fields::optional_array(doc, "errors", "");
  if (!errors.ok() || *errors == nullptr) return "";
  std::string text;
  size_t listed = 0;
  for (const auto& e : **errors) {
    if (!e.is_object()) continue;
    if (listed++ == kMaxErrorsListed) break;
    std::string code = string_member(e, "code");
    std::string message = string_member(e, "message");
    if (!text.empty()) text += "; ";
    text += code.empty() ? message : (message.empty() ? code : code + ": " + message);
  }
  return text;
}

std::string_view reason(long status) {
  switch (status) {
    case 400: return "bad request";
    case 401: return "unauthorized";
    case 403: return "forbidden";
    case 405: return "method not allowed";
    case 408: return "request timeout";
    case 429: return "too many requests";
    case 500: return "internal server error";
    case 502: return "bad gateway";
    case 503: return "service unavailable";
    case 504: return "gateway timeout";
    default: return status >= 500 ? "server error" : "unexpected status";
  }
}

ErrorCode code_for(long status) {
  if (status == 401 || status == 403) return ErrorCode::kPermissionDenied;
  if (status == 404) return ErrorCode::kNotFound;
  if (status == 408 || status == 429 || status >= 500) return ErrorCode::kUnavailable;
  return ErrorCode::kInvalidArgument;
}

}  // namespace

std::string registry_error_text(std::string_view body) {
  if (body.empty()) return "";
  try {
    auto doc = json_fields::Json::parse(body.begin(), body.end());
    if (doc.is_object()) return printable(json_error_text(doc), kMaxErrorText);
  } catch (const json_fields::Json::exception&) {
    // not JSON: fall through to the raw text
  }
  return printable(body.substr(0, 200), 200);
}

Error status_error(const http::Response& response, std::string_view context, std::string_view not_found) {
  std::string what = response.status == 404 ? std::string(not_found) : std::string(reason(response.status));
  std::string detail = "HTTP " + std::to_string(response.status);
  std::string registry_text = registry_error_text(response.body);
  if (!registry_text.empty()) detail += ": " + registry_text;
  return Error(code_for(response.status), std::string(context) + ": " + what + " (" + detail + ")");
}

std::optional<int> retry_after_seconds(const http::Response& response) {
  auto value = response.header("retry-after");
  if (!value) return std::nullopt;
  int seconds = 0;
  auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), seconds);
  if (ec != std::errc() || end != value->data() + value->size() || seconds < 0 || seconds > 3600) return std::nullopt;
  return seconds;
}

}  // namespace zoned::oci
