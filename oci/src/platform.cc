// Platform matching for indexes / manifest lists, with containerd's normalisation of
// architecture names and variants.
#include <algorithm>
#include <optional>

#include "zoned/oci/manifest.h"

namespace zoned::oci {
namespace {

constexpr size_t kMaxListedPlatforms = 20;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
  return out;
}

// "x86_64" -> amd64, "aarch64" -> arm64 (variant v8 implied), "armhf" -> arm/v7, ...
Platform normalise(const Platform& in) {
  Platform p{lower(in.os), lower(in.architecture), lower(in.variant), in.os_version};
  if (p.architecture == "x86_64" || p.architecture == "x86-64") p.architecture = "amd64";
  if (p.architecture == "i386") p.architecture = "386";
  if (p.architecture == "aarch64") p.architecture = "arm64";
  if (p.architecture == "armhf") p = {p.os, "arm", "v7", p.os_version};
  if (p.architecture == "armel") p = {p.os, "arm", "v6", p.os_version};
  if (p.architecture == "arm64" && (p.variant.empty() || p.variant == "8")) p.variant = "v8";
  if (p.architecture == "amd64" && p.variant == "v1") p.variant.clear();
  if (p.architecture == "arm" && p.variant.empty()) p.variant = "v7";
  if (p.architecture == "arm" && p.variant.size() == 1) p.variant = "v" + p.variant;
  return p;
}

bool is_attestation(const Descriptor& d) {
  if (d.annotations.contains("vnd.docker.reference.type")) return true;
  return d.platform && d.platform->os == "unknown" && d.platform->architecture == "unknown";
}

// Lower is better; nullopt when the entry cannot run on `want`.
std::optional<int> match_rank(const Descriptor& d, const Platform& want) {
  if (!is_manifest_media_type(d.media_type) || is_attestation(d)) return std::nullopt;
  if (!d.platform) return 100;  // no platform given: a last resort, as containerd treats it
  Platform have = normalise(*d.platform);
  if (have.os != want.os || have.architecture != want.architecture) return std::nullopt;
  if (have.variant == want.variant) return 0;
  if (have.variant.empty()) return 1;
  // Older ARM variants run on newer cores (v7 runs v6 and v5 code).
  if (want.architecture == "arm" && have.variant < want.variant) return 2 + (want.variant[1] - have.variant[1]);
  return std::nullopt;
}

std::string describe(const Platform& p) {
  std::string s = p.os + "/" + p.architecture;
  if (!p.variant.empty()) s += "/" + p.variant;
  return s;
}

std::string available_platforms(const Index& index) {
  std::string list;
  size_t listed = 0;
  for (const Descriptor& d : index.manifests) {
    if (is_attestation(d) || !d.platform) continue;
    if (listed++ == kMaxListedPlatforms) {
      list += ", ...";
      break;
    }
    list += (list.empty() ? "" : ", ") + describe(*d.platform).substr(0, 100);
  }
  return list.empty() ? "none" : list;
}

}  // namespace

Platform host_platform() {
#if defined(__aarch64__)
  return Platform{"linux", "arm64", "v8", ""};
#else
  return Platform{"linux", "amd64", "", ""};
#endif
}

Result<Descriptor> select_platform(const Index& index, const Platform& want) {
  Platform target = normalise(want);
  const Descriptor* best = nullptr;
  int best_rank = 0;
  for (const Descriptor& d : index.manifests) {
    std::optional<int> rank = match_rank(d, target);
    if (rank && (best == nullptr || *rank < best_rank)) {
      best = &d;
      best_rank = *rank;
    }
  }
  if (best == nullptr) {
    return Error(ErrorCode::kNotFound, "no manifest for platform " + describe(target) +
                                           " in the index; available: " + available_platforms(index));
  }
  return *best;
}

}  // namespace zoned::oci
