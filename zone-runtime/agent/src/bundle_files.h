// Small file helpers for bundles: names safe as path components, config/process files, pid
// files written by crun, and the console socket through which crun hands over a pty master.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "zoned/common/result.h"
#include "zoned/common/unique_fd.h"

namespace zoned::agent {

// validate.h's id rule (1..128 of [A-Za-z0-9_.-]) minus "." and "..": safe as one path component.
bool is_safe_path_component(std::string_view name);

// Writes `content` to a new file (mode 0600), replacing any old one.
Status write_bundle_file(const std::string& path, std::string_view content);

// A pid file written by crun: one positive decimal number.
Result<pid_t> read_pid_file(const std::string& path);

// A listening unix socket at `path` (non-blocking, close-on-exec).
Result<UniqueFd> listen_unix(const std::string& path);
// Accepts the connection waiting on `listener` and receives one fd sent with SCM_RIGHTS.
Result<UniqueFd> receive_fd(int listener);

}  // namespace zoned::agent
