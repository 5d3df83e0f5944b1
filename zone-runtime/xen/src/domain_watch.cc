#include "zoned/xen/domain_watch.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <memory>

#include "zoned/common/log.h"
#include "zoned/xen/libxl_headers.h"

namespace zoned::xen {
namespace {

constexpr const char* kReleaseDomain = "@releaseDomain";
constexpr const char* kToken = "zoned-domain-change";

using XsHandle = std::unique_ptr<xs_handle, decltype(&xs_close)>;

}  // namespace

DomainWatch::DomainWatch(std::string xenstored_socket, std::function<void()> callback, std::chrono::milliseconds retry)
    : socket_(std::move(xenstored_socket)),
      callback_(std::move(callback)),
      retry_(retry),
      stop_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  thread_ = std::thread([this] { thread_main(); });
}

DomainWatch::~DomainWatch() {
  uint64_t one = 1;
  if (::write(stop_.get(), &one, sizeof one) < 0) {
    log::error("domain watch: cannot signal its thread to stop", {{"errno", errno}});
  }
  thread_.join();
}

bool DomainWatch::wait_stop(std::chrono::milliseconds timeout) {
  pollfd pfd{stop_.get(), POLLIN, 0};
  int ready = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
  return ready > 0;
}

void DomainWatch::thread_main() {
  bool logged_unreachable = false;
  for (;;) {
    struct stat st {};
    if (::stat(socket_.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) {
      if (watch_once()) return;
      logged_unreachable = false;
    } else if (!logged_unreachable) {
      log::debug("domain watch: xenstored not reachable, retrying", {{"socket", socket_}});
      logged_unreachable = true;
    }
    if (wait_stop(retry_)) return;
  }
}

bool DomainWatch::watch_once() {
  XsHandle xs(xs_open(XS_OPEN_SOCKETONLY), &xs_close);
  if (!xs) return false;
  if (!xs_watch(xs.get(), kReleaseDomain, kToken)) {
    log::warn("domain watch: xenstore refused the watch", {{"path", kReleaseDomain}, {"errno", errno}});
    return false;
  }
  log::debug("domain watch: watching", {{"path", kReleaseDomain}});
  callback_();  // events may have been missed while we were not watching
  const int watch_fd = xs_fileno(xs.get());
  if (watch_fd < 0) return false;
  for (;;) {
    pollfd pfds[2] = {{stop_.get(), POLLIN, 0}, {watch_fd, POLLIN, 0}};
    int ready = ::poll(pfds, 2, -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      log::error("domain watch: poll failed", {{"errno", errno}});
      return false;
    }
    if (pfds[0].revents != 0) return true;
    if ((pfds[1].revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) return false;
    // Drain every queued event; one callback covers them all.
    bool fired = false;
    for (;;) {
      char** event = xs_check_watch(xs.get());
      if (event == nullptr) break;
      std::free(event);
      fired = true;
    }
    if (errno != EAGAIN) {
      log::warn("domain watch: connection to xenstored lost; reconnecting", {{"errno", errno}});
      return false;
    }
    if (fired) callback_();
  }
}

}  // namespace zoned::xen
