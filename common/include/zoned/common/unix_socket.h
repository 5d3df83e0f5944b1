// Helpers for the daemon's listening unix socket.
#pragma once

#include <sys/types.h>

#include <string>

#include "zoned/common/result.h"

namespace zoned {

// Makes `path` free for a new listening socket. A socket left by a dead process (connect(2)
// is refused) is removed; a live one (another daemon) or a non-socket file is an error, so we
// never delete something that is not ours to delete.
Status claim_socket_path(const std::string& path);

// Sets the socket's mode, and its group when `group` (a name or a numeric gid) is not empty.
Status set_socket_permissions(const std::string& path, mode_t mode, const std::string& group);

}  // namespace zoned
