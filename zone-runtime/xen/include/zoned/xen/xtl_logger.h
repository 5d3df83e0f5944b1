// A xentoollog logger (what libxl, libxc and libxenstore log through) that forwards to
// zoned's log (log.h), quiet by default: only warnings and errors pass. It also remembers the
// last error messages, so a failed toolstack call can say what libxl complained about
// (libxl's return codes alone rarely do).
#pragma once

#include <deque>
#include <mutex>
#include <string>

#include "zoned/xen/libxl_headers.h"

namespace zoned::xen {

class XtlLogger {
 public:
  // Messages below `min_level` are dropped. XTL_DEBUG..XTL_DETAIL go to log::debug,
  // XTL_PROGRESS..XTL_NOTICE to log::info, XTL_WARN to log::warn, above to log::error.
  explicit XtlLogger(xentoollog_level min_level = XTL_WARN);
  XtlLogger(const XtlLogger&) = delete;
  XtlLogger& operator=(const XtlLogger&) = delete;

  // What to hand to libxl_ctx_alloc / xenvchan. Valid while this object lives.
  xentoollog_logger* get() { return &adapter_.vtable; }

  // Error-level messages (XTL_ERROR and above) logged since the last call, oldest first,
  // joined with "; " and bounded (the last few, each cut to a few hundred bytes).
  std::string take_errors();
  void clear_errors();

  // The log::Level a xentoollog level maps to (exposed for tests).
  static int forwarded_level(xentoollog_level level);

 private:
  // libxl calls through the vtable; the back pointer finds this object again.
  struct Adapter {
    xentoollog_logger vtable;
    XtlLogger* self;
  };
  static void vmessage(xentoollog_logger* logger, xentoollog_level level, int errnoval, const char* context,
                       const char* format, va_list args) __attribute__((format(printf, 5, 0)));
  static void progress(xentoollog_logger* logger, const char* context, const char* doing_what, int percent,
                       unsigned long done, unsigned long total);
  static void destroy(xentoollog_logger* logger);
  void message(xentoollog_level level, int errnoval, const char* context, const std::string& text);

  Adapter adapter_;
  xentoollog_level min_level_;
  std::mutex mu_;
  std::deque<std::string> errors_;
};

}  // namespace zoned::xen
