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

// The main process's stdio (destroying it detaches; the process keeps running) and a byte
// stream to a port inside a pod: the same interfaces as ZoneManager's, so the daemon's backend
// hands those over as they are.
using zone_runtime::AttachSession;
using PortConnection = zone_runtime::PortStream;

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
