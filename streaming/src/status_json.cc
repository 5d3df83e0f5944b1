#include "status_json.h"

#include <charconv>
#include <nlohmann/json.hpp>

namespace zoned::streaming {

std::string success_status_json() {
  return R"({"metadata":{},"status":"Success"})";
}

std::string exit_code_status_json(int32_t exit_code) {
  // kubelet: "command terminated with non-zero exit code: <exec error>", whose text for a
  // CRI exec is "error executing command [...], exit code N"; the cause carries the number.
  nlohmann::ordered_json status;
  status["metadata"] = nlohmann::json::object();
  status["status"] = "Failure";
  status["message"] = "command terminated with non-zero exit code: exit status " + std::to_string(exit_code);
  status["reason"] = "NonZeroExitCode";
  status["details"]["causes"] =
      nlohmann::json::array({{{"reason", "ExitCode"}, {"message", std::to_string(exit_code)}}});
  return status.dump();
}

std::string failure_status_json(std::string_view message) {
  nlohmann::ordered_json status;
  status["metadata"] = nlohmann::json::object();
  status["status"] = "Failure";
  status["message"] = std::string(message);
  status["reason"] = "InternalError";
  status["code"] = 500;
  return status.dump();
}

Result<CommandOutcome> parse_status_json(std::string_view json) {
  auto doc = nlohmann::json::parse(json, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return Error(ErrorCode::kInvalidArgument, "error stream: not a JSON Status");
  CommandOutcome out;
  const std::string status = doc.value("status", "");
  if (status == "Success") return out;
  if (status != "Failure") return Error(ErrorCode::kInvalidArgument, "error stream: unknown status '" + status + "'");
  out.failed = true;
  out.message = doc.value("message", "");
  if (doc.value("reason", "") == "NonZeroExitCode" && doc.contains("details") && doc["details"].is_object()) {
    const auto& causes = doc["details"].value("causes", nlohmann::json::array());
    for (const auto& cause : causes) {
      if (!cause.is_object() || cause.value("reason", "") != "ExitCode") continue;
      const std::string text = cause.value("message", "");
      int32_t code = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), code);
      if (ec == std::errc() && end == text.data() + text.size()) {
        out.exit_code = code;
        out.failed = false;
        return out;
      }
    }
  }
  return out;
}

}  // namespace zoned::streaming
