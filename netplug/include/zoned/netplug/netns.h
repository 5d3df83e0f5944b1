// Named network namespaces, one per sandbox: <dir>/zoned-<first 16 chars of the sandbox id>,
// a file on which the namespace is bind-mounted (like `ip netns add`, but in a configurable
// directory). The namespace is made on a short-lived thread that unshares CLONE_NEWNET, so the
// daemon's own threads never change namespace.
#pragma once

#include <string>
#include <vector>

#include "zoned/common/result.h"
#include "zoned/common/unique_fd.h"

namespace zoned::netplug {

class NetnsManager {
 public:
  explicit NetnsManager(std::string dir = "/run/netns", std::string prefix = "zoned-");

  // The path the sandbox's namespace has (whether it exists or not). Needs a valid id.
  Result<std::string> path_for(const std::string& sandbox_id) const;

  // Creates it; AlreadyExists when the path is taken. Returns the path. The first call makes
  // dir() a shared mount point of its own, as `ip netns add` does (see prepare_dir in netns.cc).
  Result<std::string> create(const std::string& sandbox_id);

  // Unmounts and unlinks; a missing one is fine.
  Status remove(const std::string& sandbox_id);
  Status remove_path(const std::string& path);

  // The namespace files of this manager (those with its prefix), as full paths, sorted.
  Result<std::vector<std::string>> list() const;

  const std::string& dir() const { return dir_; }

 private:
  Status prepare_dir();

  std::string dir_;
  std::string prefix_;
  bool dir_prepared_ = false;
};

// A socket created inside the network namespace at `netns_path` (on a short-lived thread).
// The socket stays in that namespace whoever uses it: port forwarding into a pod, tests.
Result<UniqueFd> socket_in_netns(const std::string& netns_path, int domain, int type, int protocol);

}  // namespace zoned::netplug
