#include "zoned/agent/stdio_stream.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>

namespace zoned::agent {

namespace {

using idm::v1::StreamData;
using idm::v1::StreamFd;

struct PipePair {
  UniqueFd read;
  UniqueFd write;
};

Result<PipePair> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return sys_error("creating a stdio pipe");
  return PipePair{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

Status set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) return sys_error("making a stdio fd non-blocking");
  return ok_status();
}

}  // namespace

Result<std::unique_ptr<StdioStream>> StdioStream::with_pipes(std::uint32_t id, bool with_stdin, std::size_t stdin_limit,
                                                             ChildStdio& child) {
  std::unique_ptr<StdioStream> stream(new StdioStream(id, false, stdin_limit));
  auto out = make_pipe();
  if (!out.ok()) return std::move(out).take_error();
  auto err = make_pipe();
  if (!err.ok()) return std::move(err).take_error();
  ZONED_TRY(set_nonblocking(out->read.get()));
  ZONED_TRY(set_nonblocking(err->read.get()));
  stream->out_ = std::move(out->read);
  stream->err_ = std::move(err->read);
  child.out = std::move(out->write);
  child.err = std::move(err->write);
  if (with_stdin) {
    auto in = make_pipe();
    if (!in.ok()) return std::move(in).take_error();
    ZONED_TRY(set_nonblocking(in->write.get()));
    stream->in_ = std::move(in->write);
    child.in = std::move(in->read);
  }
  return stream;
}

Result<std::unique_ptr<StdioStream>> StdioStream::with_tty(std::uint32_t id, UniqueFd master, bool with_stdin,
                                                           std::size_t stdin_limit) {
  std::unique_ptr<StdioStream> stream(new StdioStream(id, true, stdin_limit));
  ZONED_TRY(set_nonblocking(master.get()));
  if (with_stdin) {
    UniqueFd in(::fcntl(master.get(), F_DUPFD_CLOEXEC, 3));
    if (!in.valid()) return sys_error("duplicating the pty master");
    stream->in_ = std::move(in);
  }
  UniqueFd resize(::fcntl(master.get(), F_DUPFD_CLOEXEC, 3));
  if (!resize.valid()) return sys_error("duplicating the pty master");
  stream->tty_master_ = std::move(resize);
  stream->out_ = std::move(master);
  return stream;
}

void StdioStream::add_poll_fds(bool want_output, std::vector<pollfd>& fds, std::vector<Role>& roles) const {
  if (want_output && out_.valid()) {
    fds.push_back({out_.get(), POLLIN, 0});
    roles.push_back(Role::kStdout);
  }
  if (want_output && err_.valid()) {
    fds.push_back({err_.get(), POLLIN, 0});
    roles.push_back(Role::kStderr);
  }
  if (in_.valid() && !stdin_buffer_.empty()) {
    fds.push_back({in_.get(), POLLOUT, 0});
    roles.push_back(Role::kStdin);
  }
}

void StdioStream::on_ready(Role role, short revents, const ChunkSink& sink) {
  if (revents == 0) return;
  switch (role) {
    case Role::kStdout: read_output(out_, idm::v1::STREAM_FD_STDOUT, sink); break;
    case Role::kStderr: read_output(err_, idm::v1::STREAM_FD_STDERR, sink); break;
    case Role::kStdin: flush_stdin(); break;
  }
}

void StdioStream::read_output(UniqueFd& fd, StreamFd which, const ChunkSink& sink) {
  if (!fd.valid()) return;
  std::string buf(kChunkBytes, '\0');
  const ssize_t n = ::read(fd.get(), buf.data(), buf.size());
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  StreamData chunk;
  chunk.set_stream_id(id_);
  chunk.set_fd(which);
  if (n > 0) {
    buf.resize(static_cast<std::size_t>(n));
    chunk.set_data(std::move(buf));
  } else {
    // 0: every writer closed the pipe. EIO: the pty's last slave fd closed. Other errors end
    // the stream the same way.
    chunk.set_eof(true);
    fd.reset();
    if (tty_ && which == idm::v1::STREAM_FD_STDOUT) tty_master_.reset();
  }
  sink(chunk);
}

void StdioStream::close_output(const ChunkSink& sink) {
  for (auto* fd : {&out_, &err_}) {
    if (!fd->valid()) continue;
    StreamData chunk;
    chunk.set_stream_id(id_);
    chunk.set_fd(fd == &out_ ? idm::v1::STREAM_FD_STDOUT : idm::v1::STREAM_FD_STDERR);
    chunk.set_eof(true);
    fd->reset();
    sink(chunk);
  }
  tty_master_.reset();
}

Status StdioStream::write_stdin(std::string_view data, bool eof) {
  if (!in_.valid() || stdin_eof_requested_) {
    return Error(ErrorCode::kFailedPrecondition, "stream " + std::to_string(id_) + " has no open stdin");
  }
  if (stdin_buffer_.size() + data.size() > stdin_limit_) {
    return Error(ErrorCode::kResourceExhausted,
                 "stream " + std::to_string(id_) + ": stdin buffer full (the process is not reading)");
  }
  stdin_buffer_.append(data);
  stdin_eof_requested_ = eof;
  flush_stdin();
  return ok_status();
}

void StdioStream::flush_stdin() {
  while (in_.valid() && !stdin_buffer_.empty()) {
    const ssize_t n = ::write(in_.get(), stdin_buffer_.data(), stdin_buffer_.size());
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      close_stdin();  // EPIPE: the reader is gone
      return;
    }
    stdin_buffer_.erase(0, static_cast<std::size_t>(n));
  }
  if (stdin_eof_requested_ && stdin_buffer_.empty() && in_.valid()) {
    if (tty_) {
      // A tty has no half-close: send the terminal's EOF character (^D) instead.
      const char eot = 4;
      [[maybe_unused]] const ssize_t n = ::write(in_.get(), &eot, 1);
    }
    in_.reset();
  }
}

void StdioStream::close_stdin() {
  in_.reset();
  stdin_buffer_.clear();
}

Status StdioStream::resize(std::uint32_t rows, std::uint32_t cols) {
  if (!tty_) return Error(ErrorCode::kFailedPrecondition, "stream " + std::to_string(id_) + " has no tty");
  if (!tty_master_.valid())
    return Error(ErrorCode::kFailedPrecondition, "the tty of stream " + std::to_string(id_) + " is closed");
  winsize size{};
  size.ws_row = static_cast<unsigned short>(rows > 0xffff ? 0xffff : rows);
  size.ws_col = static_cast<unsigned short>(cols > 0xffff ? 0xffff : cols);
  if (::ioctl(tty_master_.get(), TIOCSWINSZ, &size) != 0)
    return sys_error("resizing the tty of stream " + std::to_string(id_));
  return ok_status();
}

}  // namespace zoned::agent
