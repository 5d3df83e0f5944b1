// FakeZoneHost and FakeDevices (fake_zone_host.h); FakeAgent is in fake_zone_agent.cc.
#include "fakes/fake_zone_host.h"

#include <fcntl.h>
#include <pty.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>

#include "zoned/common/file_ops.h"

namespace zoned::testing {

using zone_runtime::DiskAttachment;
using zone_runtime::DomainInfo;
using zone_runtime::DomainRunState;
using zone_runtime::DomainSpec;

namespace {

std::string domain_base(uint32_t domid) {
  return "/local/domain/" + std::to_string(domid);
}

// "/local/domain/<domid>/data/zoned/idm-request" -> domid
std::optional<uint32_t> idm_request_domid(const std::string& path) {
  const std::string prefix = "/local/domain/";
  const std::string suffix = "/data/zoned/idm-request";
  if (!path.starts_with(prefix) || !path.ends_with(suffix)) return std::nullopt;
  const std::string digits = path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
  if (digits.empty() || digits.size() > 9 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  return static_cast<uint32_t>(std::stoul(digits));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// FakeDevices

struct FakeDevices::State {
  std::mutex mu;
  std::vector<Record> records;
  std::optional<Error> fail_next;
};

namespace {

class FakeAttachedDevice final : public zone_runtime::AttachedDevice {
 public:
  FakeAttachedDevice(std::function<void(bool released)> done, std::string path)
      : done_(std::move(done)), path_(std::move(path)) {}
  ~FakeAttachedDevice() override {
    if (!released_) done_(false);
  }
  const std::string& path() const override { return path_; }
  void release() override {
    if (released_) return;
    released_ = true;
    done_(true);
  }

 private:
  std::function<void(bool)> done_;
  std::string path_;
  bool released_ = false;
};

}  // namespace

FakeDevices::FakeDevices() : state_(std::make_shared<State>()) {}

zone_runtime::DeviceAttacher FakeDevices::attacher() {
  std::shared_ptr<State> state = state_;
  return [state](const std::string& file) -> Result<std::unique_ptr<zone_runtime::AttachedDevice>> {
    std::lock_guard lock(state->mu);
    if (state->fail_next) {
      Error e = std::move(*state->fail_next);
      state->fail_next.reset();
      return e;
    }
    const size_t index = state->records.size();
    const std::string path = "/dev/fake-loop" + std::to_string(index);
    state->records.push_back({file, path, false, true});
    auto done = [state, index](bool released) {
      std::lock_guard inner(state->mu);
      if (released) {
        state->records[index].released = true;
      } else {
        state->records[index].attached = false;
      }
    };
    return std::unique_ptr<zone_runtime::AttachedDevice>(new FakeAttachedDevice(done, path));
  };
}

std::vector<FakeDevices::Record> FakeDevices::records() const {
  std::lock_guard lock(state_->mu);
  return state_->records;
}

std::vector<std::string> FakeDevices::attached() const {
  std::lock_guard lock(state_->mu);
  std::vector<std::string> out;
  for (const auto& r : state_->records) {
    if (r.attached) out.push_back(r.path);
  }
  return out;
}

void FakeDevices::let_go(const std::string& path) {
  std::lock_guard lock(state_->mu);
  for (auto& r : state_->records) {
    if (r.path == path && r.released) r.attached = false;
  }
}

void FakeDevices::fail_next_attach(Error error) {
  std::lock_guard lock(state_->mu);
  state_->fail_next = std::move(error);
}

// ---------------------------------------------------------------------------------------------
// FakeZoneHost

FakeZoneHost::FakeZoneHost() : programs_(default_fake_programs()) {}

FakeZoneHost::~FakeZoneHost() {
  std::map<uint32_t, std::unique_ptr<Domain>> domains;
  {
    std::lock_guard lock(mu_);
    domains.swap(domains_);
  }
  for (auto& [domid, d] : domains) d->agent->stop();
}

void FakeZoneHost::set_program(const std::string& argv0, FakeProgramFn program) {
  std::lock_guard lock(mu_);
  programs_[argv0] = std::move(program);
}

FakeProgram FakeZoneHost::program_for(const std::vector<std::string>& argv) const {
  FakeProgramFn fn;
  {
    std::lock_guard lock(mu_);
    if (!argv.empty()) {
      if (auto it = programs_.find(argv[0]); it != programs_.end()) fn = it->second;
    }
  }
  if (fn) return fn(argv);
  return FakeProgram{"", (argv.empty() ? std::string() : argv[0]) + ": not found\n", 127, {}, false};
}

void FakeZoneHost::fail_next_create(Error error) {
  std::lock_guard lock(mu_);
  fail_next_create_ = std::move(error);
}

void FakeZoneHost::set_agents_answer(bool answer) {
  std::vector<std::pair<std::shared_ptr<FakeAgent>, std::string>> late;  // requests not answered yet
  {
    std::lock_guard lock(mu_);
    agents_answer_ = answer;
    if (!answer) return;
    for (const auto& [domid, d] : domains_) {
      auto request = xenstore_.find(domain_base(domid) + "/data/zoned/idm-request");
      auto ready = xenstore_.find(domain_base(domid) + "/data/zoned/idm-ready");
      if (request == xenstore_.end() || d->state != DomainRunState::kRunning) continue;
      if (ready == xenstore_.end() || ready->second != request->second) late.emplace_back(d->agent, request->second);
    }
  }
  for (auto& [agent, generation] : late) agent->listen(generation);
}

std::vector<DomainSpec> FakeZoneHost::created_specs() const {
  std::lock_guard lock(mu_);
  return created_;
}

std::vector<std::pair<uint32_t, DiskAttachment>> FakeZoneHost::added_disks() const {
  std::lock_guard lock(mu_);
  return added_disks_;
}

std::vector<uint32_t> FakeZoneHost::destroyed() const {
  std::lock_guard lock(mu_);
  return destroyed_;
}

bool FakeZoneHost::has_domain(uint32_t domid) const {
  std::lock_guard lock(mu_);
  return domains_.count(domid) != 0;
}

size_t FakeZoneHost::domain_count() const {
  std::lock_guard lock(mu_);
  return domains_.size();
}

std::optional<DomainInfo> FakeZoneHost::domain(uint32_t domid) const {
  std::lock_guard lock(mu_);
  auto it = domains_.find(domid);
  if (it == domains_.end()) return std::nullopt;
  const Domain& d = *it->second;
  return DomainInfo{domid, d.spec.name, d.spec.uuid, d.state, d.spec.memory_mib * 1024, d.spec.vcpus, 1000};
}

std::shared_ptr<FakeAgent> FakeZoneHost::agent(uint32_t domid) const {
  std::lock_guard lock(mu_);
  auto it = domains_.find(domid);
  return it == domains_.end() ? nullptr : it->second->agent;
}

std::optional<std::string> FakeZoneHost::xenstore(const std::string& path) const {
  std::lock_guard lock(mu_);
  auto it = xenstore_.find(path);
  if (it == xenstore_.end()) return std::nullopt;
  return it->second;
}

bool FakeZoneHost::has_domain_change_callback() const {
  std::lock_guard lock(callback_mu_);
  return static_cast<bool>(callback_);
}

void FakeZoneHost::notify() {
  std::lock_guard lock(callback_mu_);
  if (callback_) callback_();
}

void FakeZoneHost::set_domain_state(uint32_t domid, DomainRunState state) {
  std::shared_ptr<FakeAgent> agent;
  {
    std::lock_guard lock(mu_);
    auto it = domains_.find(domid);
    if (it == domains_.end()) return;
    it->second->state = state;
    if (state != DomainRunState::kRunning) agent = it->second->agent;
  }
  if (agent) agent->stop();  // the guest is no longer running: nobody serves the channel
  notify();
}

void FakeZoneHost::vanish(uint32_t domid) {
  std::unique_ptr<Domain> gone;
  {
    std::lock_guard lock(mu_);
    gone = take_domain_locked(domid);
  }
  release_domain(std::move(gone));
  notify();
}

uint32_t FakeZoneHost::add_domain(const DomainSpec& spec) {
  std::lock_guard lock(mu_);
  return add_domain_locked(spec);
}

Status FakeZoneHost::write_console(uint32_t domid, std::string_view text) {
  int fd = -1;
  {
    std::lock_guard lock(mu_);
    auto it = domains_.find(domid);
    if (it == domains_.end()) return Error(ErrorCode::kNotFound, "fake host: no domain " + std::to_string(domid));
    fd = ::dup(it->second->console_master.get());
  }
  if (fd < 0) return sys_error("dup console master");
  UniqueFd master(fd);
  return fs::write_all(master.get(), text.data(), text.size());
}

uint32_t FakeZoneHost::add_domain_locked(const DomainSpec& spec) {
  const uint32_t domid = next_domid_++;
  auto d = std::make_unique<Domain>();
  d->spec = spec;
  int master = -1, slave = -1;
  char name[256] = {};
  if (::openpty(&master, &slave, name, nullptr, nullptr) == 0) {
    d->console_master = UniqueFd(master);
    d->console_slave = UniqueFd(slave);
    ::fcntl(master, F_SETFD, FD_CLOEXEC);
    ::fcntl(slave, F_SETFD, FD_CLOEXEC);
    struct termios tio {};
    if (::tcgetattr(slave, &tio) == 0) {  // no echo of what the test writes, no line discipline
      ::cfmakeraw(&tio);
      ::tcsetattr(slave, TCSANOW, &tio);
    }
    d->console_path = name;
  }
  d->agent = std::make_shared<FakeAgent>(*this, domid);
  xenstore_[domain_base(domid) + "/name"] = spec.name;
  domains_[domid] = std::move(d);
  return domid;
}

std::unique_ptr<FakeZoneHost::Domain> FakeZoneHost::take_domain_locked(uint32_t domid) {
  auto it = domains_.find(domid);
  if (it == domains_.end()) return nullptr;
  std::unique_ptr<Domain> d = std::move(it->second);
  domains_.erase(it);
  const std::string base = domain_base(domid) + "/";
  std::erase_if(xenstore_, [&](const auto& node) { return node.first.starts_with(base); });
  return d;
}

void FakeZoneHost::release_domain(std::unique_ptr<Domain> domain) {
  if (!domain) return;
  domain->agent->stop();
  for (const auto& disk : domain->spec.disks) devices.let_go(disk.target);
}

// --- Hypervisor

zone_runtime::HypervisorStatus FakeZoneHost::probe() {
  return {true, "", "", {{"hypervisor", "fake"}}};
}

Result<uint32_t> FakeZoneHost::create_domain(const DomainSpec& spec) {
  std::lock_guard lock(mu_);
  if (fail_next_create_) {
    Error e = std::move(*fail_next_create_);
    fail_next_create_.reset();
    return e;
  }
  for (const auto& [domid, d] : domains_) {
    if (d->spec.name == spec.name)
      return Error(ErrorCode::kAlreadyExists, "fake host: domain " + spec.name + " exists");
  }
  for (const auto& disk : spec.disks) {
    if (disk.target.empty() || disk.vdev.empty())
      return Error(ErrorCode::kInvalidArgument, "fake host: disk without target");
  }
  created_.push_back(spec);
  return add_domain_locked(spec);
}

Status FakeZoneHost::destroy_domain(uint32_t domid) {
  std::unique_ptr<Domain> gone;
  {
    std::lock_guard lock(mu_);
    gone = take_domain_locked(domid);
    if (gone) destroyed_.push_back(domid);
  }
  release_domain(std::move(gone));
  return ok_status();
}

Result<std::vector<DomainInfo>> FakeZoneHost::list_domains() {
  std::vector<uint32_t> ids;
  {
    std::lock_guard lock(mu_);
    for (const auto& [domid, d] : domains_) ids.push_back(domid);
  }
  std::vector<DomainInfo> out;
  for (uint32_t domid : ids) {
    if (auto info = domain(domid)) out.push_back(*info);
  }
  return out;
}

Status FakeZoneHost::add_disk(uint32_t domid, const DiskAttachment& disk) {
  std::lock_guard lock(mu_);
  auto it = domains_.find(domid);
  if (it == domains_.end()) return Error(ErrorCode::kNotFound, "fake host: no domain " + std::to_string(domid));
  for (const auto& d : it->second->spec.disks) {
    if (d.vdev == disk.vdev) return Error(ErrorCode::kAlreadyExists, "fake host: " + disk.vdev + " is in use");
  }
  it->second->spec.disks.push_back(disk);
  added_disks_.emplace_back(domid, disk);
  return ok_status();
}

Status FakeZoneHost::remove_disk(uint32_t domid, const std::string& vdev) {
  std::string target;
  {
    std::lock_guard lock(mu_);
    auto it = domains_.find(domid);
    if (it == domains_.end()) return Error(ErrorCode::kNotFound, "fake host: no domain " + std::to_string(domid));
    auto& disks = it->second->spec.disks;
    auto d = std::find_if(disks.begin(), disks.end(), [&](const DiskAttachment& a) { return a.vdev == vdev; });
    if (d == disks.end()) return Error(ErrorCode::kNotFound, "fake host: no disk " + vdev);
    target = d->target;
    disks.erase(d);
  }
  devices.let_go(target);
  return ok_status();
}

Result<std::string> FakeZoneHost::console_path(uint32_t domid) {
  std::lock_guard lock(mu_);
  auto it = domains_.find(domid);
  if (it == domains_.end()) return Error(ErrorCode::kNotFound, "fake host: no domain " + std::to_string(domid));
  return it->second->console_path;
}

Status FakeZoneHost::xenstore_write(const std::string& path, const std::string& value) {
  std::shared_ptr<FakeAgent> agent;
  {
    std::lock_guard lock(mu_);
    xenstore_[path] = value;
    if (auto domid = idm_request_domid(path); domid && agents_answer_) {
      auto it = domains_.find(*domid);
      if (it != domains_.end() && it->second->state == DomainRunState::kRunning) agent = it->second->agent;
    }
  }
  if (agent) agent->listen(value);
  return ok_status();
}

Result<std::optional<std::string>> FakeZoneHost::xenstore_read(const std::string& path) {
  return xenstore(path);
}

void FakeZoneHost::set_domain_change_callback(std::function<void()> callback) {
  std::lock_guard lock(callback_mu_);
  callback_ = std::move(callback);
}

Result<std::unique_ptr<idm::ByteChannel>> FakeZoneHost::connect_channel(uint32_t domid, const std::string& xs_path) {
  std::shared_ptr<FakeAgent> agent;
  {
    std::lock_guard lock(mu_);
    if (xs_path != domain_base(domid) + "/data/zoned/idm") {
      return Error(ErrorCode::kInvalidArgument, "fake host: unexpected channel path " + xs_path);
    }
    auto it = domains_.find(domid);
    if (it == domains_.end()) return Error(ErrorCode::kNotFound, "fake host: no domain " + std::to_string(domid));
    agent = it->second->agent;
  }
  return agent->take_channel();
}

void FakeZoneHost::agent_ready(uint32_t domid, const std::string& generation) {
  std::lock_guard lock(mu_);
  if (domains_.count(domid) != 0) xenstore_[domain_base(domid) + "/data/zoned/idm-ready"] = generation;
}

void FakeZoneHost::agent_powered_off(uint32_t domid) {
  {
    std::lock_guard lock(mu_);
    auto it = domains_.find(domid);
    if (it == domains_.end()) return;
    it->second->state = DomainRunState::kPoweroff;
  }
  notify();
}

}  // namespace zoned::testing
