// Content digests ("sha256:<64 hex>") and a streaming SHA-256.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "zoned/common/result.h"

namespace zoned::oci {

// A validated digest. Only sha256 is accepted (the only algorithm registries use in practice;
// sha512 can be added here when needed). The hex part is lower-case, exactly 64 characters, so
// it is safe to use as a file name.
class Digest {
 public:
  static Result<Digest> parse(std::string_view text);
  static Digest from_sha256_bytes(const std::array<uint8_t, 32>& bytes);

  const std::string& str() const { return text_; }  // "sha256:abc..."
  std::string_view algorithm() const { return "sha256"; }
  std::string_view hex() const { return std::string_view(text_).substr(7); }

  friend bool operator==(const Digest&, const Digest&) = default;
  friend auto operator<=>(const Digest&, const Digest&) = default;

 private:
  explicit Digest(std::string text) : text_(std::move(text)) {}
  std::string text_;
};

// Incremental SHA-256 (OpenSSL EVP underneath).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  Digest finish();  // the object must not be used afterwards

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

Digest sha256_of(std::string_view data);

}  // namespace zoned::oci
