// SilentChannel: a ByteChannel test double holding bytes that were written before anyone
// listened, whose poll fd never fires: like a vchan ring the agent filled before the daemon
// connected (nothing notifies the client about them). Whoever waits before reading hangs.
#pragma once

#include <sys/eventfd.h>

#include <algorithm>
#include <string>

#include "zoned/common/unique_fd.h"
#include "zoned/idm/byte_channel.h"

namespace zoned::idm::testing {

class SilentChannel final : public ByteChannel {
 public:
  explicit SilentChannel(std::string preloaded)
      : pending_(std::move(preloaded)), never_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

  int poll_fd() const override { return never_.get(); }
  Status ack_wakeup() override { return ok_status(); }
  Result<std::size_t> read_some(std::span<char> buf) override {
    const std::size_t n = std::min(buf.size(), pending_.size());
    std::copy_n(pending_.begin(), n, buf.begin());
    pending_.erase(0, n);
    return n;
  }
  Result<std::size_t> write_some(std::span<const char> data) override {
    written_.append(data.data(), data.size());
    return data.size();
  }
  bool is_open() override { return true; }

  const std::string& written() const { return written_; }

 private:
  std::string pending_;
  std::string written_;
  UniqueFd never_;
};

}  // namespace zoned::idm::testing
