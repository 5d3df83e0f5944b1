// The SPDY/3 header compression dictionary, as specified in section 2.6.10.1 of the SPDY/3
// draft: 65 length-prefixed (4 bytes, big endian) words followed by a literal tail. Built from
// that structure at first use; tests check its size and the Adler-32 that zlib sends as the
// dictionary id (0xe3c6a7c2), so a mismatch with peers cannot go unnoticed.
#include <array>
#include <string>
#include <string_view>

#include "zoned/streaming/spdy_frame.h"

namespace zoned::streaming::spdy {
namespace {

constexpr std::array<std::string_view, 65> kWords = {"options",
                                                     "head",
                                                     "post",
                                                     "put",
                                                     "delete",
                                                     "trace",
                                                     "accept",
                                                     "accept-charset",
                                                     "accept-encoding",
                                                     "accept-language",
                                                     "accept-ranges",
                                                     "age",
                                                     "allow",
                                                     "authorization",
                                                     "cache-control",
                                                     "connection",
                                                     "content-base",
                                                     "content-encoding",
                                                     "content-language",
                                                     "content-length",
                                                     "content-location",
                                                     "content-md5",
                                                     "content-range",
                                                     "content-type",
                                                     "date",
                                                     "etag",
                                                     "expect",
                                                     "expires",
                                                     "from",
                                                     "host",
                                                     "if-match",
                                                     "if-modified-since",
                                                     "if-none-match",
                                                     "if-range",
                                                     "if-unmodified-since",
                                                     "last-modified",
                                                     "location",
                                                     "max-forwards",
                                                     "pragma",
                                                     "proxy-authenticate",
                                                     "proxy-authorization",
                                                     "range",
                                                     "referer",
                                                     "retry-after",
                                                     "server",
                                                     "te",
                                                     "trailer",
                                                     "transfer-encoding",
                                                     "upgrade",
                                                     "user-agent",
                                                     "vary",
                                                     "via",
                                                     "warning",
                                                     "www-authenticate",
                                                     "method",
                                                     "get",
                                                     "status",
                                                     "200 OK",
                                                     "version",
                                                     "HTTP/1.1",
                                                     "url",
                                                     "public",
                                                     "set-cookie",
                                                     "keep-alive",
                                                     "origin"};

constexpr std::string_view kTail =
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
    "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized"
    "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable"
    "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
    "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
    "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.";

std::string build_dictionary() {
  std::string dict;
  for (std::string_view word : kWords) {
    const auto n = static_cast<uint32_t>(word.size());
    dict.push_back(static_cast<char>((n >> 24) & 0xff));
    dict.push_back(static_cast<char>((n >> 16) & 0xff));
    dict.push_back(static_cast<char>((n >> 8) & 0xff));
    dict.push_back(static_cast<char>(n & 0xff));
    dict.append(word);
  }
  dict.append(kTail);
  return dict;
}

}  // namespace

std::string_view header_dictionary() {
  static const std::string dict = build_dictionary();
  return dict;
}

}  // namespace zoned::streaming::spdy
