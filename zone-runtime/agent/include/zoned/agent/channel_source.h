// Where the agent's IDM connections come from. In a zone: a xenstore watch on
// data/zoned/idm-request, answered with a fresh libxenvchan server (vchan_source.h). In tests:
// channels handed over by the test.
#pragma once

#include <functional>
#include <memory>
#include <optional>

#include "zoned/common/result.h"
#include "zoned/idm/byte_channel.h"

namespace zoned::agent {

// A new channel replacing the current one. `peer_connected` tells whether the daemon has
// attached yet (a vchan server exists before its client); the agent sends Hello once it has.
struct NewChannel {
  std::unique_ptr<idm::ByteChannel> channel;
  std::function<bool()> peer_connected;
};

class ChannelSource {
 public:
  virtual ~ChannelSource() = default;
  // Polled for POLLIN; -1 when there is nothing to poll.
  virtual int poll_fd() const = 0;
  // Called when poll_fd() is readable: a new channel if the daemon asked for one, else nothing.
  // `drop_current` is called before a new channel is created, to close the previous one
  // (only one vchan server may exist on a xenstore path).
  virtual Result<std::optional<NewChannel>> on_readable(const std::function<void()>& drop_current) = 0;
};

}  // namespace zoned::agent
