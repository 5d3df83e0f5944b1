#include "zoned/xen/toolstack.h"

#include <signal.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "zoned/common/log.h"

namespace zoned::xen {
namespace {

// libxl keeps a pointer to the hooks for the context's lifetime: static storage.
const libxl_childproc_hooks kSelectiveReap = {libxl_sigchld_owner_libxl_always_selective_reap, nullptr, nullptr};

void unblock_sigchld() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

}  // namespace

Toolstack::ContextOps Toolstack::real_context_ops(std::string privcmd, std::string xenstored_socket) {
  ContextOps ops;
  ops.open = [privcmd = std::move(privcmd),
              socket = std::move(xenstored_socket)](xentoollog_logger* logger) -> Result<libxl_ctx*> {
    struct stat st {};
    if (::stat(privcmd.c_str(), &st) != 0) {
      return Error(ErrorCode::kUnavailable, "Xen is not reachable: " + privcmd + ": " + std::strerror(errno));
    }
    if (::stat(socket.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) {
      return Error(ErrorCode::kUnavailable, "xenstored is not running (no socket at " + socket + ")");
    }
    libxl_ctx* ctx = nullptr;
    if (libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0, logger) != 0 || ctx == nullptr) {
      return Error(ErrorCode::kUnavailable, "libxl could not initialise (libxl_ctx_alloc failed)");
    }
    // Before anything else can fork: libxl reaps only its own children.
    libxl_childproc_setmode(ctx, &kSelectiveReap, nullptr);
    return ctx;
  };
  ops.close = [](libxl_ctx* ctx) { libxl_ctx_free(ctx); };
  return ops;
}

Toolstack::Toolstack(Options options) : options_(std::move(options)), logger_(options_.log_level) {
  if (!options_.context_ops.open) {
    options_.context_ops = real_context_ops(options_.privcmd, options_.xenstored_socket);
  }
  thread_ = std::thread([this] { thread_main(); });
}

Toolstack::~Toolstack() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

bool Toolstack::has_context() const {
  return has_ctx_.load();
}

bool Toolstack::busy() const {
  std::lock_guard lock(mu_);
  return running_ || !queue_.empty();
}

void Toolstack::enqueue(Task task) {
  if (std::this_thread::get_id() == thread_.get_id()) {
    // A job asking for more toolstack work: run it now, or it would wait for itself.
    auto ctx = context();
    if (!ctx.ok()) {
      task(nullptr, &ctx.error());
      return;
    }
    LibxlCall call(*ctx, logger_);
    task(&call, nullptr);
    return;
  }
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      Error cancelled(ErrorCode::kCancelled, "the Xen toolstack is shutting down");
      task(nullptr, &cancelled);
      return;
    }
    queue_.push_back(std::move(task));
  }
  cv_.notify_one();
}

Result<libxl_ctx*> Toolstack::context() {
  if (ctx_ != nullptr) return ctx_;
  auto opened = options_.context_ops.open(logger_.get());
  if (!opened.ok()) return std::move(opened).take_error();
  ctx_ = *opened;
  has_ctx_.store(true);
  log::info("xen toolstack: libxl context open");
  return ctx_;
}

void Toolstack::thread_main() {
  unblock_sigchld();
  for (;;) {
    Task task;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) break;
      task = std::move(queue_.front());
      queue_.pop_front();
      running_ = true;
    }
    auto ctx = context();
    if (!ctx.ok()) {
      task(nullptr, &ctx.error());
    } else {
      logger_.clear_errors();
      LibxlCall call(*ctx, logger_);
      task(&call, nullptr);
    }
    std::lock_guard lock(mu_);
    running_ = false;
  }
  // Shutting down: whatever is still queued is cancelled, then the context goes.
  std::deque<Task> rest;
  {
    std::lock_guard lock(mu_);
    rest.swap(queue_);
  }
  Error cancelled(ErrorCode::kCancelled, "the Xen toolstack is shutting down");
  for (auto& task : rest) task(nullptr, &cancelled);
  if (ctx_ != nullptr) {
    options_.context_ops.close(ctx_);
    ctx_ = nullptr;
    has_ctx_.store(false);
  }
}

}  // namespace zoned::xen
