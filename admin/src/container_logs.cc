// ContainerLogs: sends a container's log file from an offset, and with `follow` keeps reading
// it like `tail -F` until the container exited and the file is drained. A file truncated in
// place, or replaced by a new one (rotation), is read again from its start.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <thread>

#include "streams.h"
#include "zoned/common/unique_fd.h"

namespace zoned::admin {
namespace {

namespace zr = zone_runtime;

constexpr std::chrono::milliseconds kPollInterval{100};
constexpr size_t kChunkBytes = 64 * 1024;

Result<UniqueFd> open_log(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd.valid()) return sys_error("opening log file " + path);
  return fd;
}

Result<struct stat> stat_fd(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return sys_error("reading log file " + path);
  return st;
}

// The offset of the first whole line at or after `offset`.
Result<uint64_t> line_start_at_or_after(int fd, uint64_t offset, const std::string& path) {
  if (offset == 0) return offset;
  char buffer[4096];
  uint64_t at = offset - 1;  // a line starts at `offset` when the byte before it ends one
  for (;;) {
    ssize_t n = ::pread(fd, buffer, sizeof buffer, static_cast<off_t>(at));
    if (n < 0) return sys_error("reading log file " + path);
    if (n == 0) return at;  // no newline until the end: nothing whole to show yet
    for (ssize_t i = 0; i < n; ++i) {
      if (buffer[i] == '\n') return at + static_cast<uint64_t>(i) + 1;
    }
    at += static_cast<uint64_t>(n);
  }
}

class LogStreamer {
 public:
  LogStreamer(const std::string& path, grpc::ServerWriter<v1::ContainerLogsChunk>& writer)
      : path_(path), writer_(writer) {}

  Status open(uint64_t tail_bytes) {
    auto fd = open_log(path_);
    if (!fd.ok()) return std::move(fd).take_error();
    fd_ = std::move(*fd);
    auto st = stat_fd(fd_.get(), path_);
    if (!st.ok()) return std::move(st).take_error();
    auto size = static_cast<uint64_t>(st->st_size);
    if (tail_bytes == 0 || tail_bytes >= size) return ok_status();
    auto start = line_start_at_or_after(fd_.get(), size - tail_bytes, path_);
    if (!start.ok()) return std::move(start).take_error();
    offset_ = *start;
    return ok_status();
  }

  // Sends everything up to the current end of the file. False: the client is gone.
  Result<bool> drain() {
    std::string buffer(kChunkBytes, '\0');
    for (;;) {
      ssize_t n = ::pread(fd_.get(), buffer.data(), buffer.size(), static_cast<off_t>(offset_));
      if (n < 0) return sys_error("reading log file " + path_);
      if (n == 0) return true;
      v1::ContainerLogsChunk chunk;
      chunk.set_data(buffer.data(), static_cast<size_t>(n));
      chunk.set_offset(offset_);
      if (!writer_.Write(chunk)) return false;
      offset_ += static_cast<uint64_t>(n);
    }
  }

  // Follows a truncation or a rotation by starting over (after draining the old file).
  // False: the client is gone.
  Result<bool> follow_rotation() {
    auto st = stat_fd(fd_.get(), path_);
    if (!st.ok()) return std::move(st).take_error();
    if (static_cast<uint64_t>(st->st_size) < offset_) {
      offset_ = 0;
      return true;
    }
    struct stat now {};
    if (::stat(path_.c_str(), &now) != 0) return true;  // gone for now: keep the old one
    if (now.st_ino == st->st_ino && now.st_dev == st->st_dev) return true;
    auto sent = drain();
    if (!sent.ok() || !*sent) return sent;
    auto fd = open_log(path_);
    if (!fd.ok()) return true;  // raced with the rename: try again next time
    fd_ = std::move(*fd);
    offset_ = 0;
    return true;
  }

 private:
  std::string path_;
  grpc::ServerWriter<v1::ContainerLogsChunk>& writer_;
  UniqueFd fd_;
  uint64_t offset_ = 0;
};

// Whether the container can still write to its log; a removed container cannot.
Result<bool> still_writing(zr::ZoneManager& zones, const std::string& id) {
  auto record = zones.get_container(id);
  if (!record.ok()) {
    if (record.error().code() == ErrorCode::kNotFound) return false;
    return std::move(record).take_error();
  }
  return record->state != zr::ContainerState::kExited;
}

}  // namespace

Status stream_container_logs(zr::ZoneManager& zones, grpc::ServerContext& ctx, const v1::ContainerLogsRequest& request,
                             grpc::ServerWriter<v1::ContainerLogsChunk>& writer) {
  auto record = zones.get_container(request.container());
  if (!record.ok()) return std::move(record).take_error();
  const std::string id = record->id;
  if (record->log_path.empty()) {
    return Error(ErrorCode::kFailedPrecondition, "container " + id + " has no log file");
  }
  LogStreamer streamer(record->log_path, writer);
  // A container that has not started yet may not have its file yet.
  for (;;) {
    auto opened = streamer.open(request.tail_bytes());
    if (opened.ok()) break;
    if (opened.error().code() != ErrorCode::kNotFound || !request.follow()) {
      return std::move(opened).take_error().wrap("container " + id);
    }
    auto writing = still_writing(zones, id);
    if (!writing.ok()) return std::move(writing).take_error();
    if (!*writing) return ok_status();  // exited without ever writing a line
    if (ctx.IsCancelled()) return ok_status();
    std::this_thread::sleep_for(kPollInterval);
  }

  for (;;) {
    // Read the state first: once exited, one more drain gets everything it wrote.
    bool writing = true;
    if (request.follow()) {
      auto state = still_writing(zones, id);
      if (!state.ok()) return std::move(state).take_error();
      writing = *state;
    }
    auto sent = streamer.drain();
    if (!sent.ok()) return std::move(sent).take_error();
    if (!*sent || !request.follow() || !writing || ctx.IsCancelled()) return ok_status();
    std::this_thread::sleep_for(kPollInterval);
    auto followed = streamer.follow_rotation();
    if (!followed.ok()) return std::move(followed).take_error();
    if (!*followed) return ok_status();
  }
}

}  // namespace zoned::admin
