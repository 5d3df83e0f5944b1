#include "zoned/oci/digest.h"

#include <openssl/evp.h>

#include <stdexcept>

namespace zoned::oci {

Result<Digest> Digest::parse(std::string_view text) {
  constexpr std::string_view kPrefix = "sha256:";
  if (text.substr(0, kPrefix.size()) != kPrefix) {
    auto colon = text.find(':');
    if (colon == std::string_view::npos) {
      return Error(ErrorCode::kInvalidArgument,
                   "invalid digest '" + std::string(text.substr(0, 100)) + "': expected <algorithm>:<hex>");
    }
    return Error(ErrorCode::kUnimplemented,
                 "unsupported digest algorithm '" + std::string(text.substr(0, std::min<size_t>(colon, 32))) + "'");
  }
  std::string_view hex = text.substr(kPrefix.size());
  if (hex.size() != 64) {
    return Error(ErrorCode::kInvalidArgument,
                 "invalid sha256 digest: expected 64 hex characters, got " + std::to_string(hex.size()));
  }
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return Error(ErrorCode::kInvalidArgument, "invalid sha256 digest: non-hex or upper-case character");
    }
  }
  return Digest(std::string(text));
}

Digest Digest::from_sha256_bytes(const std::array<uint8_t, 32>& bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text = "sha256:";
  for (uint8_t b : bytes) {
    text += kHex[b >> 4];
    text += kHex[b & 0xf];
  }
  return Digest(std::move(text));
}

struct Sha256::Impl {
  EVP_MD_CTX* ctx = nullptr;
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {
  impl_->ctx = EVP_MD_CTX_new();
  if (impl_->ctx == nullptr || EVP_DigestInit_ex(impl_->ctx, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("OpenSSL: cannot initialise SHA-256");
  }
}

Sha256::~Sha256() {
  EVP_MD_CTX_free(impl_->ctx);
}

void Sha256::update(const void* data, size_t size) {
  EVP_DigestUpdate(impl_->ctx, data, size);
}

Digest Sha256::finish() {
  std::array<uint8_t, 32> out{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(impl_->ctx, out.data(), &len);
  return Digest::from_sha256_bytes(out);
}

Digest sha256_of(std::string_view data) {
  Sha256 h;
  h.update(data);
  return h.finish();
}

}  // namespace zoned::oci
