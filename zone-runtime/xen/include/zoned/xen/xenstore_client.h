// xenstore reads and writes on a connection of our own (not libxl's, which belongs to the
// toolstack thread). libxenstore handles are thread-safe; the connection is opened lazily,
// only through xenstored's socket (never the xenbus device, which blocks forever when no
// xenstored runs), and reopened after it breaks.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "zoned/common/result.h"

struct xs_handle;

namespace zoned::xen {

inline constexpr size_t kMaxXenstorePathLength = 3072;   // XENSTORE_ABS_PATH_MAX
inline constexpr size_t kMaxXenstoreValueLength = 4096;  // XENSTORE_PAYLOAD_MAX

// Absolute ("/...") and bounded, without NUL.
Status validate_xenstore_path(const std::string& path);

class XenstoreClient {
 public:
  explicit XenstoreClient(std::string socket_path = "/run/xenstored/socket");
  ~XenstoreClient();
  XenstoreClient(const XenstoreClient&) = delete;
  XenstoreClient& operator=(const XenstoreClient&) = delete;

  // nullopt when the node does not exist. Values are bounded by xenstored (4 KiB for guests).
  Result<std::optional<std::string>> read(const std::string& path);
  Status write(const std::string& path, const std::string& value);

 private:
  using Handle = std::shared_ptr<xs_handle>;
  // The connection, opened if needed. Shared: a caller still using it when another drops it
  // keeps it alive until done.
  Result<Handle> handle();
  // Forgets the connection after an error that may mean it broke (the next call reconnects).
  void drop(const Handle& broken);

  std::string socket_path_;
  std::mutex mu_;
  Handle xs_;
};

}  // namespace zoned::xen
