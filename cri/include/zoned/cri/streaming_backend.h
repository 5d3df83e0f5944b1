// The streaming server's backend over ZoneManager: exec runs in the container's zone (IDM exec
// session), attach joins the container's main process stdio, dial opens a connection to
// 127.0.0.1:port inside the pod's zone (the sandbox id is the zone id).
#pragma once

#include <memory>

#include "zoned/streaming/backend.h"
#include "zoned/zone_runtime/zone_manager.h"

namespace zoned::cri {

// `zones` must outlive the backend.
std::unique_ptr<streaming::StreamingBackend> make_zone_streaming_backend(zone_runtime::ZoneManager& zones);

}  // namespace zoned::cri
