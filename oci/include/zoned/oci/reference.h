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

  // Parses and normalises. The first path component is the registry when it contains '.' or
  // ':' or is "localhost" (else docker.io); index.docker.io becomes docker.io; a one-component
  // docker.io repository gets "library/"; no tag and no digest means tag "latest", a digest
  // alone leaves the tag empty, "name:tag@digest" keeps both. Repository components are
  // [a-z0-9]+(([._]|__|-+)[a-z0-9]+)*, tags [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}, digests sha256,
  // registry/repository at most 255 characters. Errors are InvalidArgument (Unimplemented for
  // other digest algorithms) and say what is wrong ("repository name must be lower-case").
  static Result<Reference> parse(std::string_view text);

  std::string name() const;                       // registry/repository
  std::string str() const;                        // name[:tag][@digest], fully qualified
  std::string tag_ref() const;                    // name:tag (empty if no tag)
  std::string digest_ref(const Digest& d) const;  // name@digest
};

}  // namespace zoned::oci
