#include "pod_store.h"

#include <fcntl.h>
#include <google/protobuf/util/json_util.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "zoned/common/file_ops.h"
#include "zoned/common/fs.h"
#include "zoned/common/log.h"
#include "zoned/common/unique_fd.h"

namespace zoned::cri {

namespace v1 = runtime::v1;

namespace {

// Our own files, but still bounded: a record is a CRI config (kubelet keeps them far smaller).
constexpr size_t kMaxRecordBytes = 4 * 1024 * 1024;

bool valid_id(const std::string& id) {
  return id.size() == 64 && id.find_first_not_of("0123456789abcdef") == std::string::npos;
}

Result<nlohmann::json> proto_to_json(const google::protobuf::Message& message) {
  std::string text;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  auto status = google::protobuf::util::MessageToJsonString(message, &text, options);
  if (!status.ok()) return Error(ErrorCode::kInternal, "encoding a CRI config: " + std::string(status.message()));
  return nlohmann::json::parse(text);
}

Status json_to_proto(const nlohmann::json& j, google::protobuf::Message* message) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  auto status = google::protobuf::util::JsonStringToMessage(j.dump(), message, options);
  if (!status.ok())
    return Error(ErrorCode::kInvalidArgument, "decoding a CRI config: " + std::string(status.message()));
  return ok_status();
}

Result<SandboxRecord> sandbox_from_json(const nlohmann::json& j) {
  SandboxRecord r;
  try {
    r.id = j.at("id").get<std::string>();
    r.runtime_handler = j.at("runtime_handler").get<std::string>();
    r.created_at_ns = j.at("created_at_ns").get<int64_t>();
    r.ready = j.at("state").get<std::string>() == "ready";
    ZONED_TRY(json_to_proto(j.at("config"), &r.config));
  } catch (const nlohmann::json::exception& e) {
    return Error(ErrorCode::kInvalidArgument, std::string("malformed sandbox record: ") + e.what());
  }
  if (!valid_id(r.id)) return Error(ErrorCode::kInvalidArgument, "malformed sandbox record: bad id");
  return r;
}

Result<CriContainerRecord> container_from_json(const nlohmann::json& j) {
  CriContainerRecord r;
  try {
    r.id = j.at("id").get<std::string>();
    r.sandbox_id = j.at("sandbox_id").get<std::string>();
    r.log_path = j.at("log_path").get<std::string>();
    r.created_at_ns = j.at("created_at_ns").get<int64_t>();
    ZONED_TRY(json_to_proto(j.at("config"), &r.config));
  } catch (const nlohmann::json::exception& e) {
    return Error(ErrorCode::kInvalidArgument, std::string("malformed container record: ") + e.what());
  }
  if (!valid_id(r.id) || !valid_id(r.sandbox_id)) {
    return Error(ErrorCode::kInvalidArgument, "malformed container record: bad id");
  }
  return r;
}

Result<nlohmann::json> read_json(const std::string& path) {
  auto text = fs::read_file(path, kMaxRecordBytes);
  if (!text.ok()) return std::move(text).take_error();
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error(ErrorCode::kInvalidArgument, path + " is not a JSON object");
  return j;
}

}  // namespace

std::string PodStore::sandbox_name(const v1::PodSandboxMetadata& m) {
  return m.name() + "_" + m.namespace_() + "_" + m.uid() + "_" + std::to_string(m.attempt());
}

std::string PodStore::container_name(const v1::ContainerMetadata& m, const v1::PodSandboxMetadata& pod) {
  return m.name() + "_" + pod.name() + "_" + pod.namespace_() + "_" + pod.uid() + "_" + std::to_string(m.attempt());
}

Result<std::unique_ptr<PodStore>> PodStore::open(const std::string& dir) {
  for (const char* sub : {"", "/sandboxes", "/containers"}) {
    auto made = fs::make_dirs(dir + sub, 0700);
    if (!made.ok()) return std::move(made).take_error().wrap("CRI state directory");
  }
  std::unique_ptr<PodStore> store(new PodStore(dir));
  ZONED_TRY(store->load());
  return store;
}

Status PodStore::load() {
  for (const std::string kind : {"sandboxes", "containers"}) {
    std::string sub = dir_ + "/" + kind;
    UniqueFd dfd(::open(sub.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dfd.valid()) return sys_error("opening " + sub);
    auto names = fs::list_dir(dfd.get());
    if (!names.ok()) return std::move(names).take_error().wrap("listing " + sub);
    for (const auto& name : *names) {
      std::string path = sub + "/" + name;
      if (name.size() < 5 || name.substr(name.size() - 5) != ".json") {
        if (name.find(".tmp") != std::string::npos) ::unlink(path.c_str());  // an interrupted write
        continue;
      }
      auto j = read_json(path);
      if (!j.ok()) {
        log::warn("skipping unreadable CRI record", {{"path", path}, {"error", j.error().describe()}});
        continue;
      }
      if (kind == "sandboxes") {
        auto r = sandbox_from_json(*j);
        if (!r.ok()) {
          log::warn("skipping unreadable CRI record", {{"path", path}, {"error", r.error().describe()}});
          continue;
        }
        names_[sandbox_name(r->config.metadata())] = r->id;
        sandboxes_[r->id] = std::move(*r);
      } else {
        auto r = container_from_json(*j);
        if (!r.ok()) {
          log::warn("skipping unreadable CRI record", {{"path", path}, {"error", r.error().describe()}});
          continue;
        }
        containers_[r->id] = std::move(*r);
      }
    }
  }
  // Container names need their pod's metadata; a container whose pod record is gone is dropped.
  for (auto it = containers_.begin(); it != containers_.end();) {
    auto pod = sandboxes_.find(it->second.sandbox_id);
    if (pod == sandboxes_.end()) {
      log::warn("dropping CRI container record without its pod", {{"container", it->first}});
      ::unlink((dir_ + "/containers/" + it->first + ".json").c_str());
      it = containers_.erase(it);
      continue;
    }
    names_[container_name(it->second.config.metadata(), pod->second.config.metadata())] = it->first;
    ++it;
  }
  if (auto j = read_json(dir_ + "/runtime.json"); j.ok()) pod_cidr_ = j->value("pod_cidr", "");
  return ok_status();
}

Status PodStore::write_json(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  {
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd.valid()) return sys_error("creating " + tmp);
    auto written = fs::write_all(fd.get(), text.data(), text.size());
    if (!written.ok()) return std::move(written).take_error().wrap("writing " + tmp);
    if (::fsync(fd.get()) != 0) return sys_error("fsync " + tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return sys_error("renaming " + tmp);
  return fs::fsync_dir(path.substr(0, path.rfind('/')));
}

Status PodStore::reserve(const std::string& name, const std::string& holder) {
  std::lock_guard lock(mu_);
  auto [it, inserted] = names_.emplace(name, holder);
  if (!inserted) {
    return Error(ErrorCode::kAlreadyExists, "name \"" + name + "\" is reserved for \"" + it->second + "\"");
  }
  return ok_status();
}

void PodStore::reassign(const std::string& name, const std::string& holder) {
  std::lock_guard lock(mu_);
  names_[name] = holder;
}

void PodStore::release(const std::string& name) {
  std::lock_guard lock(mu_);
  names_.erase(name);
}

Status PodStore::put_sandbox(const SandboxRecord& r) {
  auto config = proto_to_json(r.config);
  if (!config.ok()) return std::move(config).take_error();
  nlohmann::json j = {{"id", r.id},
                      {"runtime_handler", r.runtime_handler},
                      {"created_at_ns", r.created_at_ns},
                      {"state", r.ready ? "ready" : "notready"},
                      {"config", *config}};
  std::lock_guard lock(mu_);
  ZONED_TRY(write_json(dir_ + "/sandboxes/" + r.id + ".json", j.dump()));
  sandboxes_[r.id] = r;
  return ok_status();
}

Status PodStore::remove_sandbox(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = sandboxes_.find(id);
  if (it == sandboxes_.end()) return ok_status();
  std::string path = dir_ + "/sandboxes/" + id + ".json";
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return sys_error("removing " + path);
  names_.erase(sandbox_name(it->second.config.metadata()));
  sandboxes_.erase(it);
  return ok_status();
}

template <typename Map>
typename Map::mapped_type* PodStore::find_locked(Map& map, const std::string& key) {
  if (key.empty()) return nullptr;
  if (auto it = map.find(key); it != map.end()) return &it->second;
  typename Map::mapped_type* found = nullptr;
  for (auto it = map.lower_bound(key); it != map.end() && it->first.compare(0, key.size(), key) == 0; ++it) {
    if (found != nullptr) return nullptr;  // ambiguous
    found = &it->second;
  }
  return found;
}

std::optional<SandboxRecord> PodStore::sandbox(const std::string& id_or_prefix) {
  std::lock_guard lock(mu_);
  auto* r = find_locked(sandboxes_, id_or_prefix);
  if (r == nullptr) return std::nullopt;
  return *r;
}

std::vector<SandboxRecord> PodStore::sandboxes() {
  std::lock_guard lock(mu_);
  std::vector<SandboxRecord> out;
  for (const auto& [id, r] : sandboxes_) out.push_back(r);
  return out;
}

Status PodStore::put_container(const CriContainerRecord& r) {
  auto config = proto_to_json(r.config);
  if (!config.ok()) return std::move(config).take_error();
  nlohmann::json j = {{"id", r.id},
                      {"sandbox_id", r.sandbox_id},
                      {"log_path", r.log_path},
                      {"created_at_ns", r.created_at_ns},
                      {"config", *config}};
  std::lock_guard lock(mu_);
  ZONED_TRY(write_json(dir_ + "/containers/" + r.id + ".json", j.dump()));
  containers_[r.id] = r;
  return ok_status();
}

Status PodStore::remove_container(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = containers_.find(id);
  if (it == containers_.end()) return ok_status();
  std::string path = dir_ + "/containers/" + id + ".json";
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return sys_error("removing " + path);
  if (auto pod = sandboxes_.find(it->second.sandbox_id); pod != sandboxes_.end()) {
    names_.erase(container_name(it->second.config.metadata(), pod->second.config.metadata()));
  }
  containers_.erase(it);
  return ok_status();
}

std::optional<CriContainerRecord> PodStore::container(const std::string& id_or_prefix) {
  std::lock_guard lock(mu_);
  auto* r = find_locked(containers_, id_or_prefix);
  if (r == nullptr) return std::nullopt;
  return *r;
}

std::vector<CriContainerRecord> PodStore::containers(const std::string& sandbox_id) {
  std::lock_guard lock(mu_);
  std::vector<CriContainerRecord> out;
  for (const auto& [id, r] : containers_) {
    if (sandbox_id.empty() || r.sandbox_id == sandbox_id) out.push_back(r);
  }
  return out;
}

Status PodStore::set_pod_cidr(const std::string& cidr) {
  std::lock_guard lock(mu_);
  ZONED_TRY(write_json(dir_ + "/runtime.json", nlohmann::json{{"pod_cidr", cidr}}.dump()));
  pod_cidr_ = cidr;
  return ok_status();
}

std::string PodStore::pod_cidr() {
  std::lock_guard lock(mu_);
  return pod_cidr_;
}

}  // namespace zoned::cri
