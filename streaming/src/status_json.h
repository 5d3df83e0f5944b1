// The Kubernetes metav1.Status objects remotecommand v4+ writes on the error stream, byte for
// byte as kubelet marshals them, and the reading side used by the client.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "zoned/common/result.h"

namespace zoned::streaming {

std::string success_status_json();
// Failure, reason NonZeroExitCode, details.causes[{reason: ExitCode, message: "<code>"}].
std::string exit_code_status_json(int32_t exit_code);
// Failure with a message (the command could not run, ...), reason InternalError.
std::string failure_status_json(std::string_view message);

// What a client makes of a Status: exit code 0, the code of a NonZeroExitCode, or an error.
struct CommandOutcome {
  int32_t exit_code = 0;
  std::string message;  // Failure without an exit code: the message
  bool failed = false;
};
Result<CommandOutcome> parse_status_json(std::string_view json);

}  // namespace zoned::streaming
