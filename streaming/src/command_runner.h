// CommandRunner: one exec or attach between a transport (SPDY streams or WebSocket channels)
// and the backend. The transport feeds it stdin, stdin close and resize bytes; the runner
// writes output through CommandOutput and, when the process ended (or could not start), the
// final Status JSON. A waiter thread polls the backend session so that abort() (client gone,
// server stopping) can always end it: exec gets its stdin closed and SIGKILL, attach detaches.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "token_cache.h"
#include "zoned/streaming/backend.h"

namespace zoned::streaming {

class CommandOutput {
 public:
  virtual ~CommandOutput() = default;
  virtual void output(int fd, std::string_view data) = 0;  // 1 stdout/tty, 2 stderr
  // The last call: the Status (JSON), after all output. The transport then closes.
  virtual void finish(const std::string& status_json, bool success) = 0;
};

class CommandRunner {
 public:
  CommandRunner(StreamingBackend& backend, const PendingRequest& request, CommandOutput& out,
                std::atomic<size_t>& sessions);
  ~CommandRunner();
  CommandRunner(const CommandRunner&) = delete;
  CommandRunner& operator=(const CommandRunner&) = delete;

  // Starts the process (or attaches) and the waiter; on failure finish() is called with it.
  void start();
  void stdin_data(std::string_view data);
  void stdin_close();
  // Bytes of the resize stream: concatenated JSON objects {"Width":W,"Height":H}.
  void resize_bytes(std::string_view data);
  // The client is gone: end the session and join the waiter (idempotent).
  void abort();
  bool finished() const { return finished_; }

 private:
  void wait_loop();
  Status resize(uint32_t rows, uint32_t cols);

  StreamingBackend& backend_;
  PendingRequest request_;
  CommandOutput& out_;
  std::atomic<size_t>& sessions_;
  std::unique_ptr<ExecSession> exec_;
  std::unique_ptr<AttachSession> attach_;
  std::mutex session_mu_;  // stdin/resize (transport thread) against teardown
  std::string resize_buffer_;
  std::thread waiter_;
  std::atomic<bool> cancelled_{false}, finished_{false};
  bool stdin_closed_ = false;
};

}  // namespace zoned::streaming
