#include "tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace zoned::streaming {

std::string tls_error_text() {
  std::string out;
  unsigned long e = 0;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown TLS error" : out;
}

namespace {

Result<SSL_CTX*> new_context(const SSL_METHOD* method) {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(method);
  if (ctx == nullptr) return Error(ErrorCode::kInternal, "TLS: cannot create a context: " + tls_error_text());
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // Writes may be partial and retried from a later position of the same buffer.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  return ctx;
}

}  // namespace

Result<std::shared_ptr<TlsContext>> TlsContext::server(const std::string& cert_file, const std::string& key_file) {
  if (cert_file.empty() || key_file.empty()) {
    return Error(ErrorCode::kInvalidArgument, "TLS needs both a certificate file and a key file");
  }
  auto ctx = new_context(TLS_server_method());
  if (!ctx.ok()) return std::move(ctx).take_error();
  std::shared_ptr<TlsContext> out(new TlsContext(*ctx, false));
  if (SSL_CTX_use_certificate_chain_file(*ctx, cert_file.c_str()) != 1) {
    return Error(ErrorCode::kInvalidArgument, "TLS certificate " + cert_file + ": " + tls_error_text());
  }
  if (SSL_CTX_use_PrivateKey_file(*ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return Error(ErrorCode::kInvalidArgument, "TLS key " + key_file + ": " + tls_error_text());
  }
  if (SSL_CTX_check_private_key(*ctx) != 1) {
    return Error(ErrorCode::kInvalidArgument,
                 "TLS key " + key_file + " does not match certificate " + cert_file + ": " + tls_error_text());
  }
  return out;
}

Result<std::shared_ptr<TlsContext>> TlsContext::client(const std::string& ca_file, bool insecure) {
  auto ctx = new_context(TLS_client_method());
  if (!ctx.ok()) return std::move(ctx).take_error();
  std::shared_ptr<TlsContext> out(new TlsContext(*ctx, !insecure));
  if (insecure) {
    SSL_CTX_set_verify(*ctx, SSL_VERIFY_NONE, nullptr);
    return out;
  }
  SSL_CTX_set_verify(*ctx, SSL_VERIFY_PEER, nullptr);
  const int loaded = ca_file.empty() ? SSL_CTX_set_default_verify_paths(*ctx)
                                     : SSL_CTX_load_verify_locations(*ctx, ca_file.c_str(), nullptr);
  if (loaded != 1) {
    return Error(ErrorCode::kInvalidArgument,
                 "TLS CA bundle " + (ca_file.empty() ? std::string("(system)") : ca_file) + ": " + tls_error_text());
  }
  return out;
}

TlsContext::~TlsContext() {
  SSL_CTX_free(ctx_);
}

}  // namespace zoned::streaming
