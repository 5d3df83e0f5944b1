// libxl's error codes are few and generic (ERROR_FAIL hides most causes). This turns one into
// our Error: which step failed, the code's name and meaning, and what libxl logged while it
// failed (see XtlLogger::take_errors), with an ErrorCode chosen from the libxl code.
#pragma once

#include <string_view>

#include "zoned/common/error.h"

namespace zoned::xen {

// "ERROR_FAIL", "ERROR_NOMEM", ...; "libxl error <n>" for codes this build does not know.
std::string libxl_error_name(int rc);

// "<step>: ERROR_INVAL (invalid argument)[: <logged>]"
Error libxl_error(int rc, std::string_view step, std::string_view logged = {});

}  // namespace zoned::xen
