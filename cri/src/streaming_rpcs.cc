// Exec, Attach and PortForward: validated here (as kubelet's streaming server and containerd
// do), then handed to the StreamingServer, which returns the single-use URL the client (kubelet
// on behalf of kubectl, or crictl) connects to.
#include "cri_util.h"
#include "pod_store.h"
#include "zoned/cri/rpc.h"
#include "zoned/cri/runtime_service.h"
#include "zoned/streaming/server.h"

namespace zoned::cri {

namespace v1 = runtime::v1;

namespace {

Status check_streams(bool stdin, bool stdout, bool stderr, bool tty) {
  if (tty && stderr) {
    return Error(ErrorCode::kInvalidArgument, "tty and stderr cannot both be true (a tty has one output stream)");
  }
  if (!stdin && !stdout && !stderr) {
    return Error(ErrorCode::kInvalidArgument, "one of stdin, stdout, or stderr must be set");
  }
  return ok_status();
}

}  // namespace

void RuntimeService::set_streaming_server(streaming::StreamingServer* server) {
  streaming_ = server;
}

Result<CriContainerRecord> RuntimeService::running_container(const std::string& id) {
  if (id.empty()) return Error(ErrorCode::kInvalidArgument, "container id is empty");
  auto record = store_->container(id);
  if (!record) return Error(ErrorCode::kNotFound, "container " + id + " not found");
  auto sandbox = store_->sandbox(record->sandbox_id);
  if (!sandbox || !sandbox_ready(*sandbox)) {
    return Error(ErrorCode::kFailedPrecondition, "the pod sandbox of container " + id + " is not ready");
  }
  auto state = zones_.get_container(record->id);
  if (!state.ok()) return state.error().wrap("container " + id);
  if (state->state != zone_runtime::ContainerState::kRunning) {
    return Error(
        ErrorCode::kFailedPrecondition,
        "container " + id + " is not running (" + std::string(zone_runtime::container_state_name(state->state)) + ")");
  }
  return *record;
}

Status RuntimeService::streaming_available() const {
  if (streaming_ == nullptr) return Error(ErrorCode::kUnavailable, "the streaming server is not running");
  return ok_status();
}

grpc::Status RuntimeService::Exec(Ctx*, const v1::ExecRequest* request, v1::ExecResponse* response) {
  return run_rpc("Exec", [&]() -> zoned::Status {
    ZONED_TRY(streaming_available());
    if (request->cmd().empty()) return Error(ErrorCode::kInvalidArgument, "exec: the command is empty");
    ZONED_TRY(check_streams(request->stdin(), request->stdout(), request->stderr(), request->tty()));
    auto record = running_container(request->container_id());
    if (!record.ok()) return record.error();
    zone_runtime::ExecRequest exec;
    exec.container_id = record->id;
    exec.args.assign(request->cmd().begin(), request->cmd().end());
    exec.tty = request->tty();
    exec.stdin = request->stdin();
    streaming::ExecStreams streams;
    streams.stdin = request->stdin();
    streams.stdout = request->stdout();
    streams.stderr = request->stderr();
    streams.tty = request->tty();
    auto url = streaming_->request_exec(exec, streams);
    if (!url.ok()) return url.error();
    response->set_url(*url);
    return ok_status();
  });
}

grpc::Status RuntimeService::Attach(Ctx*, const v1::AttachRequest* request, v1::AttachResponse* response) {
  return run_rpc("Attach", [&]() -> zoned::Status {
    ZONED_TRY(streaming_available());
    ZONED_TRY(check_streams(request->stdin(), request->stdout(), request->stderr(), request->tty()));
    auto record = running_container(request->container_id());
    if (!record.ok()) return record.error();
    // As containerd: the container's own tty decides (kubelet sends the same).
    const bool tty = record->config.tty();
    if (request->stdin() && !record->config.stdin()) {
      return Error(ErrorCode::kInvalidArgument,
                   "container " + request->container_id() + " was created without stdin: cannot attach stdin");
    }
    streaming::AttachRequest attach;
    attach.container_id = record->id;
    attach.stdin = request->stdin();
    attach.tty = tty;
    streaming::ExecStreams streams;
    streams.stdin = request->stdin();
    streams.stdout = request->stdout();
    streams.stderr = request->stderr() && !tty;
    streams.tty = tty;
    auto url = streaming_->request_attach(attach, streams);
    if (!url.ok()) return url.error();
    response->set_url(*url);
    return ok_status();
  });
}

grpc::Status RuntimeService::PortForward(Ctx*, const v1::PortForwardRequest* request,
                                         v1::PortForwardResponse* response) {
  return run_rpc("PortForward", [&]() -> zoned::Status {
    ZONED_TRY(streaming_available());
    if (request->pod_sandbox_id().empty()) return Error(ErrorCode::kInvalidArgument, "pod sandbox id is empty");
    for (int32_t port : request->port()) {
      if (port <= 0 || port > 65535) {
        return Error(ErrorCode::kInvalidArgument, "port " + std::to_string(port) + " is not 1..65535");
      }
    }
    auto sandbox = store_->sandbox(request->pod_sandbox_id());
    if (!sandbox) return Error(ErrorCode::kNotFound, "pod sandbox " + request->pod_sandbox_id() + " not found");
    if (!sandbox_ready(*sandbox)) {
      return Error(ErrorCode::kFailedPrecondition, "pod sandbox " + request->pod_sandbox_id() + " is not ready");
    }
    auto url = streaming_->request_port_forward(sandbox->id);
    if (!url.ok()) return url.error();
    response->set_url(*url);
    return ok_status();
  });
}

}  // namespace zoned::cri
