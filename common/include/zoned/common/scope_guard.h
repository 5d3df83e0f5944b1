// ScopeGuard: runs a cleanup when the scope ends, unless dismissed. The undo step of a
// multi-step operation:
//   ScopeGuard remove_tmp([&] { ::unlink(tmp.c_str()); });
//   ... steps that may fail and return early ...
//   remove_tmp.dismiss();  // success: keep the file
#pragma once

#include <utility>

namespace zoned {

template <typename F>
class [[nodiscard]] ScopeGuard {
 public:
  explicit ScopeGuard(F cleanup) : cleanup_(std::move(cleanup)) {}
  ~ScopeGuard() {
    if (active_) cleanup_();
  }
  ScopeGuard(const ScopeGuard&) = delete;
  ScopeGuard& operator=(const ScopeGuard&) = delete;
  ScopeGuard(ScopeGuard&&) = delete;
  ScopeGuard& operator=(ScopeGuard&&) = delete;

  void dismiss() { active_ = false; }

 private:
  F cleanup_;
  bool active_ = true;
};

}  // namespace zoned
