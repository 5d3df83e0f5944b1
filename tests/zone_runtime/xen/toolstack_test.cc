// The toolstack thread with a fake libxl context: one thread, jobs in order, SIGCHLD unblocked
// there, lazy and retried context opening, cancellation at shutdown, and errors that carry what
// libxl logged.
#include "zoned/xen/toolstack.h"

#include <signal.h>

#include <atomic>
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

using Catch::Matchers::ContainsSubstring;
using zoned::ErrorCode;
using zoned::Result;
using zoned::Status;
using zoned::xen::LibxlCall;
using zoned::xen::Toolstack;

namespace {

int fake_ctx_storage;
libxl_ctx* const kFakeCtx = reinterpret_cast<libxl_ctx*>(&fake_ctx_storage);

struct FakeLibxl {
  std::atomic<int> opens{0};
  std::atomic<int> closes{0};
  std::atomic<int> failures_left{0};
  std::atomic<xentoollog_logger*> logger{nullptr};

  Toolstack::Options options() {
    Toolstack::Options o;
    o.context_ops.open = [this](xentoollog_logger* l) -> Result<libxl_ctx*> {
      ++opens;
      logger = l;
      if (failures_left > 0) {
        --failures_left;
        return zoned::Error(ErrorCode::kUnavailable, "no Xen here");
      }
      return kFakeCtx;
    };
    o.context_ops.close = [this](libxl_ctx* ctx) {
      CHECK(ctx == kFakeCtx);
      ++closes;
    };
    return o;
  }
};

}  // namespace

TEST_CASE("jobs run on one thread of the toolstack's, in order, with the context") {
  FakeLibxl fake;
  Toolstack ts(fake.options());
  std::vector<std::thread::id> threads;
  std::vector<int> order;
  std::mutex mu;
  for (int i = 0; i < 4; ++i) {
    auto r = ts.run<int>([&, i](const LibxlCall& lx) -> Result<int> {
      CHECK(lx.ctx() == kFakeCtx);
      std::lock_guard lock(mu);
      threads.push_back(std::this_thread::get_id());
      order.push_back(i);
      return i * 10;
    });
    REQUIRE(r.ok());
    CHECK(*r == i * 10);
  }
  CHECK(order == std::vector<int>{0, 1, 2, 3});
  for (auto id : threads) {
    CHECK(id == threads[0]);
    CHECK(id != std::this_thread::get_id());
  }
  CHECK(fake.opens == 1);  // opened once, lazily
  CHECK(ts.has_context());
}

TEST_CASE("concurrent callers are serialised: never two jobs at once") {
  FakeLibxl fake;
  Toolstack ts(fake.options());
  std::atomic<int> inside{0};
  std::atomic<int> most{0};
  std::vector<std::thread> callers;
  for (int i = 0; i < 8; ++i) {
    callers.emplace_back([&] {
      auto s = ts.run<void>([&](const LibxlCall&) -> Status {
        int now = ++inside;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        --inside;
        return zoned::ok_status();
      });
      CHECK(s.ok());
    });
  }
  for (auto& t : callers) t.join();
  CHECK(most == 1);
}

TEST_CASE("SIGCHLD is unblocked on the toolstack thread even when its creator blocked it") {
  sigset_t chld, old;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  pthread_sigmask(SIG_BLOCK, &chld, &old);
  FakeLibxl fake;
  {
    Toolstack ts(fake.options());
    auto blocked = ts.run<bool>([](const LibxlCall&) -> Result<bool> {
      sigset_t now;
      pthread_sigmask(SIG_BLOCK, nullptr, &now);
      return sigismember(&now, SIGCHLD) == 1;
    });
    REQUIRE(blocked.ok());
    CHECK_FALSE(*blocked);
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

TEST_CASE("no context: Unavailable, and the next job tries again") {
  FakeLibxl fake;
  fake.failures_left = 1;
  Toolstack ts(fake.options());
  bool ran = false;
  auto first = ts.run<void>([&](const LibxlCall&) -> Status {
    ran = true;
    return zoned::ok_status();
  });
  REQUIRE_FALSE(first.ok());
  CHECK(first.error().code() == ErrorCode::kUnavailable);
  CHECK_FALSE(ran);
  CHECK_FALSE(ts.has_context());
  auto second = ts.run<void>([&](const LibxlCall&) -> Status {
    ran = true;
    return zoned::ok_status();
  });
  CHECK(second.ok());
  CHECK(ran);
  CHECK(fake.opens == 2);
}

TEST_CASE("the context is closed on the toolstack thread when the toolstack goes") {
  FakeLibxl fake;
  {
    Toolstack ts(fake.options());
    CHECK(ts.run<int>([](const LibxlCall&) -> Result<int> { return 1; }).ok());
    CHECK(fake.closes == 0);
  }
  CHECK(fake.closes == 1);
}

TEST_CASE("a context never opened is never closed") {
  FakeLibxl fake;
  { Toolstack ts(fake.options()); }
  CHECK(fake.opens == 0);
  CHECK(fake.closes == 0);
}

TEST_CASE("a job that needs another job runs it inline instead of deadlocking") {
  FakeLibxl fake;
  Toolstack ts(fake.options());
  auto outer = ts.run<int>([&](const LibxlCall&) -> Result<int> {
    auto inner = ts.run<int>([](const LibxlCall&) -> Result<int> { return 41; });
    if (!inner.ok()) return std::move(inner).take_error();
    return *inner + 1;
  });
  REQUIRE(outer.ok());
  CHECK(*outer == 42);
}

TEST_CASE("run_within gives up waiting on a busy toolstack; the job still runs later") {
  FakeLibxl fake;
  Toolstack ts(fake.options());
  std::atomic<bool> release{false};
  std::atomic<bool> late_job_ran{false};
  std::thread blocker([&] {
    auto s = ts.run<void>([&](const LibxlCall&) -> Status {
      while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      return zoned::ok_status();
    });
    CHECK(s.ok());
  });
  while (!ts.busy()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  auto r = ts.run_within<int>(std::chrono::milliseconds(50), [&late_job_ran](const LibxlCall&) -> Result<int> {
    late_job_ran = true;
    return 1;
  });
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code() == ErrorCode::kDeadlineExceeded);
  CHECK(ts.busy());
  release = true;
  blocker.join();
  CHECK(ts.run<int>([](const LibxlCall&) -> Result<int> { return 0; }).ok());  // runs after the late job
  CHECK(late_job_ran);
  // The caller can wake before the thread marks itself idle: allow it a moment.
  for (int i = 0; i < 1000 && ts.busy(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  CHECK_FALSE(ts.busy());
}

TEST_CASE("shutdown cancels queued jobs; the running one finishes") {
  FakeLibxl fake;
  std::atomic<bool> release{false};
  std::atomic<bool> first_done{false};
  std::optional<Result<int>> queued_result;
  std::thread first_caller, queued_caller, releaser;
  {
    Toolstack ts(fake.options());
    first_caller = std::thread([&] {
      auto s = ts.run<void>([&](const LibxlCall&) -> Status {
        while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        first_done = true;
        return zoned::ok_status();
      });
      CHECK(s.ok());
    });
    while (!ts.busy()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    queued_caller =
        std::thread([&] { queued_result = ts.run<int>([](const LibxlCall&) -> Result<int> { return 7; }); });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // let it queue
    releaser = std::thread([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      release = true;
    });
  }  // destructor: waits for the running job, cancels the queued one
  releaser.join();
  first_caller.join();
  queued_caller.join();
  CHECK(first_done);
  REQUIRE(queued_result.has_value());
  // The queued job either ran before shutdown began or was cancelled: never lost.
  if (!queued_result->ok()) CHECK(queued_result->error().code() == ErrorCode::kCancelled);
}

TEST_CASE("a failed libxl call carries the errors libxl logged during the job") {
  FakeLibxl fake;
  Toolstack ts(fake.options());
  auto r = ts.run<void>([&](const LibxlCall& lx) -> Status {
    xtl_log(fake.logger.load(), XTL_ERROR, -1, "libxl", "%s", "hotplug script /etc/xen/scripts/block failed");
    return lx.error(ERROR_FAIL, "adding disk xvdb");
  });
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message(), ContainsSubstring("adding disk xvdb: ERROR_FAIL") &&
                                      ContainsSubstring("hotplug script /etc/xen/scripts/block failed"));
}

TEST_CASE("errors logged by an earlier job do not leak into the next one's message") {
  FakeLibxl fake;
  Toolstack ts(fake.options());
  CHECK(ts.run<void>([&](const LibxlCall&) -> Status {
            xtl_log(fake.logger.load(), XTL_ERROR, -1, "libxl", "%s", "old trouble");
            return zoned::ok_status();
          }).ok());
  auto r = ts.run<void>([&](const LibxlCall& lx) -> Status { return lx.error(ERROR_INVAL, "step"); });
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message() == "step: ERROR_INVAL (invalid argument)");
}

TEST_CASE("the real context ops refuse without privcmd, naming it, and never call libxl") {
  auto ops = Toolstack::real_context_ops("/nonexistent/privcmd", "/nonexistent/socket");
  auto ctx = ops.open(nullptr);
  REQUIRE_FALSE(ctx.ok());
  CHECK(ctx.error().code() == ErrorCode::kUnavailable);
  CHECK_THAT(ctx.error().message(), ContainsSubstring("/nonexistent/privcmd"));
}
