// The protocol sessions behind an upgraded connection (internal to the server).
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "http.h"
#include "socket.h"
#include "token_cache.h"
#include "zoned/streaming/server.h"

namespace zoned::streaming {

struct ConnectionContext {
  Socket& socket;
  const StreamingServerOptions& options;
  StreamingBackend& backend;
  std::atomic<size_t>& sessions;  // open backend sessions, for stats and leak tests
  std::string leftover;           // bytes read past the HTTP head
};

// remotecommand over SPDY (v4/v5: JSON status; the 101 response is already written).
void serve_command_spdy(ConnectionContext& ctx, const PendingRequest& request);
// remotecommand over WebSocket; `protocol` is the negotiated subprotocol ("" = channel.k8s.io).
void serve_command_ws(ConnectionContext& ctx, const PendingRequest& request, const std::string& protocol);
void serve_port_forward_spdy(ConnectionContext& ctx, const std::string& pod_sandbox_id);
void serve_port_forward_ws(ConnectionContext& ctx, const std::string& pod_sandbox_id,
                           const std::vector<uint16_t>& ports);

}  // namespace zoned::streaming
