#include "zoned/common/unix_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <cstring>

#include "support/temp_dir.h"
#include "zoned/common/unique_fd.h"

using Catch::Matchers::ContainsSubstring;
using zoned::UniqueFd;

namespace {
UniqueFd listen_on(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(fd.get(), 1) == 0);
  return fd;
}
bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}
}  // namespace

TEST_CASE("a free path is claimed as is") {
  zoned::testing::TempDir tmp;
  CHECK(zoned::claim_socket_path(tmp.file("s.sock")).ok());
}

TEST_CASE("a stale socket (nobody listening) is removed") {
  zoned::testing::TempDir tmp;
  std::string path = tmp.file("s.sock");
  { UniqueFd fd = listen_on(path); }  // closed: the file stays, nobody listens
  REQUIRE(exists(path));
  REQUIRE(zoned::claim_socket_path(path).ok());
  CHECK_FALSE(exists(path));
}

TEST_CASE("a live socket is not taken over") {
  zoned::testing::TempDir tmp;
  std::string path = tmp.file("s.sock");
  UniqueFd live = listen_on(path);
  auto st = zoned::claim_socket_path(path);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().code() == zoned::ErrorCode::kAlreadyExists);
  CHECK(exists(path));
}

TEST_CASE("a regular file at the socket path is never deleted") {
  zoned::testing::TempDir tmp;
  std::string path = tmp.write("important", "data");
  auto st = zoned::claim_socket_path(path);
  REQUIRE_FALSE(st.ok());
  CHECK_THAT(st.error().message(), ContainsSubstring("not a socket"));
  CHECK(exists(path));
}

TEST_CASE("socket permissions: mode and numeric group are applied, unknown groups refused") {
  zoned::testing::TempDir tmp;
  std::string path = tmp.file("s.sock");
  UniqueFd live = listen_on(path);
  REQUIRE(zoned::set_socket_permissions(path, 0660, std::to_string(::getgid())).ok());
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0660);
  auto bad = zoned::set_socket_permissions(path, 0660, "no-such-group-zoned-test");
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.error().message(), ContainsSubstring("does not exist"));
}
