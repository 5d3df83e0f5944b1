// ExecStart: `crun exec --detach` of a process.json built from the container's process, its
// stdio streamed like a container's; ExecExited once its output has drained. Also the tty
// plumbing (console sockets) shared with containers.
#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include "agent_impl.h"
#include "bundle_files.h"
#include "zoned/common/file_ops.h"
#include "zoned/common/fs.h"
#include "zoned/common/log.h"

namespace zoned::agent {

Result<std::string> AgentImpl::listen_console(Tracked& proc) {
  const std::string path = options_.state_dir + "/console-" + std::to_string(++console_counter_) + ".sock";
  auto listener = listen_unix(path);
  if (!listener.ok()) return std::move(listener).take_error();
  proc.console_listener = std::move(*listener);
  proc.console_path = path;
  return path;
}

Status AgentImpl::attach_tty(Tracked& proc, std::uint32_t stream_id, bool want_stdin) {
  auto master = receive_fd(proc.console_listener.get());
  close_console(proc);
  if (!master.ok()) return std::move(master).take_error();
  auto stream = StdioStream::with_tty(stream_id, std::move(*master), want_stdin, options_.stdin_buffer_limit);
  if (!stream.ok()) return std::move(stream).take_error();
  proc.stream = std::move(*stream);
  return ok_status();
}

void AgentImpl::close_console(Tracked& proc) {
  proc.console_listener.reset();
  if (!proc.console_path.empty()) ::unlink(proc.console_path.c_str());
  proc.console_path.clear();
}

void AgentImpl::exec_start(const ReplyTo& to, const idm::v1::ExecStart& request) {
  const std::string& id = request.exec_id();
  if (!is_safe_path_component(id))
    return reply_error(to, Error(ErrorCode::kInvalidArgument, "exec id is not a plain name"));
  Container* c = find_container(request.container_id());
  if (!c) return reply_error(to, Error(ErrorCode::kNotFound, "container " + request.container_id() + " not found"));
  if (c->phase != Phase::kRunning || c->proc.exited) {
    return reply_error(to, Error(ErrorCode::kFailedPrecondition, "container " + c->id + " is not running"));
  }
  if (execs_.count(id) != 0) return reply_error(to, Error(ErrorCode::kAlreadyExists, "exec " + id + " already exists"));
  if (request.stream_id() == 0 || stream_in_use(request.stream_id())) {
    return reply_error(
        to, Error(ErrorCode::kAlreadyExists, "stream " + std::to_string(request.stream_id()) + " is in use"));
  }
  auto process = make_exec_process(c->spec.process_json, request, c->rootfs);
  if (!process.ok()) return reply_error(to, process.error().wrap("exec " + id));

  auto e = std::make_unique<Exec>();
  e->id = id;
  e->container_id = c->id;
  e->stream_id = request.stream_id();
  e->dir = options_.state_dir + "/execs/" + id;
  e->pending = to;
  auto launched = [&]() -> Status {
    ZONED_TRY(fs::make_dirs(e->dir, 0700));
    ZONED_TRY(write_bundle_file(e->dir + "/process.json", *process));
    ChildStdio child;
    std::vector<std::string> command{
        "--log=" + e->dir + "/crun.log", "exec", "--detach", "--pid-file", e->dir + "/pid", "--process",
        e->dir + "/process.json"};
    if (request.tty()) {
      auto socket_path = listen_console(e->proc);
      if (!socket_path.ok()) return std::move(socket_path).take_error();
      command.insert(command.end(), {"--console-socket", *socket_path});
    } else {
      auto stream = StdioStream::with_pipes(e->stream_id, request.stdin(), options_.stdin_buffer_limit, child);
      if (!stream.ok()) return std::move(stream).take_error();
      e->proc.stream = std::move(*stream);
    }
    command.push_back(c->id);
    const bool want_stdin = request.stdin();
    auto pid =
        runner_.start(SpawnRequest{crun_argv(std::move(command)), child.in.get(), child.out.get(), child.err.get()},
                      options_.crun_timeout, e->dir + "/crun.log", [this, id, want_stdin](CommandResult result) {
                        Exec* exec = execs_.count(id) ? execs_[id].get() : nullptr;
                        if (exec && result.ok() && exec->proc.console_listener.valid()) {
                          auto attached = attach_tty(exec->proc, exec->stream_id, want_stdin);
                          if (!attached.ok()) return fail_exec(id, attached.error().wrap("exec " + id));
                        }
                        on_exec_started(id, result);
                      });
    if (!pid.ok()) return std::move(pid).take_error();
    return ok_status();
  }();
  if (!launched.ok()) {
    close_console(e->proc);
    [[maybe_unused]] auto removed = fs::remove_tree(e->dir);
    return reply_error(to, launched.error().wrap("exec " + id));
  }
  execs_[id] = std::move(e);
}

void AgentImpl::on_exec_started(const std::string& id, const CommandResult& result) {
  auto it = execs_.find(id);
  if (it == execs_.end() || it->second->started) return;
  Exec& e = *it->second;
  if (!result.ok()) return fail_exec(id, Error(ErrorCode::kInternal, result.describe("crun exec " + id)));
  auto pid = read_pid_file(e.dir + "/pid");
  if (!pid.ok()) return fail_exec(id, pid.error().wrap("exec " + id));
  e.proc.pid = *pid;
  e.started = true;
  reaper_.watch(*pid, [this, id](ExitStatus status) { on_exec_exit(id, status); });
  log::info("exec started", {{"exec", id}, {"container", e.container_id}, {"pid", *pid}});
  idm::v1::Response response;
  auto* started = response.mutable_exec_started();
  started->set_exec_id(id);
  started->set_pid(static_cast<std::uint32_t>(*pid));
  reply(e.pending, std::move(response));
}

void AgentImpl::fail_exec(const std::string& id, const Error& error) {
  auto it = execs_.find(id);
  if (it == execs_.end()) return;
  const ReplyTo to = it->second->pending;
  close_console(it->second->proc);
  [[maybe_unused]] auto removed = fs::remove_tree(it->second->dir);
  execs_.erase(it);
  reply_error(to, error);
}

void AgentImpl::signal_exec(const ReplyTo& to, const idm::v1::SignalExec& request) {
  auto it = execs_.find(request.exec_id());
  if (it == execs_.end())
    return reply_error(to, Error(ErrorCode::kNotFound, "exec " + request.exec_id() + " not found"));
  Exec& e = *it->second;
  if (!e.started) return reply_error(to, Error(ErrorCode::kFailedPrecondition, "exec " + e.id + " is still starting"));
  if (!e.proc.exited && ::kill(e.proc.pid, static_cast<int>(request.signal())) != 0 && errno != ESRCH) {
    return reply_error(to, sys_error("signalling exec " + e.id));
  }
  reply_ack(to);
}

void AgentImpl::on_exec_exit(const std::string& id, ExitStatus status) {
  auto it = execs_.find(id);
  if (it == execs_.end()) return;
  Exec& e = *it->second;
  e.proc.exited = true;
  e.proc.exit = status;
  e.proc.finished_ns = unix_now_ns();
  e.proc.drain_deadline = Clock::now() + options_.drain_idle;
  if (e.proc.stream) e.proc.stream->close_stdin();
  log::info("exec exited", {{"exec", id}, {"status", status.describe()}});
}

void AgentImpl::finish_execs() {
  for (auto it = execs_.begin(); it != execs_.end();) {
    Exec& e = *it->second;
    if (!e.started || !e.proc.exited || (e.proc.stream && !e.proc.stream->output_done())) {
      ++it;
      continue;
    }
    idm::v1::Event body;
    auto* exited = body.mutable_exec_exited();
    exited->set_exec_id(e.id);
    exited->set_exit_code(e.proc.exit.exit_code);
    exited->set_signal(static_cast<std::uint32_t>(e.proc.exit.signal));
    event(std::move(body));
    [[maybe_unused]] auto removed = fs::remove_tree(e.dir);
    it = execs_.erase(it);
  }
}

}  // namespace zoned::agent
