// A thread that calls back whenever some domain may have changed state: it watches
// xenstore's "@releaseDomain", which xenstored fires when a domain shuts down (poweroff,
// reboot, crash) and when it is destroyed. Calls may be spurious (one always follows
// registration and every reconnect, since events may have been missed); the callback
// re-reads the domain list. While xenstored is unreachable it retries every second.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "zoned/common/unique_fd.h"

namespace zoned::xen {

class DomainWatch {
 public:
  DomainWatch(std::string xenstored_socket, std::function<void()> callback,
              std::chrono::milliseconds retry = std::chrono::seconds(1));
  // Stops the thread (waits for a callback in progress to return).
  ~DomainWatch();
  DomainWatch(const DomainWatch&) = delete;
  DomainWatch& operator=(const DomainWatch&) = delete;

 private:
  void thread_main();
  // One connection's lifetime: returns when it broke (false) or we are stopping (true).
  bool watch_once();
  // Waits up to `timeout` for the stop signal; true when stopping.
  bool wait_stop(std::chrono::milliseconds timeout);

  std::string socket_;
  std::function<void()> callback_;
  std::chrono::milliseconds retry_;
  UniqueFd stop_;  // eventfd
  std::thread thread_;
};

}  // namespace zoned::xen
