// What the streaming server asks of the runtime. The daemon implements it over
// zone_runtime::ZoneManager (exec and attach go to the zone agent, dial opens a connection from
// inside the pod's zone); tests use FakeStreamingBackend (tests/fakes).
//
// Threading: the server calls these from its connection threads; sinks are called on the
// backend's own threads, in order, and may block (back-pressure towards the process).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "zoned/common/result.h"
#include "zoned/common/unique_fd.h"
#include "zoned/zone_runtime/zone_manager.h"

namespace zoned::streaming {

using zone_runtime::ExecOutputSink;
using zone_runtime::ExecRequest;
using zone_runtime::ExecResult;
using zone_runtime::ExecSession;

struct AttachRequest {
  std::string container_id;
  bool stdin = false;
  bool tty = false;  // the container was created with a tty: one output stream, resizable
};

// A connection to the main process's stdio. Destroying it detaches: the process keeps running.
class AttachSession {
 public:
  virtual ~AttachSession() = default;
  virtual Status write_stdin(std::string_view data) = 0;
  // Closes the attachment's stdin (the container's stdin is closed only if it was created
  // with stdin_once, which is the backend's business).
  virtual Status close_stdin() = 0;
  virtual Status resize(uint32_t rows, uint32_t cols) = 0;
  // Blocks until the container exited (true, all output delivered) or `timeout` passed (false).
  virtual Result<bool> wait(std::chrono::milliseconds timeout) = 0;
};

// A bidirectional byte stream to a port inside a pod. read() and write() may run on different
// threads at once; close() from any thread unblocks a read().
class PortConnection {
 public:
  virtual ~PortConnection() = default;
  // Up to `n` bytes, 0 at end of stream.
  virtual Result<size_t> read(char* buf, size_t n) = 0;
  virtual Status write(std::string_view data) = 0;
  virtual Status close_write() = 0;  // half-close: the peer reads end of stream
  virtual void close() = 0;
};

class StreamingBackend {
 public:
  virtual ~StreamingBackend() = default;
  // Starts a command in a container. `sink` gets stdout (fd 1, or the tty) and stderr (fd 2).
  virtual Result<std::unique_ptr<ExecSession>> exec(const ExecRequest& request, ExecOutputSink sink) = 0;
  virtual Result<std::unique_ptr<AttachSession>> attach(const AttachRequest& request, ExecOutputSink sink) = 0;
  // Connects to 127.0.0.1:`port` as seen from inside the pod's network namespace.
  virtual Result<std::unique_ptr<PortConnection>> dial(const std::string& pod_sandbox_id, uint16_t port) = 0;
};

// A PortConnection over a connected TCP socket (what dial returns when the port is reachable
// from dom0; used by tests and tools).
std::unique_ptr<PortConnection> make_tcp_port_connection(UniqueFd fd);

}  // namespace zoned::streaming
