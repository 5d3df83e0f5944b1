// Translation between zoned.admin.v1 messages and the ZoneManager's records and specs. Input
// from the client is validated here (InvalidArgument naming the field); records are copied out
// whole.
#pragma once

#include <string>
#include <string_view>

#include "admin.pb.h"
#include "zoned/common/result.h"
#include "zoned/zone_runtime/zone_manager.h"

namespace zoned::admin {

// Bounds on what a client may ask for.
inline constexpr int64_t kMaxGraceSeconds = 24 * 3600;
inline constexpr size_t kMaxConsoleBytes = 4 * 1024 * 1024;
inline constexpr size_t kDefaultExecOutputBytes = 1024 * 1024;
inline constexpr size_t kMaxExecOutputBytes = 4 * 1024 * 1024;
inline constexpr int64_t kDefaultExecTimeoutMs = 60 * 1000;

std::string_view domain_type_name(zone_runtime::DomainType type);  // "pv", "pvh"

void to_proto(const zone_runtime::ZoneRecord& record, v1::Zone* out);
void to_proto(const zone_runtime::ContainerRecord& record, v1::Container* out);
void to_proto(const zone_runtime::ContainerSpec& spec, v1::ContainerSpec* out);
void to_proto(const zone_runtime::ZoneStats& stats, const std::string& zone_id, v1::ZoneStatsResponse* out);

Result<zone_runtime::ZoneSpec> from_proto(const v1::ZoneSpec& spec);
Result<zone_runtime::ContainerSpec> from_proto(const v1::ContainerSpec& spec);
Result<zone_runtime::ExecRequest> from_proto(const v1::ExecStart& start);
Result<zone_runtime::ExecRequest> from_proto(const v1::ExecSyncRequest& request);

// "uid", "uid:gid", "name" or "name:gid" into the spec's run_as_* fields.
Status parse_user(std::string_view user, oci::ContainerSpecInput& out);
// The reverse, for records: "" when the image's user is kept.
std::string format_user(const oci::ContainerSpecInput& spec);

// A grace period from the wire: 0..kMaxGraceSeconds.
Result<std::chrono::seconds> grace_from_proto(int64_t grace_seconds, std::string_view field);

}  // namespace zoned::admin
