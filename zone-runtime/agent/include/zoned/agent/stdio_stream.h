// StdioStream: the stdio of one container or exec, identified on the IDM channel by its
// stream id. Output is either two pipes (stdout, stderr) or one pty master (a tty, streamed
// as STDOUT); input is a pipe (or the pty master) when the daemon asked for stdin.
//
// Back-pressure: output is only read when the caller says so (the IDM endpoint has room), so
// while the daemon is slow or absent the pipes fill and the container blocks; nothing is lost.
// Input from the daemon is buffered up to a bound and written as the process reads it.
#pragma once

#include <poll.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "idm.pb.h"
#include "zoned/common/result.h"
#include "zoned/common/unique_fd.h"

namespace zoned::agent {

// The ends a child process gets as its fds 0, 1, 2 (-1 fields: /dev/null).
struct ChildStdio {
  UniqueFd in;
  UniqueFd out;
  UniqueFd err;
};

class StdioStream {
 public:
  // Largest chunk read from one fd at a time (one StreamData).
  static constexpr std::size_t kChunkBytes = 64 * 1024;

  using ChunkSink = std::function<void(const idm::v1::StreamData&)>;

  // Pipes for stdout and stderr (and stdin when `with_stdin`); `child` receives the other ends.
  static Result<std::unique_ptr<StdioStream>> with_pipes(std::uint32_t id, bool with_stdin, std::size_t stdin_limit,
                                                         ChildStdio& child);
  // A tty: the pty master carries output (as STDOUT) and, when `with_stdin`, input.
  static Result<std::unique_ptr<StdioStream>> with_tty(std::uint32_t id, UniqueFd master, bool with_stdin,
                                                       std::size_t stdin_limit);

  std::uint32_t id() const { return id_; }
  bool tty() const { return tty_; }

  // Appends pollfds for this stream: output fds when `want_output`, stdin when it has data.
  // `owners` receives one entry per pollfd added (the fd's role) so on_poll can match them.
  enum class Role { kStdout, kStderr, kStdin };
  void add_poll_fds(bool want_output, std::vector<pollfd>& fds, std::vector<Role>& roles) const;
  // Handles one readiness result. Output: reads one chunk and passes it (or the eof) to `sink`.
  void on_ready(Role role, short revents, const ChunkSink& sink);

  // True once every output fd has reached EOF (and the eof chunk went to the sink).
  bool output_done() const { return !out_.valid() && !err_.valid(); }
  // Closes whatever output is left, sending eof chunks (used when draining times out).
  void close_output(const ChunkSink& sink);

  // Data from the daemon for the process's stdin. Fails (kFailedPrecondition) when the stream
  // has no stdin or it was closed, (kResourceExhausted) when the buffer would pass its bound.
  Status write_stdin(std::string_view data, bool eof);
  // Closes stdin (and drops what is buffered): the process is gone.
  void close_stdin();

  Status resize(std::uint32_t rows, std::uint32_t cols);

 private:
  StdioStream(std::uint32_t id, bool tty, std::size_t stdin_limit) : id_(id), tty_(tty), stdin_limit_(stdin_limit) {}
  void read_output(UniqueFd& fd, idm::v1::StreamFd which, const ChunkSink& sink);
  void flush_stdin();

  std::uint32_t id_;
  bool tty_;
  std::size_t stdin_limit_;
  UniqueFd out_;         // stdout pipe, or the pty master
  UniqueFd err_;         // stderr pipe (none with a tty)
  UniqueFd in_;          // stdin pipe, or a dup of the pty master
  UniqueFd tty_master_;  // kept for resize while output is open
  std::string stdin_buffer_;
  bool stdin_eof_requested_ = false;
};

}  // namespace zoned::agent
