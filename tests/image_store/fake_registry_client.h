// FakeRegistryClient: serves images held in memory through the RegistryClient interface, with
// switches to make blob transfers fail, corrupt, stall or restart. Thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "layer_builder.h"
#include "zoned/oci/registry_client.h"

namespace zoned::testing {

struct FakeImage {
  std::string manifest_json;
  oci::Digest manifest_digest;
  std::string config_json;
  oci::Digest config_digest;
};

// An image config listing the layers' diff_ids (in order), with a little runtime config.
inline std::string make_config_json(const std::vector<Layer>& layers, const std::string& cmd = "sh") {
  std::string diff_ids;
  for (const Layer& layer : layers) diff_ids += (diff_ids.empty() ? "\"" : ",\"") + layer.diff_id.str() + "\"";
  return R"({"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/bin:/bin"],"Cmd":[")" + cmd +
         R"("],"WorkingDir":"/","Labels":{"test":"yes"}},"rootfs":{"type":"layers","diff_ids":[)" + diff_ids + "]}}";
}

inline std::string descriptor_json(std::string_view media_type, const oci::Digest& digest, size_t size) {
  return R"({"mediaType":")" + std::string(media_type) + R"(","digest":")" + digest.str() + R"(","size":)" +
         std::to_string(size) + "}";
}

class FakeRegistryClient : public oci::RegistryClient {
 public:
  struct BlobFault {
    bool fail = false;                   // fetch_blob returns an Unavailable error after half the data
    bool corrupt = false;                // serve the bytes with one flipped
    bool restart_once = false;           // send half, restart, then send everything
    std::chrono::milliseconds delay{0};  // before sending
  };

  // Publishes an image under `tag_ref` (a normalised "registry/repo:tag"); returns its digests.
  FakeImage add_image(const std::string& tag_ref, const std::vector<Layer>& layers, const std::string& cmd = "sh") {
    return add_image_with_config(tag_ref, layers, make_config_json(layers, cmd));
  }

  FakeImage add_image_with_config(const std::string& tag_ref, const std::vector<Layer>& layers,
                                  const std::string& config_json) {
    oci::Digest config_digest = oci::sha256_of(config_json);
    std::string layer_list;
    for (const Layer& layer : layers) {
      if (!layer_list.empty()) layer_list += ",";
      layer_list += descriptor_json(layer.descriptor.media_type, layer.descriptor.digest, layer.blob.size());
    }
    std::string manifest = R"({"schemaVersion":2,"mediaType":")" + std::string(oci::media_type::kOciManifest) +
                           R"(","config":)" +
                           descriptor_json(oci::media_type::kOciConfig, config_digest, config_json.size()) +
                           R"(,"layers":[)" + layer_list + "]}";
    oci::Digest manifest_digest = oci::sha256_of(manifest);
    std::lock_guard lock(mu_);
    blobs_[config_digest.str()] = config_json;
    for (const Layer& layer : layers) blobs_[layer.descriptor.digest.str()] = layer.blob;
    manifests_[tag_ref] = manifest;
    std::string name = tag_ref.substr(0, tag_ref.rfind(':'));
    manifests_[name + "@" + manifest_digest.str()] = manifest;
    return FakeImage{manifest, manifest_digest, config_json, config_digest};
  }

  void set_fault(const oci::Digest& blob, BlobFault fault) {
    std::lock_guard lock(mu_);
    faults_[blob.str()] = fault;
  }
  void clear_faults() {
    std::lock_guard lock(mu_);
    faults_.clear();
  }
  int fetches(const oci::Digest& blob) {
    std::lock_guard lock(mu_);
    return fetch_counts_[blob.str()];
  }
  int resolves() {
    std::lock_guard lock(mu_);
    return resolve_count_;
  }

  Result<oci::ResolvedManifest> resolve(const oci::Reference& ref, const oci::Credentials&,
                                        const oci::Platform&) override {
    std::lock_guard lock(mu_);
    ++resolve_count_;
    std::string key = ref.digest ? ref.digest_ref(*ref.digest) : ref.tag_ref();
    auto it = manifests_.find(key);
    if (it == manifests_.end()) return Error(ErrorCode::kNotFound, "manifest unknown: " + key);
    return oci::ResolvedManifest{oci::sha256_of(it->second), std::string(oci::media_type::kOciManifest), it->second,
                                 "http://" + ref.registry};
  }

  Status fetch_blob(const oci::Reference&, const oci::Descriptor& blob, const oci::Credentials&,
                    oci::BlobSink& sink) override {
    std::string data;
    BlobFault fault;
    {
      std::lock_guard lock(mu_);
      ++fetch_counts_[blob.digest.str()];
      auto it = blobs_.find(blob.digest.str());
      if (it == blobs_.end()) return Error(ErrorCode::kNotFound, "blob unknown: " + blob.digest.str());
      data = it->second;
      if (auto f = faults_.find(blob.digest.str()); f != faults_.end()) fault = f->second;
    }
    if (fault.delay.count() > 0) std::this_thread::sleep_for(fault.delay);
    if (fault.corrupt && !data.empty()) data[data.size() / 2] = static_cast<char>(data[data.size() / 2] ^ 0x5a);
    if (fault.fail) {
      ZONED_TRY(sink.write(data.data(), data.size() / 2));
      return Error(ErrorCode::kUnavailable, "connection reset by fake peer");
    }
    if (fault.restart_once) {
      ZONED_TRY(sink.write(data.data(), data.size() / 2));
      ZONED_TRY(sink.restart());
    }
    // In pieces, as a network would deliver it.
    for (size_t pos = 0; pos < data.size(); pos += 4096) {
      ZONED_TRY(sink.write(data.data() + pos, std::min<size_t>(4096, data.size() - pos)));
    }
    return ok_status();
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::string> blobs_;
  std::map<std::string, std::string> manifests_;  // "name:tag" and "name@digest"
  std::map<std::string, BlobFault> faults_;
  std::map<std::string, int> fetch_counts_;
  int resolve_count_ = 0;
};

}  // namespace zoned::testing
