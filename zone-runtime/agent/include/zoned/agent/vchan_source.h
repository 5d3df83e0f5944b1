// The real ChannelSource in a zone: watches xenstore data/zoned/idm-request (relative to the
// zone's home). Each new value (a generation string from the daemon) closes the previous
// channel, creates a libxenvchan server at data/zoned/idm (1 MiB rings, dom0 as peer) and
// writes the value to data/zoned/idm-ready.
#pragma once

#include <memory>

#include "zoned/agent/channel_source.h"
#include "zoned/common/result.h"

namespace zoned::agent {

Result<std::unique_ptr<ChannelSource>> make_vchan_source();

}  // namespace zoned::agent
