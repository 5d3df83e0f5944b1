// Parsing what CNI plugins print on stdout: results, errors and VERSION answers. The output of
// a plugin is treated as untrusted: sizes and nesting are bounded, every field's type checked.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "zoned/common/result.h"
#include "zoned/netplug/cni_types.h"

namespace zoned::netplug {

// The largest plugin output (result, error, version) accepted.
inline constexpr size_t kMaxPluginOutputBytes = 256 * 1024;

// CNI spec versions whose result format this module reads (0.1.0/0.2.0 results are a
// different, legacy format and are refused).
bool is_supported_cni_version(std::string_view version);
const std::vector<std::string>& supported_cni_versions();

// A result from ADD (or a cached one). InvalidArgument when malformed.
Result<CniResult> parse_cni_result(std::string_view json_text);

// A plugin's error object ({"code":7,"msg":"...","details":"..."}), turned into an Error
// naming the plugin. Falls back to the raw output when it is not an error object.
Error parse_cni_error(std::string_view plugin, std::string_view stdout_text, std::string_view stderr_text,
                      std::string_view status);

// The supportedVersions of a VERSION answer.
Result<std::vector<std::string>> parse_version_answer(std::string_view json_text);

}  // namespace zoned::netplug
