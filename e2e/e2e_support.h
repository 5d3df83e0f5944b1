// Helpers shared by the e2e cases that talk to the devbox: the environment e2e/run sets, the
// CRI channel, and commands run in dom0 through `scripts/devbox exec`.
#pragma once

#include <grpcpp/grpcpp.h>
#include <sys/wait.h>

#include <array>
#include <catch2/catch_test_macros.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>

namespace zoned::e2e {

// A variable e2e/run sets; the case fails when it is missing.
inline std::string env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr) FAIL(std::string(name) + " is not set (run through e2e/run)");
  return v;
}

// `s` as one single-quoted shell word.
inline std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The devbox's CRI socket.
inline std::shared_ptr<grpc::Channel> channel() {
  return grpc::CreateChannel("unix:" + env("ZONED_E2E_SOCKET"), grpc::InsecureChannelCredentials());
}

// A command line in dom0: {exit status, stdout + stderr}.
inline std::pair<int, std::string> dom0(const std::string& command) {
  const std::string full = env("ZONED_E2E_DEVBOX") + " exec -- sh -c " + quote(command) + " 2>&1";
  FILE* pipe = ::popen(full.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

template <typename Duration>
void with_deadline(grpc::ClientContext& ctx, Duration d) {
  ctx.set_deadline(std::chrono::system_clock::now() + d);
}

}  // namespace zoned::e2e
