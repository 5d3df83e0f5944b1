// FakeHypervisor: an in-memory Hypervisor for tests. Domains live in a map with states the
// test changes (set_state, vanish); xenstore is a map; connect_channel hands out one end of a
// socketpair channel (idm::socket_channel_pair) and gives the other end to the test, which
// plays the zone's agent. Every call is recorded; the next create / destroy can be made to fail.
// Thread-safe like the real one: the domain-change callback runs on the caller's thread, after
// the fake's lock is released, whenever a domain is destroyed or changes state.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "zoned/idm/socket_channel.h"
#include "zoned/zone_runtime/hypervisor.h"

namespace zoned::testing {

class FakeHypervisor final : public zone_runtime::Hypervisor {
 public:
  using DomainInfo = zone_runtime::DomainInfo;
  using DomainRunState = zone_runtime::DomainRunState;
  using DomainSpec = zone_runtime::DomainSpec;
  using DiskAttachment = zone_runtime::DiskAttachment;

  struct Domain {
    DomainSpec spec;  // as created; spec.disks tracks add_disk / remove_disk
    DomainInfo info;
  };

  // --- probe: the test sets `next` ---
  zone_runtime::HypervisorStatus next;
  int probes = 0;
  zone_runtime::HypervisorStatus probe() override {
    std::lock_guard lock(mu_);
    ++probes;
    return next;
  }

  // --- test controls ---
  // The next create_domain / destroy_domain fails with this error (once).
  void fail_next_create(Error error) {
    std::lock_guard lock(mu_);
    create_failure_ = std::move(error);
  }
  void fail_next_destroy(Error error) {
    std::lock_guard lock(mu_);
    destroy_failure_ = std::move(error);
  }
  // The guest powered off, crashed, ...: changes the state and fires the callback.
  void set_state(uint32_t domid, DomainRunState state) {
    {
      std::lock_guard lock(mu_);
      auto it = domains_.find(domid);
      if (it == domains_.end()) return;
      it->second.info.state = state;
    }
    notify();
  }
  // The domain disappears as if destroyed behind the daemon's back (xl destroy).
  void vanish(uint32_t domid) {
    {
      std::lock_guard lock(mu_);
      domains_.erase(domid);
    }
    notify();
  }
  // The agent of `domid` serves its channel at `xs_path`: connect_channel succeeds from now on.
  void serve_channel(uint32_t domid, const std::string& xs_path) {
    std::lock_guard lock(mu_);
    served_.insert({domid, xs_path});
  }
  void stop_serving_channel(uint32_t domid, const std::string& xs_path) {
    std::lock_guard lock(mu_);
    served_.erase({domid, xs_path});
  }
  // The agent's end of the last channel connected to `domid` (nullptr if none is waiting).
  std::unique_ptr<idm::ByteChannel> take_agent_end(uint32_t domid) {
    std::lock_guard lock(mu_);
    auto it = agent_ends_.find(domid);
    if (it == agent_ends_.end() || it->second.empty()) return nullptr;
    auto end = std::move(it->second.front());
    it->second.pop_front();
    return end;
  }
  // Alternatively: called (outside the lock) with the agent's end at every connect.
  void on_connect(std::function<void(uint32_t domid, std::unique_ptr<idm::ByteChannel> agent_end)> handler) {
    std::lock_guard lock(mu_);
    connect_handler_ = std::move(handler);
  }
  void set_console_path(uint32_t domid, std::string path) {
    std::lock_guard lock(mu_);
    consoles_[domid] = std::move(path);
  }

  // --- inspection ---
  std::optional<Domain> domain(uint32_t domid) const {
    std::lock_guard lock(mu_);
    auto it = domains_.find(domid);
    if (it == domains_.end()) return std::nullopt;
    return it->second;
  }
  size_t domain_count() const {
    std::lock_guard lock(mu_);
    return domains_.size();
  }
  std::map<std::string, std::string> xenstore() const {
    std::lock_guard lock(mu_);
    return xenstore_;
  }
  int creates() const {
    std::lock_guard lock(mu_);
    return creates_;
  }
  int destroys() const {
    std::lock_guard lock(mu_);
    return destroys_;
  }
  std::vector<uint32_t> destroyed() const {
    std::lock_guard lock(mu_);
    return destroyed_;
  }

  // --- Hypervisor ---
  Result<uint32_t> create_domain(const DomainSpec& spec) override {
    std::lock_guard lock(mu_);
    ++creates_;
    if (create_failure_) return take(create_failure_);
    if (spec.name.empty()) return Error(ErrorCode::kInvalidArgument, "fake: domain name is empty");
    for (const auto& [id, d] : domains_) {
      if (d.spec.name == spec.name)
        return Error(ErrorCode::kAlreadyExists, "fake: a domain named " + spec.name + " exists");
    }
    const uint32_t domid = next_domid_++;
    Domain d;
    d.spec = spec;
    d.info.domid = domid;
    d.info.name = spec.name;
    d.info.uuid = spec.uuid;
    d.info.state = DomainRunState::kRunning;
    d.info.memory_kib = spec.memory_mib * 1024;
    d.info.vcpus_online = spec.vcpus;
    domains_.emplace(domid, std::move(d));
    return domid;
  }

  Status destroy_domain(uint32_t domid) override {
    {
      std::lock_guard lock(mu_);
      ++destroys_;
      if (destroy_failure_) return take(destroy_failure_);
      if (domains_.erase(domid) == 0) return ok_status();  // already gone: fine
      destroyed_.push_back(domid);
      for (auto it = xenstore_.begin(); it != xenstore_.end();) {
        it = it->first.starts_with(domain_home(domid)) ? xenstore_.erase(it) : std::next(it);
      }
    }
    notify();
    return ok_status();
  }

  Result<std::vector<DomainInfo>> list_domains() override {
    std::lock_guard lock(mu_);
    std::vector<DomainInfo> out;
    for (const auto& [id, d] : domains_) out.push_back(d.info);
    return out;
  }

  Status add_disk(uint32_t domid, const DiskAttachment& disk) override {
    std::lock_guard lock(mu_);
    auto it = domains_.find(domid);
    if (it == domains_.end()) return Error(ErrorCode::kNotFound, "fake: no domain " + std::to_string(domid));
    for (const auto& d : it->second.spec.disks) {
      if (d.vdev == disk.vdev) return Error(ErrorCode::kAlreadyExists, "fake: disk " + disk.vdev + " exists");
    }
    it->second.spec.disks.push_back(disk);
    return ok_status();
  }

  Status remove_disk(uint32_t domid, const std::string& vdev) override {
    std::lock_guard lock(mu_);
    auto it = domains_.find(domid);
    if (it == domains_.end()) return Error(ErrorCode::kNotFound, "fake: no domain " + std::to_string(domid));
    auto& disks = it->second.spec.disks;
    for (auto d = disks.begin(); d != disks.end(); ++d) {
      if (d->vdev == vdev) {
        disks.erase(d);
        return ok_status();
      }
    }
    return Error(ErrorCode::kNotFound, "fake: domain has no disk " + vdev);
  }

  Result<std::string> console_path(uint32_t domid) override {
    std::lock_guard lock(mu_);
    if (domains_.count(domid) == 0) return Error(ErrorCode::kNotFound, "fake: no domain " + std::to_string(domid));
    auto it = consoles_.find(domid);
    if (it == consoles_.end()) return Error(ErrorCode::kUnavailable, "fake: no console set for this domain");
    return it->second;
  }

  Status xenstore_write(const std::string& path, const std::string& value) override {
    std::lock_guard lock(mu_);
    xenstore_[path] = value;
    return ok_status();
  }

  Result<std::optional<std::string>> xenstore_read(const std::string& path) override {
    std::lock_guard lock(mu_);
    auto it = xenstore_.find(path);
    if (it == xenstore_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }

  void set_domain_change_callback(std::function<void()> callback) override {
    std::lock_guard lock(mu_);
    callback_ = std::move(callback);
  }

  Result<std::unique_ptr<idm::ByteChannel>> connect_channel(uint32_t domid, const std::string& xs_path) override {
    std::function<void(uint32_t, std::unique_ptr<idm::ByteChannel>)> handler;
    std::unique_ptr<idm::ByteChannel> agent_end;
    std::unique_ptr<idm::ByteChannel> daemon_end;
    {
      std::lock_guard lock(mu_);
      if (domains_.count(domid) == 0) return Error(ErrorCode::kUnavailable, "fake: no domain " + std::to_string(domid));
      if (served_.count({domid, xs_path}) == 0) {
        return Error(ErrorCode::kUnavailable, "fake: nothing serves a channel at " + xs_path);
      }
      auto pair = idm::socket_channel_pair();
      if (!pair.ok()) return std::move(pair).take_error();
      daemon_end = std::move(pair->first);
      agent_end = std::move(pair->second);
      handler = connect_handler_;
      if (!handler) agent_ends_[domid].push_back(std::move(agent_end));
    }
    if (handler) handler(domid, std::move(agent_end));
    return daemon_end;
  }

 private:
  static std::string domain_home(uint32_t domid) { return "/local/domain/" + std::to_string(domid) + "/"; }
  static Error take(std::optional<Error>& failure) {
    Error e = std::move(*failure);
    failure.reset();
    return e;
  }
  void notify() {
    std::function<void()> callback;
    {
      std::lock_guard lock(mu_);
      callback = callback_;
    }
    if (callback) callback();
  }

  mutable std::mutex mu_;
  std::map<uint32_t, Domain> domains_;
  uint32_t next_domid_ = 1;
  std::map<std::string, std::string> xenstore_;
  std::map<uint32_t, std::string> consoles_;
  std::set<std::pair<uint32_t, std::string>> served_;
  std::map<uint32_t, std::deque<std::unique_ptr<idm::ByteChannel>>> agent_ends_;
  std::function<void(uint32_t, std::unique_ptr<idm::ByteChannel>)> connect_handler_;
  std::function<void()> callback_;
  std::optional<Error> create_failure_;
  std::optional<Error> destroy_failure_;
  int creates_ = 0;
  int destroys_ = 0;
  std::vector<uint32_t> destroyed_;
};

}  // namespace zoned::testing
