#include "container_log.h"

#include "clock.h"

#include <fcntl.h>
#include <time.h>

#include <cstdio>
#include <ctime>

#include "zoned/common/file_ops.h"

namespace zoned::zone_runtime {

using namespace zoned::fs;  // NOLINT: file helpers

Result<std::unique_ptr<ContainerLog>> ContainerLog::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) return sys_error("opening container log " + path);
  return std::unique_ptr<ContainerLog>(new ContainerLog(path, UniqueFd(fd)));
}

std::string ContainerLog::format_timestamp(int64_t unix_ns) {
  const time_t secs = unix_ns / 1'000'000'000;
  const long nanos = unix_ns % 1'000'000'000;
  struct tm tm_utc {};
  gmtime_r(&secs, &tm_utc);
  char buf[64];
  const size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm_utc);
  char out[96];
  std::snprintf(out, sizeof out, "%.*s.%09ldZ", static_cast<int>(n), buf, nanos);
  return out;
}

Status ContainerLog::emit(int fd, std::string_view text, bool partial) {
  std::string record = format_timestamp(now_unix_ns());
  record += fd == 2 ? " stderr " : " stdout ";
  record += partial ? "P " : "F ";
  record.append(text);
  record += '\n';
  auto written = write_all(fd_.get(), record.data(), record.size());
  if (!written.ok()) return written.error().wrap("writing container log " + path_);
  return ok_status();
}

Status ContainerLog::write_stream(int fd, std::string& pending, std::string_view data) {
  while (!data.empty()) {
    const size_t nl = data.find('\n');
    if (nl == std::string_view::npos) {
      pending.append(data);
      break;
    }
    pending.append(data.substr(0, nl));
    data.remove_prefix(nl + 1);
    // a full line: long ones are split into partial records, the last piece is final
    std::string_view line = pending;
    while (line.size() > kMaxRecordBytes) {
      ZONED_TRY(emit(fd, line.substr(0, kMaxRecordBytes), true));
      line.remove_prefix(kMaxRecordBytes);
    }
    ZONED_TRY(emit(fd, line, false));
    pending.clear();
  }
  while (pending.size() > kMaxRecordBytes) {
    ZONED_TRY(emit(fd, std::string_view(pending).substr(0, kMaxRecordBytes), true));
    pending.erase(0, kMaxRecordBytes);
  }
  return ok_status();
}

Status ContainerLog::write(int fd, std::string_view data) {
  std::lock_guard lock(mu_);
  return write_stream(fd, fd == 2 ? pending_err_ : pending_out_, data);
}

Status ContainerLog::flush() {
  std::lock_guard lock(mu_);
  for (int fd : {1, 2}) {
    std::string& pending = fd == 2 ? pending_err_ : pending_out_;
    if (pending.empty()) continue;
    ZONED_TRY(emit(fd, pending, true));
    pending.clear();
  }
  return ok_status();
}

Status ContainerLog::reopen() {
  std::lock_guard lock(mu_);
  int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) return sys_error("reopening container log " + path_);
  fd_ = UniqueFd(fd);
  return ok_status();
}

}  // namespace zoned::zone_runtime
