#include "zoned/idm/validate.h"

#include <string>
#include <string_view>

namespace zoned::idm {
namespace {

using v1::ContainerExited;
using v1::Event;
using v1::ExecStart;
using v1::Request;
using v1::Response;
using v1::StreamData;

Error invalid(std::string_view field, std::string_view problem) {
  return Error(ErrorCode::kInvalidArgument, "idm message: " + std::string(field) + ": " + std::string(problem));
}

bool is_id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

Status check_id(std::string_view field, std::string_view id, std::size_t max = kMaxIdBytes) {
  if (id.empty()) return invalid(field, "empty");
  if (id.size() > max) return invalid(field, "longer than " + std::to_string(max) + " bytes");
  for (char c : id) {
    if (!is_id_char(c)) return invalid(field, "characters other than [A-Za-z0-9_.-]");
  }
  return ok_status();
}

Status check_printable(std::string_view field, std::string_view text, std::size_t max) {
  if (text.size() > max) return invalid(field, "longer than " + std::to_string(max) + " bytes");
  for (char c : text) {
    if (c < 0x20 || c == 0x7f) return invalid(field, "control characters");
  }
  return ok_status();
}

Status check_signal(std::string_view field, std::uint32_t signal, bool zero_ok) {
  if ((signal == 0 && !zero_ok) || signal > kMaxSignal) return invalid(field, "not a signal number");
  return ok_status();
}

Status check_exit(std::string_view field, std::int32_t exit_code, std::uint32_t signal) {
  if (exit_code < 0 || exit_code > 255) return invalid(std::string(field) + ".exit_code", "outside 0..255");
  return check_signal(std::string(field) + ".signal", signal, true);
}

Status check_capabilities(std::string_view field, const google::protobuf::RepeatedPtrField<std::string>& caps) {
  if (static_cast<std::size_t>(caps.size()) > kMaxCapabilities) return invalid(field, "too many entries");
  for (int i = 0; i < caps.size(); ++i) {
    ZONED_TRY(check_id(std::string(field) + "[" + std::to_string(i) + "]", caps[i]));
  }
  return ok_status();
}

// argv or env entries: bounded, no NUL (they become C strings); env entries need "KEY=".
Status check_strings(std::string_view field, const google::protobuf::RepeatedPtrField<std::string>& items,
                     std::size_t max_items, bool is_env, std::size_t& total) {
  if (static_cast<std::size_t>(items.size()) > max_items) return invalid(field, "too many entries");
  for (int i = 0; i < items.size(); ++i) {
    const std::string& item = items[i];
    const std::string name = std::string(field) + "[" + std::to_string(i) + "]";
    if (item.size() > kMaxArgOrEnvBytes) return invalid(name, "longer than " + std::to_string(kMaxArgOrEnvBytes));
    if (item.find('\0') != std::string::npos) return invalid(name, "contains a NUL byte");
    if (is_env) {
      const auto eq = item.find('=');
      if (eq == 0 || eq == std::string::npos) return invalid(name, "not KEY=value");
    }
    total += item.size();
  }
  if (total > kMaxArgvEnvTotalBytes)
    return invalid(field, "args and env exceed " + std::to_string(kMaxArgvEnvTotalBytes));
  return ok_status();
}

Status check_device(std::string_view field, std::string_view device) {
  if (device.empty() || device.size() > kMaxDeviceBytes) return invalid(field, "empty or too long");
  for (char c : device) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return invalid(field, "characters other than [a-z0-9]");
  }
  return ok_status();
}

Status check_exec_start(const ExecStart& m) {
  ZONED_TRY(check_id("request.exec_start.container_id", m.container_id()));
  ZONED_TRY(check_id("request.exec_start.exec_id", m.exec_id()));
  if (m.stream_id() == 0) return invalid("request.exec_start.stream_id", "zero");
  if (m.args().empty()) return invalid("request.exec_start.args", "empty");
  std::size_t total = 0;
  ZONED_TRY(check_strings("request.exec_start.args", m.args(), kMaxArgs, false, total));
  ZONED_TRY(check_strings("request.exec_start.env", m.env(), kMaxEnv, true, total));
  if (m.cwd().size() > kMaxArgOrEnvBytes || m.cwd().find('\0') != std::string::npos) {
    return invalid("request.exec_start.cwd", "too long or contains a NUL byte");
  }
  return check_printable("request.exec_start.user", m.user(), kMaxIdBytes);
}

Status check_user_name(std::string_view field, std::string_view name) {
  if (name.empty()) return ok_status();
  return check_printable(field, name, kMaxIdBytes);
}

Status check_container_state(std::string_view field, const v1::ContainerState& m) {
  ZONED_TRY(check_id(std::string(field) + ".container_id", m.container_id()));
  if (m.status() == v1::ContainerState::STATUS_UNSPECIFIED || !v1::ContainerState::Status_IsValid(m.status())) {
    return invalid(std::string(field) + ".status", "unknown");
  }
  if (m.status() == v1::ContainerState::STATUS_EXITED) {
    if (m.exit().container_id() != m.container_id())
      return invalid(std::string(field) + ".exit", "for another container");
    return check_exit(std::string(field) + ".exit", m.exit().exit_code(), m.exit().signal());
  }
  return ok_status();
}

Status check_window(std::string_view field, const v1::PortForwardWindow& m) {
  if (m.stream_id() == 0) return invalid(std::string(field) + ".stream_id", "zero");
  if (m.bytes() == 0 || m.bytes() > kMaxPortForwardWindow) {
    return invalid(std::string(field) + ".bytes", "not 1.." + std::to_string(kMaxPortForwardWindow));
  }
  return ok_status();
}

Status check_request(const Request& r) {
  switch (r.kind_case()) {
    case Request::kHello:
      ZONED_TRY(check_printable("request.hello.agent_version", r.hello().agent_version(), kMaxVersionBytes));
      return check_capabilities("request.hello.capabilities", r.hello().capabilities());
    case Request::kPing: return ok_status();
    case Request::kCreateContainer: {
      const auto& m = r.create_container();
      ZONED_TRY(check_id("request.create_container.container_id", m.container_id()));
      if (m.oci_config_json().empty() || m.oci_config_json().size() > kMaxOciConfigBytes) {
        return invalid("request.create_container.oci_config_json", "empty or too long");
      }
      if (m.stream_id() == 0) return invalid("request.create_container.stream_id", "zero");
      ZONED_TRY(check_user_name("request.create_container.username", m.username()));
      ZONED_TRY(check_user_name("request.create_container.groupname", m.groupname()));
      return check_device("request.create_container.rootfs_device", m.rootfs_device());
    }
    case Request::kDeleteContainer:
      return check_id("request.delete_container.container_id", r.delete_container().container_id());
    case Request::kListContainers: return ok_status();
    case Request::kUpdateContainer: {
      ZONED_TRY(check_id("request.update_container.container_id", r.update_container().container_id()));
      const auto size = r.update_container().resources_json().size();
      if (size == 0 || size > kMaxResourcesBytes)
        return invalid("request.update_container.resources_json", "empty or too long");
      return ok_status();
    }
    case Request::kSignalExec:
      ZONED_TRY(check_id("request.signal_exec.exec_id", r.signal_exec().exec_id()));
      return check_signal("request.signal_exec.signal", r.signal_exec().signal(), false);
    case Request::kResizeTty:
      if (r.resize_tty().stream_id() == 0) return invalid("request.resize_tty.stream_id", "zero");
      if (r.resize_tty().rows() > 0xffff || r.resize_tty().cols() > 0xffff) {
        return invalid("request.resize_tty", "rows or cols above 65535");
      }
      return ok_status();
    case Request::kStartContainer:
      return check_id("request.start_container.container_id", r.start_container().container_id());
    case Request::kSignalContainer:
      ZONED_TRY(check_id("request.signal_container.container_id", r.signal_container().container_id()));
      return check_signal("request.signal_container.signal", r.signal_container().signal(), false);
    case Request::kWaitContainer:
      return check_id("request.wait_container.container_id", r.wait_container().container_id());
    case Request::kExecStart: return check_exec_start(r.exec_start());
    case Request::kStats: return ok_status();
    case Request::kShutdown: return ok_status();
    case Request::kPortForwardOpen: {
      const auto& m = r.port_forward_open();
      if (m.stream_id() == 0) return invalid("request.port_forward_open.stream_id", "zero");
      if (m.port() == 0 || m.port() > 65535) return invalid("request.port_forward_open.port", "not 1..65535");
      if (m.window() == 0 || m.window() > kMaxPortForwardWindow) {
        return invalid("request.port_forward_open.window", "not 1.." + std::to_string(kMaxPortForwardWindow));
      }
      return ok_status();
    }
    case Request::kPortForwardClose:
      if (r.port_forward_close().stream_id() == 0) return invalid("request.port_forward_close.stream_id", "zero");
      return ok_status();
    case Request::kPortForwardWindow: return check_window("request.port_forward_window", r.port_forward_window());
    case Request::kConfigureNetwork: {
      const auto size = r.configure_network().config_json().size();
      if (size == 0 || size > kMaxNetworkConfigBytes) {
        return invalid("request.configure_network.config_json", "empty or too long");
      }
      return ok_status();
    }
    case Request::KIND_NOT_SET: break;
  }
  return invalid("request", "no kind set");
}

Status check_container_exited(std::string_view field, const ContainerExited& m) {
  ZONED_TRY(check_id(std::string(field) + ".container_id", m.container_id()));
  return check_exit(field, m.exit_code(), m.signal());
}

Status check_response(const Response& r) {
  switch (r.kind_case()) {
    case Response::kError:
      if (r.error().code() == v1::Error::CODE_UNSPECIFIED || !v1::Error::Code_IsValid(r.error().code())) {
        return invalid("response.error.code", "unknown");
      }
      return check_printable("response.error.message", r.error().message(), kMaxErrorMessageBytes);
    case Response::kAck: return ok_status();
    case Response::kHello: return check_capabilities("response.hello.capabilities", r.hello().capabilities());
    case Response::kPong: return ok_status();
    case Response::kContainerExited: return check_container_exited("response.container_exited", r.container_exited());
    case Response::kContainerList: {
      const auto& entries = r.container_list().containers();
      if (static_cast<std::size_t>(entries.size()) > kMaxStatsEntries) {
        return invalid("response.container_list.containers", "too many entries");
      }
      for (int i = 0; i < entries.size(); ++i) {
        ZONED_TRY(check_container_state("response.container_list.containers[" + std::to_string(i) + "]", entries[i]));
      }
      return ok_status();
    }
    case Response::kExecStarted: return check_id("response.exec_started.exec_id", r.exec_started().exec_id());
    case Response::kStats: {
      const auto& entries = r.stats().containers();
      if (static_cast<std::size_t>(entries.size()) > kMaxStatsEntries) {
        return invalid("response.stats.containers", "too many entries");
      }
      for (int i = 0; i < entries.size(); ++i) {
        ZONED_TRY(
            check_id("response.stats.containers[" + std::to_string(i) + "].container_id", entries[i].container_id()));
      }
      return ok_status();
    }
    case Response::KIND_NOT_SET: break;
  }
  return invalid("response", "no kind set");
}

Status check_event(const Event& e) {
  switch (e.kind_case()) {
    case Event::kContainerExited: return check_container_exited("event.container_exited", e.container_exited());
    case Event::kExecExited:
      ZONED_TRY(check_id("event.exec_exited.exec_id", e.exec_exited().exec_id()));
      return check_exit("event.exec_exited", e.exec_exited().exit_code(), e.exec_exited().signal());
    case Event::kContainerStarted:
      return check_id("event.container_started.container_id", e.container_started().container_id());
    case Event::kPortForwardWindow: return check_window("event.port_forward_window", e.port_forward_window());
    case Event::kPortForwardClosed:
      if (e.port_forward_closed().stream_id() == 0) return invalid("event.port_forward_closed.stream_id", "zero");
      return check_printable("event.port_forward_closed.message", e.port_forward_closed().message(),
                             kMaxErrorMessageBytes);
    case Event::KIND_NOT_SET: break;
  }
  return invalid("event", "no kind set");
}

Status check_stream(const StreamData& s) {
  if (s.stream_id() == 0) return invalid("stream.stream_id", "zero");
  if (s.fd() == v1::STREAM_FD_UNSPECIFIED || !v1::StreamFd_IsValid(s.fd())) return invalid("stream.fd", "unknown");
  if (s.data().size() > kMaxStreamChunkBytes) {
    return invalid("stream.data", "longer than " + std::to_string(kMaxStreamChunkBytes) + " bytes");
  }
  return ok_status();
}

}  // namespace

Status validate(const Envelope& envelope) {
  switch (envelope.body_case()) {
    case Envelope::kRequest:
      if (envelope.id() == 0) return invalid("id", "zero on a request");
      return check_request(envelope.request());
    case Envelope::kResponse:
      if (envelope.id() == 0) return invalid("id", "zero on a response");
      return check_response(envelope.response());
    case Envelope::kEvent: return check_event(envelope.event());
    case Envelope::kStream: return check_stream(envelope.stream());
    case Envelope::BODY_NOT_SET: break;
  }
  return invalid("body", "not set");
}

}  // namespace zoned::idm
