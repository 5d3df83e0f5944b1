// StreamingBackend over ZoneManager: thin adapters between the streaming server's session
// types and ZoneManager's.
#include "zoned/cri/streaming_backend.h"

namespace zoned::cri {

namespace {

class Attached final : public streaming::AttachSession {
 public:
  explicit Attached(std::unique_ptr<zone_runtime::AttachSession> inner) : inner_(std::move(inner)) {}
  Status write_stdin(std::string_view data) override { return inner_->write_stdin(data); }
  Status close_stdin() override { return inner_->close_stdin(); }
  Status resize(uint32_t rows, uint32_t cols) override { return inner_->resize(rows, cols); }
  Result<bool> wait(std::chrono::milliseconds timeout) override { return inner_->wait(timeout); }

 private:
  std::unique_ptr<zone_runtime::AttachSession> inner_;
};

class Connection final : public streaming::PortConnection {
 public:
  explicit Connection(std::unique_ptr<zone_runtime::PortStream> inner) : inner_(std::move(inner)) {}
  Result<size_t> read(char* buf, size_t n) override { return inner_->read(buf, n); }
  Status write(std::string_view data) override { return inner_->write(data); }
  Status close_write() override { return inner_->close_write(); }
  void close() override { inner_->close(); }

 private:
  std::unique_ptr<zone_runtime::PortStream> inner_;
};

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
    auto session = zones_.attach(request.container_id, options, std::move(sink));
    if (!session.ok()) return session.error();
    return std::unique_ptr<streaming::AttachSession>(new Attached(std::move(*session)));
  }

  Result<std::unique_ptr<streaming::PortConnection>> dial(const std::string& pod_sandbox_id, uint16_t port) override {
    auto stream = zones_.dial(pod_sandbox_id, port);
    if (!stream.ok()) return stream.error();
    return std::unique_ptr<streaming::PortConnection>(new Connection(std::move(*stream)));
  }

 private:
  zone_runtime::ZoneManager& zones_;
};

}  // namespace

std::unique_ptr<streaming::StreamingBackend> make_zone_streaming_backend(zone_runtime::ZoneManager& zones) {
  return std::make_unique<ZoneBackend>(zones);
}

}  // namespace zoned::cri
