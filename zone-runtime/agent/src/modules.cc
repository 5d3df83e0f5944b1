#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "zoned/agent/init.h"
#include "zoned/common/file_ops.h"
#include "zoned/common/unique_fd.h"

namespace zoned::agent {

Result<std::vector<std::string>> parse_modules_load(std::string_view text) {
  std::vector<std::string> paths;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r' || line.back() == '\t')) line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty() || line.front() == '#') continue;
    if (line.front() == '/' || line == ".." || line.rfind("../", 0) == 0 ||
        line.find("/../") != std::string_view::npos || (line.size() >= 3 && line.substr(line.size() - 3) == "/..")) {
      return Error(ErrorCode::kInvalidArgument,
                   "modules.load: path outside the modules directory: " + std::string(line));
    }
    paths.emplace_back(line);
  }
  return paths;
}

Result<int> load_modules(const std::string& dir) {
  auto text = fs::read_file(dir + "/modules.load", 1024 * 1024);
  if (!text.ok()) return std::move(text).take_error();
  auto paths = parse_modules_load(*text);
  if (!paths.ok()) return std::move(paths).take_error();
  int failures = 0;
  for (const auto& path : *paths) {
    const std::string full = dir + "/" + path;
    UniqueFd fd(::open(full.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
      log::error("cannot open module", {{"module", path}, {"error", std::strerror(errno)}});
      ++failures;
      continue;
    }
    if (::syscall(SYS_finit_module, fd.get(), "", 0) != 0 && errno != EEXIST) {
      log::error("cannot load module", {{"module", path}, {"error", std::strerror(errno)}});
      ++failures;
      continue;
    }
    log::debug("module loaded", {{"module", path}});
  }
  return failures;
}

}  // namespace zoned::agent
