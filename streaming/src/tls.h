// TLS contexts (OpenSSL) for the streaming server and client. The server's holds its
// certificate chain and key (PEM files); the client's the CA bundle it verifies servers
// against (or none: verification off). TLS 1.2 or newer.
#pragma once

#include <memory>
#include <string>

#include "zoned/common/result.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace zoned::streaming {

class TlsContext {
 public:
  // Certificate chain and private key, both PEM; they must match.
  static Result<std::shared_ptr<TlsContext>> server(const std::string& cert_file, const std::string& key_file);
  // ca_file: PEM bundle that must have signed the server's certificate (empty: the system's
  // trust store); insecure: no verification at all.
  static Result<std::shared_ptr<TlsContext>> client(const std::string& ca_file, bool insecure);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* get() const { return ctx_; }
  bool verifies() const { return verify_; }

 private:
  TlsContext(SSL_CTX* ctx, bool verify) : ctx_(ctx), verify_(verify) {}
  SSL_CTX* ctx_;
  bool verify_;
};

// OpenSSL's error queue as text (and cleared), for messages.
std::string tls_error_text();

}  // namespace zoned::streaming
