// Client: the daemon's side of one zone's IDM connection, with its own I/O thread.
//
// connect() waits for the agent's Hello (the agent speaks first: Envelope{id 1, request{hello}}),
// answers HelloReply{protocol_version = min(ours, theirs)} and starts the I/O thread, which
// polls the channel and an eventfd (new output, close()). Any thread may then call() and
// send_stream(); events and stream data arrive on the I/O thread, in order.
//
// The agent may be compromised. Besides the Endpoint's framing and validation: a response
// whose id matches no pending call (nor a call that timed out) closes the connection; requests
// from the agent get an Error response (CODE_UNIMPLEMENTED), and more than
// kMaxUnservedRequests of them close the connection. Nothing the agent sends can block the
// daemon, except that a slow on_stream handler stops the I/O thread reading (back-pressure).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "zoned/common/result.h"
#include "zoned/common/unique_fd.h"
#include "zoned/idm/byte_channel.h"
#include "zoned/idm/endpoint.h"

namespace zoned::idm {

class Client {
 public:
  // Requests from the agent the daemon does not serve, answered with an Error, before the
  // connection is closed as abusive.
  static constexpr std::size_t kMaxUnservedRequests = 64;
  // Ids of timed-out calls remembered so their late responses are dropped, not taken for a
  // violation (the oldest are forgotten first).
  static constexpr std::size_t kMaxTimedOutIds = 1024;

  struct Handlers {
    std::function<void(const v1::Event&)> on_event;  // I/O thread, in arrival order
    std::function<void(const v1::StreamData&)>
        on_stream;                                // I/O thread, in order; blocking here back-pressures the zone
    std::function<void(const Error&)> on_closed;  // once, when the connection ends (not after close())
  };

  // Takes the channel, waits up to `hello_timeout` for the agent's Hello and answers it.
  // kDeadlineExceeded if it does not come, kInvalidArgument if something else comes first or
  // the Hello offers protocol version 0, kUnavailable if the peer closes first.
  static Result<std::unique_ptr<Client>> connect(std::unique_ptr<ByteChannel> channel, Handlers handlers,
                                                 Endpoint::Limits limits, std::chrono::milliseconds hello_timeout);

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client();  // close()

  const v1::Hello& agent_hello() const { return hello_; }
  // The protocol version agreed in the handshake.
  std::uint32_t protocol_version() const { return protocol_version_; }

  // Thread-safe. Sends `request` with a fresh id and waits for its Response. An Error response
  // becomes an Error with the mapped code and "zone agent: " before the message; no response
  // within `timeout` gives kDeadlineExceeded (a late response is then dropped); kUnavailable
  // once the connection ended, kCancelled after close(); kInvalidArgument for a request that
  // breaks validate(). Waiting for outbound space counts against the timeout. From a handler
  // it fails at once (kFailedPrecondition): only the I/O thread it blocks could read the answer.
  Result<v1::Response> call(const v1::Request& request, std::chrono::milliseconds timeout);

  // Thread-safe. Queues a StreamData (stdin towards the zone), waiting up to `timeout` for
  // outbound space (kDeadlineExceeded then; from a handler it does not wait). Errors as for call().
  Status send_stream(const v1::StreamData& data, std::chrono::milliseconds timeout);

  // True until the connection ends or close() is called.
  bool alive() const;

  // Idempotent. Stops and joins the I/O thread and closes the channel; pending and later calls
  // fail with kCancelled. From a handler it stops the I/O thread without joining it (the
  // thread ends when the handler returns); destroying the Client from a handler aborts.
  void close();

 private:
  struct PendingCall;
  using Clock = std::chrono::steady_clock;

  Client(std::unique_ptr<Endpoint> endpoint, Handlers handlers, UniqueFd wake, v1::Hello hello, std::uint32_t version);

  Status queue(std::unique_lock<std::mutex>& lock, const Envelope& envelope, Clock::time_point deadline);
  Status usable() const;      // requires mu_
  bool on_io_thread() const;  // requires mu_
  void wake();

  void run(std::vector<Envelope> early);
  bool wait_for_input();
  bool dispatch(Envelope& envelope);
  bool on_response(Envelope& envelope);
  bool on_request(const Envelope& envelope);
  void end(Error why);

  const Handlers handlers_;
  const UniqueFd wake_fd_;  // eventfd: output queued, or close()
  const int channel_fd_;
  const v1::Hello hello_;
  const std::uint32_t protocol_version_;

  mutable std::mutex mu_;
  std::condition_variable space_cv_;    // outbound bytes were written, or the connection ended
  std::unique_ptr<Endpoint> endpoint_;  // null once the connection is over
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, PendingCall*> pending_;
  std::set<std::uint64_t> timed_out_;
  std::size_t unserved_requests_ = 0;
  std::optional<Error> ended_;    // why the connection ended (set by the I/O thread or close())
  bool closing_ = false;          // close() was called
  std::thread::id io_thread_id_;  // set by the I/O thread when it starts

  std::thread io_thread_;
};

}  // namespace zoned::idm
