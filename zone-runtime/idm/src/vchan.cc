#include "zoned/idm/vchan.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdarg>
#include <cstdio>

extern "C" {
#include <libxenvchan.h>
#include <xentoollog.h>
}

#include "zoned/common/log.h"

namespace zoned::idm {
namespace {

constexpr std::size_t kMinRingBytes = 4096;

// --- libxenvchan's logger, forwarding to log.h at debug level ---

const char* level_name(xentoollog_level level) {
  switch (level) {
    case XTL_DEBUG:
    case XTL_VERBOSE:
    case XTL_DETAIL: return "debug";
    case XTL_PROGRESS:
    case XTL_INFO:
    case XTL_NOTICE: return "info";
    case XTL_WARN: return "warn";
    case XTL_ERROR:
    case XTL_CRITICAL: return "error";
    case XTL_NONE:
    case XTL_NUM_LEVELS: break;
  }
  return "unknown";
}

__attribute__((format(printf, 5, 0))) void forward_message(xentoollog_logger*, xentoollog_level level, int errnoval,
                                                           const char* context, const char* format, va_list args) {
  if (!log::enabled(log::Level::kDebug)) return;
  char text[1024];
  std::vsnprintf(text, sizeof text, format, args);
  log::debug("libxenvchan", {{"message", text},
                             {"xen_level", level_name(level)},
                             {"context", context != nullptr ? context : ""},
                             {"errno", errnoval}});
}

void forward_destroy(xentoollog_logger*) {}

// Stateless and never destroyed: the handles libxenvchan opens keep a pointer to it.
xentoollog_logger forwarding_logger = {forward_message, nullptr, forward_destroy};

// --- I/O shared by both ends ---

Error unavailable(std::string message, int sys_errno = 0) {
  return Error(ErrorCode::kUnavailable, "vchan: " + std::move(message), sys_errno);
}

Result<std::size_t> vchan_read(::libxenvchan* ctrl, std::span<char> buf) {
  if (buf.empty()) return std::size_t{0};
  const std::size_t size = std::min<std::size_t>(buf.size(), INT_MAX);
  const int n = libxenvchan_read(ctrl, buf.data(), size);
  if (n >= 0) return static_cast<std::size_t>(n);
  // -1 with nothing left to read: the peer closed (or a notification failed).
  if (libxenvchan_is_open(ctrl) == 0) return unavailable("the peer closed the connection");
  return sys_error("vchan: read");
}

Result<std::size_t> vchan_write(::libxenvchan* ctrl, std::span<const char> data) {
  if (data.empty()) return std::size_t{0};
  const std::size_t size = std::min<std::size_t>(data.size(), INT_MAX);
  const int n = libxenvchan_write(ctrl, data.data(), size);
  if (n >= 0) return static_cast<std::size_t>(n);
  if (libxenvchan_is_open(ctrl) == 0) return unavailable("the peer closed the connection");
  return sys_error("vchan: write");
}

Status vchan_ack(::libxenvchan* ctrl) {
  if (libxenvchan_wait(ctrl) != 0) return sys_error("vchan: consuming the event channel notification");
  return ok_status();
}

struct VchanCloser {
  void operator()(::libxenvchan* ctrl) const { libxenvchan_close(ctrl); }
};
using VchanPtr = std::unique_ptr<::libxenvchan, VchanCloser>;

// The dom0 end.
class VchanClient final : public ByteChannel {
 public:
  explicit VchanClient(VchanPtr ctrl) : ctrl_(std::move(ctrl)) {}

  int poll_fd() const override { return libxenvchan_fd_for_select(ctrl_.get()); }
  Status ack_wakeup() override { return vchan_ack(ctrl_.get()); }
  Result<std::size_t> read_some(std::span<char> buf) override { return vchan_read(ctrl_.get(), buf); }
  Result<std::size_t> write_some(std::span<const char> data) override { return vchan_write(ctrl_.get(), data); }
  bool is_open() override { return libxenvchan_is_open(ctrl_.get()) != 0; }

 private:
  VchanPtr ctrl_;
};

}  // namespace

Result<std::unique_ptr<ByteChannel>> vchan_connect(std::uint32_t domid, const std::string& xs_path) {
  errno = 0;
  VchanPtr ctrl(libxenvchan_client_init(&forwarding_logger, static_cast<int>(domid), xs_path.c_str()));
  if (!ctrl) {
    return unavailable("connecting to domain " + std::to_string(domid) + " at " + xs_path +
                           " (no server there yet, or Xen unreachable)",
                       errno);
  }
  ctrl->blocking = 0;
  return std::unique_ptr<ByteChannel>(std::make_unique<VchanClient>(std::move(ctrl)));
}

Result<std::unique_ptr<VchanServer>> VchanServer::listen(std::uint32_t peer_domid, const std::string& xs_path,
                                                         std::size_t ring_bytes) {
  const std::size_t ring = std::clamp(ring_bytes, kMinRingBytes, kVchanMaxRingBytes);
  errno = 0;
  ::libxenvchan* ctrl =
      libxenvchan_server_init(&forwarding_logger, static_cast<int>(peer_domid), xs_path.c_str(), ring, ring);
  if (ctrl == nullptr) {
    return unavailable("serving domain " + std::to_string(peer_domid) + " at " + xs_path, errno);
  }
  ctrl->blocking = 0;
  return std::unique_ptr<VchanServer>(new VchanServer(ctrl));
}

VchanServer::~VchanServer() {
  libxenvchan_close(ctrl_);
}

VchanServer::ClientState VchanServer::client_state() {
  if (gone_) return ClientState::kGone;
  // cli_live in the shared page: 2 before the client maps it, 1 while connected, 0 after.
  switch (libxenvchan_is_open(ctrl_)) {
    case 2: return ClientState::kNotYet;
    case 1: return ClientState::kConnected;
    default: gone_ = true; return ClientState::kGone;
  }
}

int VchanServer::poll_fd() const {
  return libxenvchan_fd_for_select(ctrl_);
}

Status VchanServer::ack_wakeup() {
  return vchan_ack(ctrl_);
}

Result<std::size_t> VchanServer::read_some(std::span<char> buf) {
  return vchan_read(ctrl_, buf);
}

Result<std::size_t> VchanServer::write_some(std::span<const char> data) {
  if (client_state() == ClientState::kGone) return unavailable("the client went away");
  return vchan_write(ctrl_, data);
}

bool VchanServer::is_open() {
  return client_state() != ClientState::kGone;
}

}  // namespace zoned::idm
