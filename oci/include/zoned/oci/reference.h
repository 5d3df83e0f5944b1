// Image references, normalised like Docker and containerd:
//   busybox                -> docker.io/library/busybox:latest
//   registry.k8s.io/pause:3.10, localhost:5000/x@sha256:...
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "zoned/common/result.h"
#include "zoned/oci/digest.h"

namespace zoned::oci {

struct Reference {
  std::string registry;    // "docker.io", "registry.k8s.io", "127.0.0.1:5000"
  std::string repository;  // "library/busybox"
  std::string tag;         // empty when only a digest was given
  std::optional<Digest> digest;

  // Parses and normalises. Rejects upper-case repositories, bad tags, bad digests, empty parts.
  static Result<Reference> parse(std::string_view text);

  std::string name() const;                       // registry/repository
  std::string str() const;                        // name[:tag][@digest], fully qualified
  std::string tag_ref() const;                    // name:tag (empty if no tag)
  std::string digest_ref(const Digest& d) const;  // name@digest
};

}  // namespace zoned::oci
