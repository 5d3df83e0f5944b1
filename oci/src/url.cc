#include "url.h"

#include <curl/curl.h>

#include <memory>

namespace zoned::oci::url {
namespace {

struct UrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
using UrlHandle = std::unique_ptr<CURLU, UrlDeleter>;

struct CurlString {
  char* p = nullptr;
  ~CurlString() { curl_free(p); }
};

Error bad_url(std::string_view url, std::string_view why) {
  return Error(ErrorCode::kInvalidArgument,
               "invalid URL '" + std::string(url.substr(0, 200)) + "': " + std::string(why));
}

Result<std::string> part(CURLU* u, CURLUPart which, unsigned int flags, std::string_view url) {
  CurlString s;
  CURLUcode rc = curl_url_get(u, which, &s.p, flags);
  if (rc != CURLUE_OK || s.p == nullptr) return bad_url(url, curl_url_strerror(rc));
  return std::string(s.p);
}

Result<UrlHandle> parse_handle(std::string_view url) {
  UrlHandle u(curl_url());
  if (!u) return Error(ErrorCode::kResourceExhausted, "out of memory parsing a URL");
  std::string copy(url);
  CURLUcode rc = curl_url_set(u.get(), CURLUPART_URL, copy.c_str(), 0);
  if (rc != CURLUE_OK) return bad_url(url, curl_url_strerror(rc));
  return u;
}

}  // namespace

Result<Parts> parse(std::string_view text) {
  auto u = parse_handle(text);
  if (!u.ok()) return std::move(u).take_error();
  auto scheme = part(u->get(), CURLUPART_SCHEME, 0, text);
  if (!scheme.ok()) return std::move(scheme).take_error();
  if (*scheme != "http" && *scheme != "https") return bad_url(text, "only http and https are allowed");
  auto host = part(u->get(), CURLUPART_HOST, 0, text);
  if (!host.ok()) return std::move(host).take_error();
  auto port = part(u->get(), CURLUPART_PORT, CURLU_DEFAULT_PORT, text);
  if (!port.ok()) return std::move(port).take_error();
  Parts p{*scheme, *host, *port, *host};
  if (p.host.size() > 2 && p.host.front() == '[') p.host = p.host.substr(1, p.host.size() - 2);
  CurlString explicit_port;
  if (curl_url_get(u->get(), CURLUPART_PORT, &explicit_port.p, 0) == CURLUE_OK && explicit_port.p != nullptr) {
    p.authority += ":" + std::string(explicit_port.p);
  }
  return p;
}

Result<std::string> origin(std::string_view text) {
  auto p = parse(text);
  if (!p.ok()) return std::move(p).take_error();
  return p->scheme + "://" + p->host + ":" + p->port;
}

Result<std::string> resolve(std::string_view base, std::string_view location) {
  auto u = parse_handle(base);
  if (!u.ok()) return std::move(u).take_error();
  std::string loc(location);
  CURLUcode rc = curl_url_set(u->get(), CURLUPART_URL, loc.c_str(), 0);
  if (rc != CURLUE_OK) return bad_url(location, curl_url_strerror(rc));
  auto full = part(u->get(), CURLUPART_URL, 0, location);
  if (!full.ok()) return full;
  auto check = parse(*full);
  if (!check.ok()) return std::move(check).take_error();
  return full;
}

std::string escape(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    auto b = static_cast<unsigned char>(c);
    bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += c;
    } else {
      out += '%';
      out += kHex[b >> 4];
      out += kHex[b & 15];
    }
  }
  return out;
}

std::string with_query(std::string_view base, std::string_view query) {
  if (query.empty()) return std::string(base);
  char sep = base.find('?') == std::string_view::npos ? '?' : '&';
  return std::string(base) + sep + std::string(query);
}

}  // namespace zoned::oci::url
