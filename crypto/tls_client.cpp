// Client-side TLS settings over OpenSSL 3.0's SSL and X509 verification APIs.
#include "crypto/tls_client.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

namespace sinetti::crypto {

namespace {

std::string openssl_reason() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

bool is_ip_literal(std::string_view host) {
  const std::string h(host);
  unsigned char buf[16];
  return inet_pton(AF_INET, h.c_str(), buf) == 1 || inet_pton(AF_INET6, h.c_str(), buf) == 1;
}

}  // namespace

std::optional<Error> configure_client_context(ssl_ctx_st* ctx, const TlsClientOptions& options) {
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) return make_error("TLS 1.2 minimum: " + openssl_reason());
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  if (!options.verify) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    return std::nullopt;
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  if (options.ca_file) {
    if (SSL_CTX_load_verify_locations(ctx, options.ca_file->c_str(), nullptr) != 1) {
      return make_error("cannot load CA bundle " + options.ca_file->string() + ": " + openssl_reason());
    }
  } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
    return make_error("cannot load the system's CA store: " + openssl_reason());
  }
  return std::nullopt;
}

std::optional<Error> configure_client_connection(ssl_st* ssl, std::string_view host, bool verify) {
  const std::string name(host);
  const bool ip = is_ip_literal(host);
  // SSL_set_tlsext_host_name without its C cast.
  if (!ip && !name.empty() &&
      SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(name.c_str())) != 1) {
    return make_error("SNI: " + openssl_reason());
  }
  if (!verify) return std::nullopt;
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  // RFC 6125 §6.4.3: a wildcard only as the whole leftmost label; no partial wildcards.
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  const int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str())
                    : X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
  if (ok != 1) return make_error("cannot check the certificate against '" + name + "': " + openssl_reason());
  return std::nullopt;
}

std::string verify_failure(const ssl_st* ssl) {
  const long result = SSL_get_verify_result(ssl);
  if (result == X509_V_OK) return {};
  return X509_verify_cert_error_string(result);
}

std::string protocol_version(const ssl_st* ssl) { return SSL_get_version(ssl); }

}  // namespace sinetti::crypto
