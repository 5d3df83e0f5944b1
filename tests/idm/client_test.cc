// Client: the daemon's side of a zone connection, against a scripted agent (AgentPeer) over a
// socket channel pair: the handshake, calls matched by id, timeouts, the hostile-peer rules,
// events and streams, and back-pressure both ways.
#include "zoned/idm/client.h"

#include <sys/socket.h>

#include <atomic>
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent_peer.h"
#include "silent_channel.h"
#include "zoned/idm/socket_channel.h"

namespace zoned::idm {
namespace {

using namespace std::chrono_literals;
using Catch::Matchers::ContainsSubstring;
using testing::AgentPeer;

// Records what the handlers see, for the test thread to wait on.
struct Recorder {
  std::mutex mu;
  std::condition_variable changed;
  std::vector<std::string> seen;  // "event:<container>" / "stream:<data>"
  int closed = 0;
  std::optional<Error> closed_with;

  Client::Handlers handlers() {
    return {
        [this](const v1::Event& e) { add("event:" + e.container_exited().container_id()); },
        [this](const v1::StreamData& s) { add("stream:" + s.data()); },
        [this](const Error& error) {
          std::lock_guard lock(mu);
          ++closed;
          closed_with = error;
          changed.notify_all();
        },
    };
  }
  void add(std::string what) {
    std::lock_guard lock(mu);
    seen.push_back(std::move(what));
    changed.notify_all();
  }
  bool wait_seen(std::size_t n) {
    std::unique_lock lock(mu);
    return changed.wait_for(lock, 5s, [&] { return seen.size() >= n; });
  }
  bool wait_closed() {
    std::unique_lock lock(mu);
    return changed.wait_for(lock, 5s, [&] { return closed > 0; });
  }
};

struct Connected {
  std::unique_ptr<AgentPeer> agent;
  std::unique_ptr<Client> client;
};

std::pair<std::unique_ptr<ByteChannel>, std::unique_ptr<AgentPeer>> channels(Endpoint::Limits agent_limits = {}) {
  auto pair = socket_channel_pair();
  REQUIRE(pair.ok());
  return {std::move(pair->first), std::make_unique<AgentPeer>(std::move(pair->second), agent_limits)};
}

// A client that completed the handshake with a scripted agent, which has read the HelloReply.
Connected connected(Recorder& recorder, Endpoint::Limits limits = {}) {
  auto [channel, agent] = channels();
  REQUIRE(agent->hello());
  auto client = Client::connect(std::move(channel), recorder.handlers(), limits, 2s);
  REQUIRE(client.ok());
  auto reply = agent->receive();
  REQUIRE(reply.ok());
  REQUIRE(reply->response().has_hello());
  return {std::move(agent), std::move(*client)};
}

v1::Request ping(std::uint64_t nonce) {
  v1::Request r;
  r.mutable_ping()->set_nonce(nonce);
  return r;
}

// Answers every ping with a pong of the same nonce until `stop`, in batches answered in
// reverse order so that responses come back out of order.
std::thread pong_server(AgentPeer& agent, std::atomic<bool>& stop) {
  return std::thread([&agent, &stop] {
    while (!stop) {
      std::vector<Envelope> batch;
      for (auto got = agent.receive(20ms); got.ok(); got = agent.receive(5ms)) batch.push_back(std::move(*got));
      for (auto it = batch.rbegin(); it != batch.rend(); ++it) {
        if (!agent.send(testing::pong_response(it->id(), it->request().ping().nonce()))) return;
      }
    }
  });
}

TEST_CASE("client: the agent's Hello is answered with the lower protocol version", "[idm][client]") {
  auto [channel, agent] = channels();
  REQUIRE(agent->hello(7));
  Recorder recorder;
  auto client = Client::connect(std::move(channel), recorder.handlers(), {}, 2s);
  REQUIRE(client.ok());
  CHECK((*client)->agent_hello().agent_version() == "test-agent 1.0");
  CHECK((*client)->agent_hello().protocol_version() == 7);
  CHECK((*client)->protocol_version() == 1);
  auto reply = agent->receive();
  REQUIRE(reply.ok());
  CHECK(reply->id() == 1);
  REQUIRE(reply->response().has_hello());
  CHECK(reply->response().hello().protocol_version() == 1);
  CHECK((*client)->alive());
}

TEST_CASE("client: a peer that does not open with Hello is refused", "[idm][client]") {
  auto [channel, agent] = channels();
  Recorder recorder;
  SECTION("an event first") {
    REQUIRE(agent->send(testing::exited_event("c1", 0)));
    auto client = Client::connect(std::move(channel), recorder.handlers(), {}, 2s);
    REQUIRE_FALSE(client.ok());
    CHECK(client.error().code() == ErrorCode::kInvalidArgument);
    CHECK_THAT(client.error().message(),
               ContainsSubstring("must be a Hello request with id 1, not event.container_exited"));
  }
  SECTION("another request first, which is answered with the reason") {
    Envelope e = testing::ping_request(5);
    e.set_id(1);
    REQUIRE(agent->send(e));
    auto client = Client::connect(std::move(channel), recorder.handlers(), {}, 2s);
    REQUIRE_FALSE(client.ok());
    CHECK_THAT(client.error().message(), ContainsSubstring("not request.ping"));
    auto refusal = agent->receive();
    REQUIRE(refusal.ok());
    CHECK(refusal->id() == 1);
    CHECK(refusal->response().error().code() == v1::Error::CODE_INVALID_ARGUMENT);
  }
  SECTION("a Hello with another id") {
    Envelope e;
    e.set_id(2);
    e.mutable_request()->mutable_hello()->set_protocol_version(1);
    REQUIRE(agent->send(e));
    auto client = Client::connect(std::move(channel), recorder.handlers(), {}, 2s);
    REQUIRE_FALSE(client.ok());
    CHECK_THAT(client.error().message(), ContainsSubstring("with id 2"));
  }
  SECTION("protocol version 0") {
    REQUIRE(agent->hello(0));
    auto client = Client::connect(std::move(channel), recorder.handlers(), {}, 2s);
    REQUIRE_FALSE(client.ok());
    CHECK(client.error().code() == ErrorCode::kInvalidArgument);
    CHECK_THAT(client.error().message(), ContainsSubstring("protocol version 0"));
    auto refusal = agent->receive();
    REQUIRE(refusal.ok());
    CHECK(refusal->response().has_error());
  }
  CHECK(recorder.closed == 0);
}

TEST_CASE("client: no Hello in time is kDeadlineExceeded; a peer that leaves first kUnavailable", "[idm][client]") {
  auto [channel, agent] = channels();
  Recorder recorder;
  SECTION("silence") {
    const auto start = std::chrono::steady_clock::now();
    auto client = Client::connect(std::move(channel), recorder.handlers(), {}, 100ms);
    REQUIRE_FALSE(client.ok());
    CHECK(client.error().code() == ErrorCode::kDeadlineExceeded);
    const auto took = std::chrono::steady_clock::now() - start;
    CHECK(took >= 100ms);
    CHECK(took < 2s);
  }
  SECTION("the agent closes") {
    agent->close();
    auto client = Client::connect(std::move(channel), recorder.handlers(), {}, 2s);
    REQUIRE_FALSE(client.ok());
    CHECK(client.error().code() == ErrorCode::kUnavailable);
  }
}

TEST_CASE("client: a Hello already in the channel, with no wakeup for it, is found at once", "[idm][client]") {
  Envelope hello;
  hello.set_id(1);
  hello.mutable_request()->mutable_hello()->set_protocol_version(1);
  auto frame = encode_frame(hello);
  REQUIRE(frame.ok());
  Recorder recorder;
  const auto start = std::chrono::steady_clock::now();
  auto client = Client::connect(std::make_unique<testing::SilentChannel>(*frame), recorder.handlers(), {}, 2s);
  REQUIRE(client.ok());
  CHECK(std::chrono::steady_clock::now() - start < 1s);
}

TEST_CASE("client: envelopes the agent sent right after its Hello are delivered", "[idm][client]") {
  auto [channel, agent] = channels();
  REQUIRE(agent->hello());
  REQUIRE(agent->send(testing::exited_event("early", 0)));
  REQUIRE(agent->send(testing::stream_chunk(3, "also early")));
  Recorder recorder;
  auto client = Client::connect(std::move(channel), recorder.handlers(), {}, 2s);
  REQUIRE(client.ok());
  REQUIRE(recorder.wait_seen(2));
  CHECK(recorder.seen == std::vector<std::string>{"event:early", "stream:also early"});
}

TEST_CASE("client: a call gets the response with its id; error responses become Errors", "[idm][client]") {
  Recorder recorder;
  auto c = connected(recorder);
  auto answer = std::async(std::launch::async, [&] {
    auto request = c.agent->receive();
    REQUIRE(request.ok());
    REQUIRE(request->request().has_ping());
    REQUIRE(c.agent->send(testing::pong_response(request->id(), request->request().ping().nonce())));
    auto second = c.agent->receive();
    REQUIRE(second.ok());
    Envelope error;
    error.set_id(second->id());
    error.mutable_response()->mutable_error()->set_code(v1::Error::CODE_NOT_FOUND);
    error.mutable_response()->mutable_error()->set_message("container c9 not found");
    REQUIRE(c.agent->send(error));
  });
  auto pong = c.client->call(ping(42), 5s);
  REQUIRE(pong.ok());
  CHECK(pong->pong().nonce() == 42);
  auto failed = c.client->call(ping(43), 5s);
  answer.get();
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().code() == ErrorCode::kNotFound);
  CHECK(failed.error().message() == "zone agent: container c9 not found");
  CHECK(c.client->alive());
}

TEST_CASE("client: concurrent calls from several threads each get their own response", "[idm][client]") {
  Recorder recorder;
  auto c = connected(recorder);
  std::atomic<bool> stop = false;
  std::thread server = pong_server(*c.agent, stop);
  constexpr int kThreads = 6;
  constexpr int kCalls = 40;
  std::atomic<int> wrong = 0;
  std::vector<std::thread> callers;
  for (int t = 0; t < kThreads; ++t) {
    callers.emplace_back([&, t] {
      for (int i = 0; i < kCalls; ++i) {
        const std::uint64_t nonce = static_cast<std::uint64_t>(t) * 1000 + static_cast<std::uint64_t>(i);
        auto pong = c.client->call(ping(nonce), 5s);
        if (!pong.ok() || pong->pong().nonce() != nonce) ++wrong;
      }
    });
  }
  for (auto& t : callers) t.join();
  stop = true;
  server.join();
  CHECK(wrong == 0);
  CHECK(c.client->alive());
  CHECK(recorder.closed == 0);
}

TEST_CASE("client: a call times out; its late response is dropped, and the connection lives", "[idm][client]") {
  Recorder recorder;
  auto c = connected(recorder);
  const auto start = std::chrono::steady_clock::now();
  auto late = c.client->call(ping(1), 50ms);
  REQUIRE_FALSE(late.ok());
  CHECK(late.error().code() == ErrorCode::kDeadlineExceeded);
  CHECK(std::chrono::steady_clock::now() - start >= 50ms);
  auto request = c.agent->receive();
  REQUIRE(request.ok());
  REQUIRE(c.agent->send(testing::pong_response(request->id(), 1)));  // too late

  std::atomic<bool> stop = false;
  std::thread server = pong_server(*c.agent, stop);
  auto next = c.client->call(ping(2), 5s);
  stop = true;
  server.join();
  REQUIRE(next.ok());
  CHECK(next->pong().nonce() == 2);
  CHECK(c.client->alive());
  CHECK(recorder.closed == 0);
}

TEST_CASE("client: a response to no pending call is a violation that closes the connection", "[idm][client]") {
  Recorder recorder;
  auto c = connected(recorder);
  SECTION("an id never used") {
    REQUIRE(c.agent->send(testing::pong_response(99, 0)));
  }
  SECTION("a second response to an answered call") {
    auto call = std::async(std::launch::async, [&] { return c.client->call(ping(1), 5s); });
    auto request = c.agent->receive();
    REQUIRE(request.ok());
    REQUIRE(c.agent->send(testing::pong_response(request->id(), 1)));
    REQUIRE(call.get().ok());
    REQUIRE(c.agent->send(testing::pong_response(request->id(), 1)));
  }
  REQUIRE(recorder.wait_closed());
  CHECK(recorder.closed_with->code() == ErrorCode::kInvalidArgument);
  CHECK_THAT(recorder.closed_with->message(), ContainsSubstring("which is not pending"));
  CHECK_FALSE(c.client->alive());
  auto after = c.client->call(ping(2), 1s);
  REQUIRE_FALSE(after.ok());
  CHECK(after.error().code() == ErrorCode::kUnavailable);
  auto eof = c.agent->receive();  // the client dropped the channel
  REQUIRE_FALSE(eof.ok());
  CHECK(eof.error().code() == ErrorCode::kUnavailable);
}

TEST_CASE("client: the agent closing fails pending calls with kUnavailable and calls on_closed once", "[idm][client]") {
  Recorder recorder;
  auto c = connected(recorder);
  auto call = std::async(std::launch::async, [&] { return c.client->call(ping(1), 5s); });
  REQUIRE(c.agent->receive().ok());
  c.agent->close();
  auto result = call.get();
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().code() == ErrorCode::kUnavailable);
  REQUIRE(recorder.wait_closed());
  CHECK(recorder.closed_with->code() == ErrorCode::kUnavailable);
  CHECK_FALSE(c.client->alive());
  auto stream = c.client->send_stream(testing::stream_chunk(3, "x").stream(), 1s);
  REQUIRE_FALSE(stream.ok());
  CHECK(stream.error().code() == ErrorCode::kUnavailable);
  c.client->close();
  CHECK(recorder.closed == 1);
}

TEST_CASE("client: a frame the codec refuses closes the connection", "[idm][client]") {
  int fds[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
  UniqueFd raw(fds[1]);
  auto channel = socket_channel(UniqueFd(fds[0]));
  REQUIRE(channel.ok());
  Envelope hello;
  hello.set_id(1);
  hello.mutable_request()->mutable_hello()->set_protocol_version(1);
  const auto frame = encode_frame(hello);
  REQUIRE(frame.ok());
  REQUIRE(::write(raw.get(), frame->data(), frame->size()) == static_cast<ssize_t>(frame->size()));
  Recorder recorder;
  auto client = Client::connect(std::move(*channel), recorder.handlers(), {}, 2s);
  REQUIRE(client.ok());
  REQUIRE(::write(raw.get(), "ZI\x01\x00\xff\xff\xff\xff", 8) == 8);
  REQUIRE(recorder.wait_closed());
  CHECK(recorder.closed_with->code() == ErrorCode::kInvalidArgument);
  CHECK_THAT(recorder.closed_with->message(), ContainsSubstring("exceeds the limit"));
}

TEST_CASE("client: close() cancels pending calls, does not call on_closed, and is idempotent", "[idm][client]") {
  Recorder recorder;
  auto c = connected(recorder);
  auto call = std::async(std::launch::async, [&] { return c.client->call(ping(1), 5s); });
  REQUIRE(c.agent->receive().ok());
  c.client->close();
  auto result = call.get();
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().code() == ErrorCode::kCancelled);
  c.client->close();
  auto after = c.client->call(ping(2), 1s);
  REQUIRE_FALSE(after.ok());
  CHECK(after.error().code() == ErrorCode::kCancelled);
  CHECK(recorder.closed == 0);
  auto eof = c.agent->receive();
  REQUIRE_FALSE(eof.ok());
  CHECK(eof.error().code() == ErrorCode::kUnavailable);
}

TEST_CASE("client: handlers cannot deadlock on their own thread", "[idm][client]") {
  auto [channel, agent] = channels();
  REQUIRE(agent->hello());
  std::promise<Status> from_handler;
  std::promise<void> closed_in_handler;
  Client* self = nullptr;
  std::atomic<int> on_closed = 0;
  Client::Handlers handlers;
  handlers.on_event = [&](const v1::Event& e) {
    if (e.container_exited().container_id() == "call") {
      auto r = self->call(ping(1), 5s);
      from_handler.set_value(r.ok() ? ok_status() : Status(r.error()));
    } else {
      self->close();
      closed_in_handler.set_value();
    }
  };
  handlers.on_closed = [&](const Error&) { ++on_closed; };
  auto client = Client::connect(std::move(channel), handlers, {}, 2s);
  REQUIRE(client.ok());
  self = client->get();
  REQUIRE(agent->receive().ok());
  REQUIRE(agent->send(testing::exited_event("call", 0)));
  auto status = from_handler.get_future();
  REQUIRE(status.wait_for(2s) == std::future_status::ready);
  auto result = status.get();
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().code() == ErrorCode::kFailedPrecondition);

  REQUIRE(agent->send(testing::exited_event("close", 0)));
  REQUIRE(closed_in_handler.get_future().wait_for(2s) == std::future_status::ready);
  CHECK_FALSE((*client)->alive());
  client->reset();  // joins the stopped thread
  CHECK(on_closed == 0);
}

TEST_CASE("client: events and stream data are delivered in arrival order", "[idm][client]") {
  Recorder recorder;
  auto c = connected(recorder);
  std::vector<std::string> expected;
  for (int i = 0; i < 200; ++i) {
    if (i % 3 == 0) {
      REQUIRE(c.agent->send(testing::exited_event("c" + std::to_string(i), 0)));
      expected.push_back("event:c" + std::to_string(i));
    } else {
      REQUIRE(c.agent->send(testing::stream_chunk(3, "chunk " + std::to_string(i))));
      expected.push_back("stream:chunk " + std::to_string(i));
    }
  }
  REQUIRE(recorder.wait_seen(expected.size()));
  std::lock_guard lock(recorder.mu);
  CHECK(recorder.seen == expected);
}

TEST_CASE("client: requests from the agent are answered UNIMPLEMENTED, and too many close", "[idm][client]") {
  Recorder recorder;
  auto c = connected(recorder);
  for (std::size_t i = 1; i <= Client::kMaxUnservedRequests; ++i) {
    Envelope request = testing::ping_request(i);
    request.set_id(i + 1);
    REQUIRE(c.agent->send(request));
    auto reply = c.agent->receive();
    REQUIRE(reply.ok());
    CHECK(reply->id() == i + 1);
    CHECK(reply->response().error().code() == v1::Error::CODE_UNIMPLEMENTED);
  }
  CHECK(c.client->alive());
  Envelope one_more = testing::ping_request(0);
  one_more.set_id(1000);
  REQUIRE(c.agent->send(one_more));
  REQUIRE(recorder.wait_closed());
  CHECK_THAT(recorder.closed_with->message(), ContainsSubstring("more than 64 requests"));
}

TEST_CASE("client: send_stream waits for outbound space, up to its timeout", "[idm][client]") {
  Endpoint::Limits limits;
  limits.max_frame_bytes = 64 * 1024;
  limits.max_outbound_bytes = 128 * 1024;
  Recorder recorder;
  auto c = connected(recorder, limits);
  const v1::StreamData chunk = testing::stream_chunk(3, std::string(60 * 1024, 's')).stream();
  // The agent reads nothing: the socket fills, then the client's queue.
  int sent = 0;
  Status status = ok_status();
  for (; sent < 1000 && (status = c.client->send_stream(chunk, 100ms)).ok(); ++sent) {
  }
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().code() == ErrorCode::kDeadlineExceeded);
  CHECK(sent > 2);

  // A writer blocked on a full queue proceeds once the agent reads.
  auto blocked = std::async(std::launch::async, [&] { return c.client->send_stream(chunk, 5s); });
  CHECK(blocked.wait_for(100ms) == std::future_status::timeout);
  int received = 0;
  while (received < sent + 1) {
    auto got = c.agent->receive();
    REQUIRE(got.ok());
    CHECK(got->stream().data().size() == chunk.data().size());
    ++received;
  }
  CHECK(blocked.get().ok());
  CHECK(recorder.closed == 0);
}

TEST_CASE("client: a blocked on_stream stops the client reading, so the agent's writes back up", "[idm][client]") {
  std::mutex gate_mu;
  std::condition_variable gate_cv;
  bool open = false;
  std::atomic<int> delivered = 0;
  Client::Handlers handlers;
  handlers.on_stream = [&](const v1::StreamData&) {
    std::unique_lock lock(gate_mu);
    gate_cv.wait(lock, [&] { return open; });
    ++delivered;
  };
  auto [channel, agent] = channels();
  REQUIRE(agent->hello());
  auto client = Client::connect(std::move(channel), handlers, {}, 2s);
  REQUIRE(client.ok());
  REQUIRE(agent->receive().ok());

  const Envelope chunk = testing::stream_chunk(3, std::string(32 * 1024, 'b'));
  int queued = 0;
  for (; queued < 100; ++queued) REQUIRE(agent->endpoint().send(chunk).ok());  // 3.2 MiB
  for (int i = 0; i < 50; ++i) REQUIRE(agent->endpoint().pump().ok());
  std::this_thread::sleep_for(50ms);
  for (int i = 0; i < 50; ++i) REQUIRE(agent->endpoint().pump().ok());
  CHECK(agent->endpoint().outbound_bytes() > 0);  // the client stopped reading
  CHECK(delivered == 0);
  {
    std::lock_guard lock(gate_mu);
    open = true;
  }
  gate_cv.notify_all();
  REQUIRE(agent->send(testing::exited_event("done", 0), 10s));
  for (int i = 0; i < 500 && delivered < queued; ++i) std::this_thread::sleep_for(10ms);
  CHECK(delivered == queued);
}

}  // namespace
}  // namespace zoned::idm
