#include "registry_request.h"

#include <thread>

#include "backoff.h"
#include "registry_errors.h"
#include "url.h"
#include "zoned/common/log.h"

namespace zoned::oci {
namespace {

constexpr int kMaxRedirects = 5;

bool is_redirect(long status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

bool same_origin(std::string_view a, std::string_view b) {
  auto oa = url::origin(a);
  auto ob = url::origin(b);
  return oa.ok() && ob.ok() && *oa == *ob;
}

}  // namespace

struct RegistryRequester::Attempt {
  const Endpoint& endpoint;
  std::string_view repository;
  const Credentials& creds;
  const RegistryGet& get;
  std::string context;
  std::string authorization;
  bool stream_failed = false;
  std::optional<int> retry_after;
};

RegistryRequester::RegistryRequester(http::Transport& transport, Authenticator& auth,
                                     const RegistryClientOptions& options)
    : transport_(transport), auth_(auth), options_(options) {}

Result<http::Response> RegistryRequester::perform_hop(Attempt& a, const std::string& target) {
  bool at_endpoint = same_origin(target, a.endpoint.base_url);
  http::Request req;
  req.url = target;
  req.headers = a.get.headers;
  if (at_endpoint && !a.authorization.empty()) req.headers.push_back("Authorization: " + a.authorization);
  req.verify_tls = at_endpoint ? a.endpoint.verify_tls : verify_tls_for(options_, target);
  req.connect_timeout_seconds = options_.connect_timeout_seconds;
  req.low_speed_timeout_seconds = options_.low_speed_timeout_seconds;
  req.total_timeout_seconds = a.get.time_limited ? options_.request_timeout_seconds : 0;
  req.max_body_bytes = a.get.max_body_bytes;
  if (a.get.stream) {
    req.stream = [&a](const char* data, size_t size) {
      Status s = a.get.stream(data, size);
      if (!s.ok()) a.stream_failed = true;
      return s;
    };
  }
  return transport_.perform(req);
}

Result<http::Response> RegistryRequester::attempt(Attempt& a) {
  const Credentials& creds = a.creds;
  auto initial = auth_.initial(a.endpoint, a.repository, creds);
  if (!initial.ok()) return std::move(initial).take_error().wrap(a.context);
  a.authorization = std::move(*initial);
  std::string target = a.endpoint.base_url + a.get.path;
  bool answered = false;
  for (int redirects = 0;;) {
    auto r = perform_hop(a, target);
    if (!r.ok()) return a.stream_failed ? std::move(r).take_error() : std::move(r).take_error().wrap(a.context);
    http::Response& response = *r;
    if (is_redirect(response.status)) {
      auto location = response.header("location");
      if (!location) return Error(ErrorCode::kInvalidArgument, a.context + ": redirect without a Location header");
      if (++redirects > kMaxRedirects) return Error(ErrorCode::kInvalidArgument, a.context + ": too many redirects");
      auto next = url::resolve(target, *location);
      if (!next.ok()) return std::move(next).take_error().wrap(a.context + ": redirect");
      target = std::move(*next);
      continue;
    }
    if (response.status == 401 && !answered && same_origin(target, a.endpoint.base_url)) {
      auto answer = auth_.answer(a.endpoint, a.repository, creds, response.headers_named("www-authenticate"));
      if (!answer.ok()) return std::move(answer).take_error().wrap(a.context + ": authenticating");
      a.authorization = std::move(*answer);
      answered = true;
      continue;
    }
    if (response.status >= 200 && response.status < 300) {
      if (a.get.check) ZONED_TRY(a.get.check(response));
      return std::move(response);
    }
    a.retry_after = retry_after_seconds(response);
    return status_error(response, a.context, a.get.not_found);
  }
}

Result<http::Response> RegistryRequester::get(const Endpoint& endpoint, std::string_view repository,
                                              const Credentials& creds, const RegistryGet& get) {
  static const Credentials kAnonymous;
  Attempt a{
      endpoint, repository,  endpoint.send_credentials ? creds : kAnonymous, get, endpoint.label + ": " + get.what, {},
      false,    std::nullopt};
  int max_attempts = std::max(1, get.max_attempts);
  for (int n = 1;; ++n) {
    a.stream_failed = false;
    a.retry_after.reset();
    auto r = attempt(a);
    if (r.ok() || a.stream_failed || r.error().code() != ErrorCode::kUnavailable || n >= max_attempts) return r;
    auto delay = backoff_delay(options_, n, a.retry_after);
    log::warn(
        "registry request failed; retrying",
        {{"endpoint", endpoint.base_url}, {"attempt", n}, {"delay_ms", delay.count()}, {"error", r.error().message()}});
    std::this_thread::sleep_for(delay);
    if (get.before_retry) ZONED_TRY(get.before_retry());
  }
}

}  // namespace zoned::oci
