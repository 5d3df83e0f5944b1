// A reliable, ordered, bidirectional byte stream between the daemon and one zone's agent: the
// transport under IDM framing. Real one: libxenvchan (vchan.h; the agent serves, the daemon
// connects). Tests use a socketpair (socket_channel.h).
//
// Non-blocking by contract: read_some / write_some never wait. To wait, poll poll_fd() for
// readability (it signals "the peer did something": data arrived, space was freed, or it
// closed), then call ack_wakeup() before retrying. Only call ack_wakeup() after poll reported
// the fd readable: on a vchan it blocks otherwise. A wakeup may be edge-like (a vchan's event
// channel fires once per notification): bytes left unread after a wakeup do not make the fd
// readable again, so a reader that stops early must come back without waiting.
#pragma once

#include <cstddef>
#include <span>

#include "zoned/common/result.h"

namespace zoned::idm {

class ByteChannel {
 public:
  virtual ~ByteChannel() = default;

  // A file descriptor to poll for POLLIN (only POLLIN: a vchan's fd always polls writable);
  // valid until the channel is destroyed.
  virtual int poll_fd() const = 0;
  // Consumes the notification that made poll_fd() readable.
  virtual Status ack_wakeup() = 0;

  // Copies up to buf.size() available bytes. 0: nothing available now.
  // Fails with kUnavailable once the peer has closed and nothing is left to read.
  virtual Result<std::size_t> read_some(std::span<char> buf) = 0;
  // Queues up to data.size() bytes. 0: no space now. kUnavailable once the peer has closed.
  virtual Result<std::size_t> write_some(std::span<const char> data) = 0;

  // False once the peer has closed (or the channel broke).
  virtual bool is_open() = 0;
};

}  // namespace zoned::idm
