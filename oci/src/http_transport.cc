#include "http_transport.h"

#include <curl/curl.h>

#include <algorithm>
#include <memory>

#include "zoned/common/version.h"

namespace zoned::oci::http {
namespace {

constexpr size_t kMaxHeaderBytes = 64 * 1024;
constexpr size_t kMaxHeaderCount = 200;
constexpr size_t kMaxErrorBodyBytes = 64 * 1024;
constexpr size_t kMaxIdleHandles = 8;
constexpr long kLowSpeedLimitBytes = 1024;

struct Transfer {
  const Request& request;
  CURL* handle;
  Response response;
  std::optional<Error> abort_error;
  bool truncated = false;
  size_t header_bytes = 0;
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
  return out;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  t->header_bytes += n;
  if (t->header_bytes > kMaxHeaderBytes || t->response.headers.size() >= kMaxHeaderCount) {
    t->abort_error = Error(ErrorCode::kInvalidArgument, "response headers exceed " + std::to_string(kMaxHeaderBytes) +
                                                            " bytes or " + std::to_string(kMaxHeaderCount) + " lines");
    return 0;
  }
  std::string_view line = trim(std::string_view(data, n));
  if (line.starts_with("HTTP/")) {
    t->response.headers.clear();  // a new response (after 100 Continue, say)
    return n;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  t->response.headers.emplace_back(lower(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1))));
  return n;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  long status = 0;
  curl_easy_getinfo(t->handle, CURLINFO_RESPONSE_CODE, &status);
  bool success = status >= 200 && status < 300;
  if (success && t->request.stream) {
    Status s = t->request.stream(data, n);
    if (s.ok()) return n;
    t->abort_error = std::move(s).take_error();
    return 0;
  }
  size_t limit = success ? t->request.max_body_bytes : std::min(t->request.max_body_bytes, kMaxErrorBodyBytes);
  std::string& body = t->response.body;
  if (body.size() + n <= limit) {
    body.append(data, n);
    return n;
  }
  if (success) {
    t->abort_error = Error(ErrorCode::kInvalidArgument, "response body exceeds " + std::to_string(limit) + " bytes");
  } else {
    body.append(data, limit - body.size());
    t->truncated = true;  // enough of an error body for a message: stop reading
  }
  return 0;
}

bool is_tls_verification_error(CURLcode rc) {
  return rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_CERTPROBLEM ||
         rc == CURLE_SSL_ISSUER_ERROR || rc == CURLE_SSL_PINNEDPUBKEYNOTMATCH || rc == CURLE_SSL_INVALIDCERTSTATUS;
}

Error transport_error(CURLcode rc, const char* errbuf, const Request& r) {
  std::string msg = r.method + " " + redact(r.url) + ": " + curl_easy_strerror(rc);
  if (errbuf[0] != '\0') msg += " (" + std::string(errbuf).substr(0, 300) + ")";
  if (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL) return Error(ErrorCode::kInvalidArgument, msg);
  if (is_tls_verification_error(rc)) {
    return Error(
        ErrorCode::kFailedPrecondition,
        msg + "; TLS verification failed (configure insecure_skip_verify for this host only for test registries)");
  }
  return Error(ErrorCode::kUnavailable, msg);  // connect, reset, timeout, truncated transfer...
}

struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

void set_options(CURL* h, Transfer& t, curl_slist* headers, char* errbuf) {
  const Request& r = t.request;
  static const std::string user_agent = std::string(kRuntimeName) + "/" + kVersion;
  curl_easy_setopt(h, CURLOPT_URL, r.url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_USERAGENT, user_agent.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, r.connect_timeout_seconds);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, kLowSpeedLimitBytes);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, r.low_speed_timeout_seconds);
  if (r.total_timeout_seconds > 0) curl_easy_setopt(h, CURLOPT_TIMEOUT, r.total_timeout_seconds);
  if (!r.verify_tls) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (r.method == "POST") {
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
    curl_easy_setopt(h, CURLOPT_COPYPOSTFIELDS, r.body.c_str());
  }
}

}  // namespace

std::optional<std::string> Response::header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return value;
  }
  return std::nullopt;
}

std::vector<std::string> Response::headers_named(std::string_view lower_name) const {
  std::vector<std::string> out;
  for (const auto& [name, value] : headers) {
    if (name == lower_name) out.push_back(value);
  }
  return out;
}

std::string redact(std::string_view url) {
  return std::string(url.substr(0, std::min(url.find('?'), size_t{300})));
}

Transport::Transport() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

Transport::~Transport() {
  for (CURL* h : idle_) curl_easy_cleanup(h);
}

CURL* Transport::acquire() {
  std::lock_guard lock(mutex_);
  if (idle_.empty()) return curl_easy_init();
  CURL* h = idle_.back();
  idle_.pop_back();
  return h;
}

void Transport::release(CURL* handle) {
  curl_easy_reset(handle);  // keeps live connections and the TLS session cache
  std::lock_guard lock(mutex_);
  if (idle_.size() < kMaxIdleHandles) {
    idle_.push_back(handle);
    return;
  }
  curl_easy_cleanup(handle);
}

Result<Response> Transport::perform(const Request& request) {
  CURL* h = acquire();
  if (h == nullptr) return Error(ErrorCode::kResourceExhausted, "cannot create a curl handle");
  auto lease = std::unique_ptr<CURL, std::function<void(CURL*)>>(h, [this](CURL* p) { release(p); });
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  for (const std::string& line : request.headers) {
    curl_slist* next = curl_slist_append(headers.get(), line.c_str());
    if (next == nullptr) return Error(ErrorCode::kResourceExhausted, "out of memory building request headers");
    (void)headers.release();
    headers.reset(next);
  }
  Transfer t{request, h, {}, std::nullopt};
  char errbuf[CURL_ERROR_SIZE] = {};
  set_options(h, t, headers.get(), errbuf);
  CURLcode rc = curl_easy_perform(h);
  if (t.abort_error) return std::move(*t.abort_error);
  if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && t.truncated)) return transport_error(rc, errbuf, request);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &t.response.status);
  return std::move(t.response);
}

}  // namespace zoned::oci::http
