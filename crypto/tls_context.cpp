#include "crypto/tls_context.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace sinetti::crypto {
namespace {

namespace fs = std::filesystem;

// TLS 1.2: ECDHE key exchange with AEAD ciphers only (forward secrecy; no CBC, no RSA key transport).
constexpr const char* tls12_ciphers =
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256";
// TLS 1.3: OpenSSL's default suites, written out so a changed library default does not change ours.
constexpr const char* tls13_suites = "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256";
// ECDHE groups of at least 256 bits (REFERENCES "TLS").
constexpr const char* groups = "X25519:P-256:P-384";

// The first queued OpenSSL reason (the most specific one), and an empty queue.
std::string openssl_reason() {
  unsigned long first = ERR_peek_error();
  std::string reason;
  if (first != 0) {
    const char* r = ERR_reason_error_string(first);
    reason = r != nullptr ? r : "error " + std::to_string(ERR_GET_REASON(first));
  }
  ERR_clear_error();
  return reason.empty() ? "unknown error" : reason;
}

std::optional<Error> apply_policy(SSL_CTX* ctx) {
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 || SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
    return make_error("cannot set the TLS protocol versions: " + openssl_reason());
  }
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                               SSL_OP_NO_TICKET | SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 |
                               SSL_OP_NO_TLSv1_1);
  if (SSL_CTX_set_cipher_list(ctx, tls12_ciphers) != 1) return make_error("cannot set the TLS 1.2 ciphers: " + openssl_reason());
  if (SSL_CTX_set_ciphersuites(ctx, tls13_suites) != 1) return make_error("cannot set the TLS 1.3 suites: " + openssl_reason());
  if (SSL_CTX_set1_groups_list(ctx, groups) != 1) return make_error("cannot set the ECDHE groups: " + openssl_reason());
  // Level 2: RSA and DH keys of at least 2048 bits, ECC of at least 224 (REFERENCES: RSA >= 2048).
  if (SSL_CTX_get_security_level(ctx) < 2) SSL_CTX_set_security_level(ctx, 2);
  return std::nullopt;
}

// A file the gateway must read, with the system's reason if it cannot ("No such file or directory").
std::optional<Error> check_readable(const fs::path& file, const char* what) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return make_error(file.string() + ": cannot read the " + what + ": " + std::strerror(errno));
  return std::nullopt;
}

}  // namespace

Result<std::shared_ptr<TlsContext>> make_server_context(const fs::path& cert_file, const fs::path& key_file) {
  if (auto e = check_readable(cert_file, "certificate chain")) return *e;
  if (auto e = check_readable(key_file, "private key")) return *e;
  auto context = std::make_shared<TlsContext>(TlsContext::tls_server);
  SSL_CTX* ctx = context->native_handle();
  if (auto e = apply_policy(ctx)) return *e;
  // Stateless tickets are off; with no server-side cache either, there is no resumption to get wrong.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx, 0);
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1) {
    return make_error(cert_file.string() + ": cannot load the certificate chain: " + openssl_reason());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
      ERR_clear_error();
      return make_error(key_file.string() + ": the private key does not match the certificate in " + cert_file.string());
    }
    return make_error(key_file.string() + ": cannot load the private key: " + openssl_reason());
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return make_error(key_file.string() + ": the private key does not match the certificate in " + cert_file.string());
  }
  return context;
}

Result<std::shared_ptr<TlsContext>> make_client_context(const std::optional<fs::path>& ca_file, bool verify) {
  auto context = std::make_shared<TlsContext>(TlsContext::tls_client);
  SSL_CTX* ctx = context->native_handle();
  if (auto e = apply_policy(ctx)) return *e;
  if (!verify) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    return context;
  }
  ERR_clear_error();
  if (ca_file) {
    if (auto e = check_readable(*ca_file, "CA certificates")) return *e;
    if (SSL_CTX_load_verify_locations(ctx, ca_file->c_str(), nullptr) != 1) {
      return make_error(ca_file->string() + ": cannot load the CA certificates: " + openssl_reason());
    }
  } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
    return make_error("cannot load the system's CA certificates: " + openssl_reason());
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  return context;
}

std::optional<Error> set_client_peer_name(SSL* ssl, const std::string& host) {
  if (host.empty()) return make_error("no peer name");
  unsigned char ip[16];
  const bool is_ip = inet_pton(AF_INET, host.c_str(), ip) == 1 || inet_pton(AF_INET6, host.c_str(), ip) == 1;
  ERR_clear_error();
  // RFC 6066 §3: SNI carries DNS names only, never IP literals.
  // SSL_set_tlsext_host_name without the macro's old-style cast.
  if (!is_ip && SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(host.c_str())) != 1) {
    return make_error("cannot set the server name: " + openssl_reason());
  }
  if ((SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) == 0) return std::nullopt;
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  if (is_ip) {
    if (X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) != 1) return make_error("cannot set the peer address: " + openssl_reason());
  } else {
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size()) != 1) {
      return make_error("cannot set the peer name: " + openssl_reason());
    }
  }
  return std::nullopt;
}

TlsSessionInfo tls_session_info(SSL* ssl) {
  TlsSessionInfo info;
  if (const char* v = SSL_get_version(ssl)) info.protocol = v;
  if (const char* c = SSL_get_cipher_name(ssl)) info.cipher = c;
  return info;
}

// ---- ServerTlsContext ---------------------------------------------------------------------------------

ServerTlsContext::Files ServerTlsContext::stamp(const fs::path& cert, const fs::path& key) {
  Files f{cert, key, std::nullopt, std::nullopt};
  auto one = [](const fs::path& p) -> std::optional<Stamp> {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) return std::nullopt;
    return Stamp{st.st_dev, st.st_ino, st.st_size,
                 static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
  };
  f.cert_stamp = one(cert);
  f.key_stamp = one(key);
  return f;
}

Result<std::shared_ptr<ServerTlsContext>> ServerTlsContext::load(const fs::path& cert_file, const fs::path& key_file) {
  std::shared_ptr<ServerTlsContext> holder(new ServerTlsContext());
  auto loaded = holder->reload(cert_file, key_file, true);
  if (!loaded) return loaded.error();
  return holder;
}

Result<bool> ServerTlsContext::reload(const fs::path& cert_file, const fs::path& key_file, bool force) {
  std::lock_guard lock(mutex_);
  // Stamp before reading: a file replaced while we read it is seen as changed on the next check.
  Files now = stamp(cert_file, key_file);
  const bool same = current_.load() && files_.cert == now.cert && files_.key == now.key &&
                    files_.cert_stamp == now.cert_stamp && files_.key_stamp == now.key_stamp;
  if (same && !force) return false;
  auto context = make_server_context(cert_file, key_file);
  if (!context) {
    // Remember the failed state so an unchanged broken pair is not reported again at every check.
    if (current_.load()) files_ = std::move(now);
    return context.error();
  }
  current_.store(std::move(*context));
  files_ = std::move(now);
  return true;
}

Result<bool> ServerTlsContext::reload_if_changed() {
  fs::path cert, key;
  {
    std::lock_guard lock(mutex_);
    cert = files_.cert;
    key = files_.key;
  }
  return reload(cert, key, false);
}

}  // namespace sinetti::crypto
