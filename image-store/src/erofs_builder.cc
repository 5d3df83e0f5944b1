#include "erofs_builder.h"

#include <fcntl.h>
#include <unistd.h>

#include "zoned/common/process.h"
#include "zoned/common/unique_fd.h"

namespace zoned::image_store {

Status build_erofs(const ErofsOptions& options, const std::string& source_dir, const std::string& output) {
  process::Options run;
  run.argv = {options.mkfs_erofs, "--quiet", "--preserve-mtime", output, source_dir};
  run.timeout = options.timeout;
  auto outcome = process::run_checked(run);
  if (!outcome.ok()) return std::move(outcome).take_error().wrap("building EROFS image");
  UniqueFd fd(::open(output.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return sys_error("opening " + output);
  if (::fsync(fd.get()) != 0) return sys_error("fsync " + output);
  return ok_status();
}

}  // namespace zoned::image_store
