// SingleFlight: concurrent calls for the same key share one execution. The first caller runs
// the function; callers arriving while it runs wait and receive a copy of its result.
#pragma once

#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <string>

namespace zoned::image_store {

template <typename T>
class SingleFlight {
 public:
  // `shared` (optional) is set to true when this call joined another one's work.
  T run(const std::string& key, const std::function<T()>& work, bool* shared = nullptr) {
    std::unique_lock lock(mu_);
    if (auto it = in_flight_.find(key); it != in_flight_.end()) {
      std::shared_future<T> future = it->second;
      lock.unlock();
      if (shared != nullptr) *shared = true;
      return future.get();
    }
    std::promise<T> promise;
    in_flight_.emplace(key, promise.get_future().share());
    lock.unlock();
    if (shared != nullptr) *shared = false;
    T result = work();
    lock.lock();
    in_flight_.erase(key);
    lock.unlock();
    promise.set_value(result);
    return result;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::shared_future<T>> in_flight_;
};

}  // namespace zoned::image_store
