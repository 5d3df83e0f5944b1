#include "zoned/xen/xtl_logger.h"

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "zoned/common/log.h"

namespace zoned::xen {
namespace {

constexpr size_t kMaxKeptErrors = 4;
constexpr size_t kMaxMessageBytes = 400;

}  // namespace

XtlLogger::XtlLogger(xentoollog_level min_level) : min_level_(min_level) {
  adapter_.vtable.vmessage = &XtlLogger::vmessage;
  adapter_.vtable.progress = &XtlLogger::progress;
  adapter_.vtable.destroy = &XtlLogger::destroy;
  adapter_.self = this;
}

int XtlLogger::forwarded_level(xentoollog_level level) {
  if (level >= XTL_ERROR) return static_cast<int>(log::Level::kError);
  if (level == XTL_WARN) return static_cast<int>(log::Level::kWarn);
  if (level >= XTL_PROGRESS) return static_cast<int>(log::Level::kInfo);
  return static_cast<int>(log::Level::kDebug);
}

void XtlLogger::vmessage(xentoollog_logger* logger, xentoollog_level level, int errnoval, const char* context,
                         const char* format, va_list args) {
  XtlLogger* self = reinterpret_cast<Adapter*>(logger)->self;
  // Errors are kept for take_errors() even when they are not logged.
  if (level < self->min_level_ && level < XTL_ERROR) return;
  char buf[kMaxMessageBytes + 1];
  int n = std::vsnprintf(buf, sizeof buf, format, args);
  if (n < 0) return;
  self->message(level, errnoval, context, buf);
}

void XtlLogger::progress(xentoollog_logger*, const char*, const char*, int, unsigned long, unsigned long) {
  // Progress bars (domain save/restore) are not logged.
}

void XtlLogger::destroy(xentoollog_logger*) {
  // The logger is owned by its XtlLogger, never by libxl.
}

void XtlLogger::message(xentoollog_level level, int errnoval, const char* context, const std::string& text) {
  std::string line = text;
  if (errnoval > 0) {
    line += ": ";
    line += std::strerror(errnoval);
  }
  if (level >= min_level_) {
    auto log_level = static_cast<log::Level>(forwarded_level(level));
    log::write(log_level, "xen toolstack: " + line, {{"component", context != nullptr ? context : "xen"}});
  }
  if (level < XTL_ERROR) return;
  std::lock_guard lock(mu_);
  errors_.push_back(std::move(line));
  if (errors_.size() > kMaxKeptErrors) errors_.pop_front();
}

std::string XtlLogger::take_errors() {
  std::lock_guard lock(mu_);
  std::string joined;
  for (const auto& e : errors_) {
    if (!joined.empty()) joined += "; ";
    joined += e;
  }
  errors_.clear();
  return joined;
}

void XtlLogger::clear_errors() {
  std::lock_guard lock(mu_);
  errors_.clear();
}

}  // namespace zoned::xen
