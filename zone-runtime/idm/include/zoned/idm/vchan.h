// libxenvchan as a ByteChannel, both ways (library zoned_idm_vchan; the codec stays Xen-free).
// The zone's agent serves the vchan (it allocates and grants the rings, guest modules
// xen-evtchn and xen-gntalloc); the daemon in dom0 connects to it. Rings are at most
// kVchanMaxRingBytes per direction (libxenvchan's limit; ~1 GB/s measured, see FACTS.md).
// Both ends are non-blocking; poll_fd() is libxenvchan_fd_for_select() and ack_wakeup() is
// libxenvchan_wait(), which blocks unless that fd polled readable.
// libxenvchan's messages go to log.h at debug level.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "zoned/common/result.h"
#include "zoned/idm/byte_channel.h"

struct libxenvchan;

namespace zoned::idm {

inline constexpr std::size_t kVchanMaxRingBytes = 1024 * 1024;

// dom0 side: connects to the vchan that domain `domid` serves at the absolute xenstore path
// `xs_path` ("/local/domain/<domid>/data/zoned/idm"). kUnavailable when there is no server
// there (yet) or Xen cannot be reached.
Result<std::unique_ptr<ByteChannel>> vchan_connect(std::uint32_t domid, const std::string& xs_path);

// Guest side: a vchan server for one client.
class VchanServer final : public ByteChannel {
 public:
  enum class ClientState { kNotYet, kConnected, kGone };

  // Grants rings of `ring_bytes` each way (clamped to 4 KiB..kVchanMaxRingBytes) that domain
  // `peer_domid` (0: dom0) may map, and publishes them under `xs_path`, relative to this
  // domain's xenstore home ("data/zoned/idm"). kUnavailable if Xen cannot be reached.
  static Result<std::unique_ptr<VchanServer>> listen(std::uint32_t peer_domid, const std::string& xs_path,
                                                     std::size_t ring_bytes = kVchanMaxRingBytes);
  ~VchanServer() override;
  VchanServer(const VchanServer&) = delete;
  VchanServer& operator=(const VchanServer&) = delete;

  // Whether the client has connected yet, is connected, or connected and went away (sticky).
  ClientState client_state();
  bool client_connected() { return client_state() == ClientState::kConnected; }

  int poll_fd() const override;
  Status ack_wakeup() override;
  // Before a client connects: reads give 0, writes fill the ring for it to find.
  Result<std::size_t> read_some(std::span<char> buf) override;
  Result<std::size_t> write_some(std::span<const char> data) override;
  // False once a client that had connected went away.
  bool is_open() override;

 private:
  explicit VchanServer(::libxenvchan* ctrl) : ctrl_(ctrl) {}

  ::libxenvchan* ctrl_;
  bool gone_ = false;
};

}  // namespace zoned::idm
