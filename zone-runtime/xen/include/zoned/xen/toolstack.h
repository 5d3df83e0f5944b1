// The libxl context and the one thread that uses it. Every libxl call of the daemon is a job
// queued here and run in order; run() blocks the caller until its job is done. The context is
// opened lazily on this thread (so the daemon can start before Xen is reachable, and retries
// each time a job needs it) and its child-process mode is set before anything else: libxl
// reaps only its own children (libxl_sigchld_owner_libxl_always_selective_reap), the rest of
// the daemon waits for its own by exact pid (common/process.h). SIGCHLD is unblocked on this
// thread, so libxl's handler has somewhere to run whatever the daemon's threads block.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "zoned/common/result.h"
#include "zoned/xen/libxl_error.h"
#include "zoned/xen/libxl_headers.h"
#include "zoned/xen/xtl_logger.h"

namespace zoned::xen {

// What a job gets: the context, and a way to describe a failed libxl call with what libxl
// logged while it failed.
class LibxlCall {
 public:
  LibxlCall(libxl_ctx* ctx, XtlLogger& logger) : ctx_(ctx), logger_(logger) {}
  libxl_ctx* ctx() const { return ctx_; }
  Error error(int rc, std::string_view step) const { return libxl_error(rc, step, logger_.take_errors()); }

 private:
  libxl_ctx* ctx_;
  XtlLogger& logger_;
};

class Toolstack {
 public:
  // How the context is opened and closed; the defaults are libxl's. Tests substitute fakes.
  struct ContextOps {
    std::function<Result<libxl_ctx*>(xentoollog_logger*)> open;
    std::function<void(libxl_ctx*)> close;
  };
  struct Options {
    std::string privcmd = "/dev/xen/privcmd";
    std::string xenstored_socket = "/run/xenstored/socket";
    xentoollog_level log_level = XTL_WARN;
    ContextOps context_ops;  // empty: the real libxl (see real_context_ops)
  };

  explicit Toolstack(Options options);
  // Jobs still queued fail with Cancelled; the running one finishes first. Then the context is
  // freed on the toolstack thread.
  ~Toolstack();
  Toolstack(const Toolstack&) = delete;
  Toolstack& operator=(const Toolstack&) = delete;

  // Runs `job` on the toolstack thread and waits for it. Fails with Unavailable when libxl
  // cannot be opened (no Xen, no xenstored), Cancelled when the toolstack is shutting down.
  // Called from the toolstack thread itself (a job), it runs inline.
  template <typename T>
  Result<T> run(std::function<Result<T>(const LibxlCall&)> job) {
    return wait_for(submit(std::move(job)), std::nullopt);
  }
  // Like run(), but gives up waiting after `timeout` (DeadlineExceeded). The job then still
  // runs later: it must own everything it uses (capture by value).
  template <typename T>
  Result<T> run_within(std::chrono::milliseconds timeout, std::function<Result<T>(const LibxlCall&)> job) {
    return wait_for(submit(std::move(job)), timeout);
  }

  // Whether a libxl context is open (some job has succeeded in opening it).
  bool has_context() const;
  // Whether a job is running or waiting right now.
  bool busy() const;

  // libxl_ctx_alloc + libxl_childproc_setmode(selective reap), after checking that privcmd and
  // xenstored's socket exist (so libxl never blocks on a xenbus device with no xenstored).
  static ContextOps real_context_ops(std::string privcmd, std::string xenstored_socket);

 private:
  using Task = std::function<void(const LibxlCall*, const Error*)>;

  template <typename T>
  std::future<Result<T>> submit(std::function<Result<T>(const LibxlCall&)> job) {
    auto promise = std::make_shared<std::promise<Result<T>>>();
    auto future = promise->get_future();
    enqueue([promise, job = std::move(job)](const LibxlCall* call, const Error* failure) {
      if (failure != nullptr) {
        promise->set_value(*failure);
      } else {
        promise->set_value(job(*call));
      }
    });
    return future;
  }
  template <typename T>
  static Result<T> wait_for(std::future<Result<T>> future, std::optional<std::chrono::milliseconds> timeout) {
    if (timeout && future.wait_for(*timeout) != std::future_status::ready) {
      return Error(ErrorCode::kDeadlineExceeded,
                   "the Xen toolstack is busy (no answer within " + std::to_string(timeout->count()) + " ms)");
    }
    return future.get();
  }

  void enqueue(Task task);
  void thread_main();
  // Opens the context if needed; nullptr + the reason when it cannot.
  Result<libxl_ctx*> context();

  Options options_;
  XtlLogger logger_;
  libxl_ctx* ctx_ = nullptr;  // toolstack thread only
  std::atomic<bool> has_ctx_{false};

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Task> queue_;
  bool running_ = false;  // a job is being run
  bool stopping_ = false;
  std::thread thread_;  // last: starts after everything above exists
};

}  // namespace zoned::xen
