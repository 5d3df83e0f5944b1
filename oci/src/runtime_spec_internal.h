// The parts of runtime-spec generation, one file each (runtime_spec_*.cc, seccomp_profile.cc).
// Internal to the oci module. Every function checks its input and names the offending field.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "json_fields.h"
#include "zoned/oci/runtime_spec.h"

namespace zoned::oci::spec_internal {

using json_fields::Json;

// "<field>: <message>" as InvalidArgument.
Error invalid(std::string_view field, std::string_view message);
// Quotes a value from the input for an error message, shortened and with control characters escaped.
std::string quote_value(std::string_view value);
// True when `s` contains a NUL byte (strings end there for crun and the kernel).
bool has_nul(std::string_view s);
// An absolute path without NUL, "." or ".." components; `field` names it in errors.
Status check_absolute_path(std::string_view path, std::string_view field);
// filepath.Clean for absolute paths: "//a/./b/" -> "/a/b".
std::string clean_path(std::string_view path);

// --- process (runtime_spec_process.cc) ---

// containerd's WithProcessArgs: CRI command replaces the entrypoint (the image cmd is dropped),
// CRI args replace the cmd; an entrypoint of [""] counts as none.
Result<std::vector<std::string>> resolve_args(const ImageConfig& image, const ContainerSpecInput& input);
// PATH default, TERM=xterm with a tty, HOSTNAME, the image env, then the CRI env; later
// entries replace earlier ones with the same name in place; an image entry without '=' unsets.
Result<std::vector<std::string>> resolve_env(const ImageConfig& image, const ContainerSpecInput& input);
Result<std::string> resolve_cwd(const ImageConfig& image, const ContainerSpecInput& input);

struct ResolvedUser {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> additional_gids;  // sorted, unique
  std::string username;                   // to be resolved by the agent
  std::string groupname;
  bool gid_from_passwd = false;
  bool gid_final = true;  // false while the agent has to resolve the primary group
};
// CRI run_as_* first (username wins over uid; a group needs a user), else the image's "user[:group]".
Result<ResolvedUser> resolve_user(const ImageConfig& image, const ContainerSpecInput& input);
Result<Json> build_rlimits(const std::vector<Rlimit>& rlimits);

// --- capabilities (runtime_spec_capabilities.cc) ---

// The bounding = effective = permitted set: the defaults, "ALL" additions, "ALL" drops, then
// each addition and drop; every capability a privileged container.
Result<std::vector<std::string>> resolve_capabilities(const ContainerSpecInput& input);

// --- mounts and paths (runtime_spec_mounts.cc) ---

Result<Json> build_mounts(const ContainerSpecInput& input);
Result<std::vector<std::string>> resolve_masked_paths(const ContainerSpecInput& input);
Result<std::vector<std::string>> resolve_readonly_paths(const ContainerSpecInput& input);

// --- linux section (runtime_spec_linux.cc) ---

Json build_namespaces(const ContainerSpecInput& input);
Result<Json> build_limits(const ContainerSpecInput::Resources& r);
Result<Json> build_resources(const ContainerSpecInput& input);
Status check_oom_score_adj(int64_t adj);
Status check_cgroups_path(std::string_view path);
Status check_annotations(const std::map<std::string, std::string>& annotations);

// --- seccomp (seccomp_profile.cc) ---

Json default_seccomp_profile(const std::vector<std::string>& bounding_caps);
Result<Json> parse_seccomp_profile(std::string_view json);

}  // namespace zoned::oci::spec_internal
