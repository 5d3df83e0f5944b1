// FakeStreamingBackend: a StreamingBackend for the streaming server's tests. Exec runs one of
// a few scripted "commands" on a thread of its own (no processes); attach echoes stdin to
// the output until the test ends the container; dial connects to 127.0.0.1:<port> on this host
// (tests run a real echo server there). It counts live sessions, kills and resizes so tests
// can check that nothing leaks.
//
// Commands (args[0]):
//   out-err-exit <code>  "out\n" on stdout, "err\n" on stderr, exits with <code>
//   cat                  copies stdin to stdout until stdin closes, exits 0
//   sleep                runs until killed (exit 137)
//   big <bytes>          writes <bytes> of 'x' to stdout, exits 0
//   anything else        fails to start (kNotFound)
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "zoned/streaming/backend.h"

namespace zoned::streaming::testing {

class FakeStreamingBackend final : public StreamingBackend {
 public:
  struct Counters {
    std::atomic<int> live_sessions{0};
    std::atomic<int> kills{0};
    std::atomic<int> detaches{0};
    std::mutex mu;
    std::vector<std::pair<uint32_t, uint32_t>> resizes;  // rows, cols
    std::vector<ExecRequest> execs;
  };

  Result<std::unique_ptr<ExecSession>> exec(const ExecRequest& request, ExecOutputSink sink) override {
    if (request.args.empty() || (request.args[0] != "out-err-exit" && request.args[0] != "cat" &&
                                 request.args[0] != "sleep" && request.args[0] != "big")) {
      return Error(ErrorCode::kNotFound, "fake: no such command");
    }
    {
      std::lock_guard lock(counters.mu);
      counters.execs.push_back(request);
    }
    return std::unique_ptr<ExecSession>(std::make_unique<Session>(counters, request.args, std::move(sink), false));
  }

  Result<std::unique_ptr<AttachSession>> attach(const AttachRequest& request, ExecOutputSink sink) override {
    if (request.container_id != "attachable") return Error(ErrorCode::kNotFound, "fake: no such container");
    auto session = std::make_unique<Attached>(counters, std::move(sink), *this);
    return std::unique_ptr<AttachSession>(std::move(session));
  }

  Result<std::unique_ptr<PortConnection>> dial(const std::string& pod, uint16_t port) override {
    if (pod != "pod-1") return Error(ErrorCode::kNotFound, "fake: no such pod");
    auto fd = connect_tcp_loopback(port);
    if (!fd) return std::move(fd).take_error();
    ++counters.live_sessions;
    return std::unique_ptr<PortConnection>(
        std::make_unique<CountedConnection>(make_tcp_port_connection(std::move(*fd)), counters));
  }

  // Ends the attached container's main process.
  void end_container() {
    std::lock_guard lock(mu_);
    container_ended_ = true;
    cv_.notify_all();
  }

  Counters counters;

 private:
  static Result<UniqueFd> connect_tcp_loopback(uint16_t port) {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return sys_error("socket");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      return sys_error("fake dial 127.0.0.1:" + std::to_string(port));
    }
    return fd;
  }

  class Session final : public ExecSession {
   public:
    Session(Counters& c, std::vector<std::string> args, ExecOutputSink sink, bool /*unused*/)
        : c_(c), args_(std::move(args)), sink_(std::move(sink)) {
      ++c_.live_sessions;
      thread_ = std::thread([this] { run(); });
    }
    ~Session() override {
      {
        std::lock_guard lock(mu_);
        killed_ = true;
        cv_.notify_all();
      }
      thread_.join();
      --c_.live_sessions;
    }
    Status write_stdin(std::string_view data) override {
      std::lock_guard lock(mu_);
      if (stdin_closed_) return Error(ErrorCode::kFailedPrecondition, "stdin closed");
      stdin_.append(data);
      cv_.notify_all();
      return ok_status();
    }
    Status close_stdin() override {
      std::lock_guard lock(mu_);
      stdin_closed_ = true;
      cv_.notify_all();
      return ok_status();
    }
    Status resize(uint32_t rows, uint32_t cols) override {
      std::lock_guard lock(c_.mu);
      c_.resizes.emplace_back(rows, cols);
      return ok_status();
    }
    Status signal(uint32_t sig) override {
      if (sig == SIGKILL) ++c_.kills;
      std::lock_guard lock(mu_);
      killed_ = true;
      cv_.notify_all();
      return ok_status();
    }
    Result<std::optional<ExecResult>> wait(std::chrono::milliseconds timeout) override {
      std::unique_lock lock(mu_);
      if (!cv_.wait_for(lock, timeout, [&] { return result_.has_value(); })) return std::optional<ExecResult>();
      return result_;
    }

   private:
    void run() {
      int32_t code = 0;
      const std::string& cmd = args_[0];
      if (cmd == "out-err-exit") {
        sink_(1, "out\n");
        sink_(2, "err\n");
        code = args_.size() > 1 ? std::stoi(args_[1]) : 0;
      } else if (cmd == "big") {
        size_t left = args_.size() > 1 ? std::stoul(args_[1]) : 0;
        const std::string chunk(16384, 'x');
        while (left > 0) {
          const size_t n = std::min(left, chunk.size());
          sink_(1, std::string_view(chunk).substr(0, n));
          left -= n;
        }
      } else {
        std::unique_lock lock(mu_);
        while (true) {
          // `sleep` ignores stdin; `cat` wakes up for data and for its end.
          cv_.wait(lock, [&] { return killed_ || (cmd == "cat" && (stdin_closed_ || !stdin_.empty())); });
          if (killed_) {
            code = 137;
            break;
          }
          if (!stdin_.empty() && cmd == "cat") {
            std::string data = std::exchange(stdin_, {});
            lock.unlock();
            sink_(1, data);
            lock.lock();
            continue;
          }
          stdin_.clear();
          if (stdin_closed_ && cmd == "cat") break;
        }
      }
      std::lock_guard lock(mu_);
      result_ = ExecResult{code, 0, {}, {}, false};
      cv_.notify_all();
    }

    Counters& c_;
    std::vector<std::string> args_;
    ExecOutputSink sink_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::string stdin_;
    bool stdin_closed_ = false, killed_ = false;
    std::optional<ExecResult> result_;
    std::thread thread_;
  };

  class Attached final : public AttachSession {
   public:
    Attached(Counters& c, ExecOutputSink sink, FakeStreamingBackend& owner)
        : c_(c), sink_(std::move(sink)), owner_(owner) {
      ++c_.live_sessions;
    }
    ~Attached() override {
      ++c_.detaches;
      --c_.live_sessions;
    }
    Status write_stdin(std::string_view data) override {
      sink_(1, data);  // the "main process" echoes its input
      return ok_status();
    }
    Status close_stdin() override { return ok_status(); }
    Status resize(uint32_t rows, uint32_t cols) override {
      std::lock_guard lock(c_.mu);
      c_.resizes.emplace_back(rows, cols);
      return ok_status();
    }
    Result<bool> wait(std::chrono::milliseconds timeout) override {
      std::unique_lock lock(owner_.mu_);
      return owner_.cv_.wait_for(lock, timeout, [&] { return owner_.container_ended_; });
    }

   private:
    Counters& c_;
    ExecOutputSink sink_;
    FakeStreamingBackend& owner_;
  };

  class CountedConnection final : public PortConnection {
   public:
    CountedConnection(std::unique_ptr<PortConnection> inner, Counters& c) : inner_(std::move(inner)), c_(c) {}
    ~CountedConnection() override { --c_.live_sessions; }
    Result<size_t> read(char* buf, size_t n) override { return inner_->read(buf, n); }
    Status write(std::string_view data) override { return inner_->write(data); }
    Status close_write() override { return inner_->close_write(); }
    void close() override { inner_->close(); }

   private:
    std::unique_ptr<PortConnection> inner_;
    Counters& c_;
  };

  std::mutex mu_;
  std::condition_variable cv_;
  bool container_ended_ = false;
};

}  // namespace zoned::streaming::testing
