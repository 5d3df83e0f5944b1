// StreamingBackend over ZoneManager: the streaming server's session types are ZoneManager's.
#include "zoned/cri/streaming_backend.h"

namespace zoned::cri {

namespace {

class ZoneBackend final : public streaming::StreamingBackend {
 public:
  explicit ZoneBackend(zone_runtime::ZoneManager& zones) : zones_(zones) {}

  Result<std::unique_ptr<zone_runtime::ExecSession>> exec(const zone_runtime::ExecRequest& request,
                                                          zone_runtime::ExecOutputSink sink) override {
    return zones_.exec(request, std::move(sink));
  }

  Result<std::unique_ptr<streaming::AttachSession>> attach(const streaming::AttachRequest& request,
                                                           zone_runtime::ExecOutputSink sink) override {
    zone_runtime::AttachOptions options;
    options.stdin = request.stdin;
    options.tty = request.tty;
    return zones_.attach(request.container_id, options, std::move(sink));
  }

  Result<std::unique_ptr<streaming::PortConnection>> dial(const std::string& pod_sandbox_id, uint16_t port) override {
    return zones_.dial(pod_sandbox_id, port);
  }

 private:
  zone_runtime::ZoneManager& zones_;
};

}  // namespace

std::unique_ptr<streaming::StreamingBackend> make_zone_streaming_backend(zone_runtime::ZoneManager& zones) {
  return std::make_unique<ZoneBackend>(zones);
}

}  // namespace zoned::cri
