// zonectl exec: a process in a running container, its stdio on the Exec stream.
//
// Threads: main reads the server's messages and writes the output; a StdinPump (with -i)
// forwards stdin; the signal thread sends resizes (SIGWINCH, with -t) and cancels the call on
// Ctrl-C when the terminal is not raw (the daemon then kills the process). Writes to the stream
// are serialised by StreamWriter. With -t -i on a terminal, the terminal is raw, so Ctrl-C
// reaches the process as a byte.
#include <unistd.h>

#include <mutex>

#include "command.h"
#include "terminal.h"

namespace zoned::zonectl {
namespace {

constexpr int kExitInterrupted = 130;
using Stream = grpc::ClientReaderWriter<v1::ExecClientMessage, v1::ExecServerMessage>;

class StreamWriter {
 public:
  explicit StreamWriter(Stream& stream) : stream_(stream) {}

  bool write(const v1::ExecClientMessage& message) {
    std::lock_guard lock(mutex_);
    return !closed_ && stream_.Write(message);
  }
  void close() {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    closed_ = true;
    stream_.WritesDone();
  }

 private:
  Stream& stream_;
  std::mutex mutex_;
  bool closed_ = false;
};

v1::ExecClientMessage start_message(const ParsedArgs& args, bool tty, bool interactive) {
  v1::ExecClientMessage message;
  auto* start = message.mutable_start();
  start->set_container(args.positional[0]);
  for (size_t i = 1; i < args.positional.size(); ++i) start->add_args(args.positional[i]);
  for (const auto& env : args.all("env")) start->add_env(env);
  start->set_user(args.value("user").value_or(""));
  start->set_working_dir(args.value("workdir").value_or(""));
  start->set_tty(tty);
  start->set_stdin(interactive);
  if (tty) {
    auto size = window_size(STDIN_FILENO);
    if (!size) size = window_size(STDOUT_FILENO);
    if (size) {
      start->set_rows(size->rows);
      start->set_cols(size->cols);
    }
  }
  return message;
}

void send_resize(StreamWriter& writer) {
  auto size = window_size(STDIN_FILENO);
  if (!size) size = window_size(STDOUT_FILENO);
  if (!size) return;
  v1::ExecClientMessage message;
  message.mutable_resize()->set_rows(size->rows);
  message.mutable_resize()->set_cols(size->cols);
  writer.write(message);
}

struct Outcome {
  std::optional<v1::ExecExit> exit;
  std::string stdout_text, stderr_text;  // with --json
};

int run_exec(Context& ctx, const ParsedArgs& args) {
  bool tty = args.flag("tty");
  bool interactive = args.flag("interactive");
  if (ctx.json && tty) return ctx.usage("exec", "--json cannot be used with --tty");
  for (const auto& env : args.all("env")) {
    if (env.find('=') == std::string::npos || env[0] == '=') {
      return ctx.usage("exec", "--env needs KEY=VALUE, got '" + env + "'");
    }
  }

  grpc::ClientContext cc;
  auto stream = ctx.client.stub().Exec(&cc);
  StreamWriter writer(*stream);
  bool interrupted = false;
  std::mutex interrupted_mutex;
  SignalScope scope(
      [&](int) {
        std::lock_guard lock(interrupted_mutex);
        interrupted = true;
        cc.TryCancel();
      },
      [&] {
        if (tty) send_resize(writer);
      });

  Outcome outcome;
  {
    std::optional<RawMode> raw;
    if (tty && interactive) raw.emplace(STDIN_FILENO);
    std::optional<StdinPump> pump;
    if (writer.write(start_message(args, tty, interactive)) && interactive) {
      pump.emplace(
          [&writer](std::string_view data) {
            v1::ExecClientMessage message;
            message.set_stdin(std::string(data));
            writer.write(message);
          },
          [&writer] {
            v1::ExecClientMessage message;
            message.set_close_stdin(true);
            writer.write(message);
          });
    }
    v1::ExecServerMessage message;
    while (stream->Read(&message)) {
      if (message.has_output()) {
        int fd = message.output().fd() == 2 ? 2 : 1;
        if (ctx.json) {
          (fd == 2 ? outcome.stderr_text : outcome.stdout_text) += message.output().data();
        } else {
          write_all(fd, message.output().data());
        }
      } else if (message.has_exit()) {
        outcome.exit = message.exit();
        // Done: stop forwarding and close our side, so the daemon can end the call.
        if (pump) pump->stop();
        writer.close();
      }
    }
    if (pump) pump->stop();
    writer.close();
  }
  auto status = stream->Finish();
  {
    std::lock_guard lock(interrupted_mutex);
    if (interrupted) return kExitInterrupted;
  }
  if (!outcome.exit)
    return ctx.fail(status.ok() ? grpc::Status(grpc::StatusCode::INTERNAL, "the exec ended without an exit status")
                                : status);
  if (ctx.json) {
    ctx.print_json({{"exit_code", outcome.exit->exit_code()},
                    {"signal", outcome.exit->signal()},
                    {"stdout", outcome.stdout_text},
                    {"stderr", outcome.stderr_text}});
  }
  return exit_status(outcome.exit->exit_code());
}

}  // namespace

Command exec_command() {
  return {{"exec",
           "[OPTIONS] CONTAINER COMMAND [ARG...]",
           "Run a command in a running container and exit with its exit code.",
           "Options must come before CONTAINER. With -t -i on a terminal, the terminal is put in raw mode and\n"
           "window size changes are sent along. Ctrl-C otherwise ends zonectl and the daemon kills the process.\n"
           "With --json the output is collected and printed at the end as {exit_code, signal, stdout, stderr}.",
           {{"tty", 't', "", "Give the process a terminal"},
            {"interactive", 'i', "", "Forward stdin (end of input closes the process's stdin)"},
            {"env", 'e', "KEY=VALUE", "Set an environment variable (repeatable)", true},
            {"user", 'u', "USER", "Run as this user"},
            {"workdir", 'w', "DIR", "Working directory"}},
           2,
           std::numeric_limits<size_t>::max(),
           false},
          run_exec};
}

}  // namespace zoned::zonectl
