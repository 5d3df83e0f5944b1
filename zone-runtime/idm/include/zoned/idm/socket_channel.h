// A ByteChannel over a connected unix stream socket: the transport of tests and fakes (the real
// one is a vchan, vchan.h). It keeps the ByteChannel contract exactly, including "poll_fd()
// becomes readable when write space was freed", which a bare socket only signals as POLLOUT:
// poll_fd() is an epoll descriptor that watches the socket for input and hang-up always, and
// for write space only after a write came up short (until ack_wakeup() sees the space).
#pragma once

#include <memory>
#include <utility>

#include "zoned/common/result.h"
#include "zoned/common/unique_fd.h"
#include "zoned/idm/byte_channel.h"

namespace zoned::idm {

// Wraps a connected SOCK_STREAM socket (made non-blocking here). kInvalidArgument if `socket`
// is not a stream socket.
Result<std::unique_ptr<ByteChannel>> socket_channel(UniqueFd socket);

// Two channels connected to each other (a socketpair).
Result<std::pair<std::unique_ptr<ByteChannel>, std::unique_ptr<ByteChannel>>> socket_channel_pair();

}  // namespace zoned::idm
