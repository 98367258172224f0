// TLS client settings for outbound SMTP (RFC 3207 STARTTLS; RFC 6125 host name checks; TLS 1.2+
// per ASVS 12.1.1): certificate verification against the system store or a CA bundle, SNI, and the
// name or address the server's certificate must carry. Works on OpenSSL's handles so callers keep
// their own stream types (Asio's ssl::stream). Untrusted input: the server's certificate chain,
// which OpenSSL parses during the handshake.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "sinetti/result.hpp"

struct ssl_ctx_st;  // SSL_CTX
struct ssl_st;      // SSL

namespace sinetti::crypto {

struct TlsClientOptions {
  bool verify = true;                            // false: encrypt only (opportunistic TLS)
  std::optional<std::filesystem::path> ca_file;  // PEM trust anchors; empty: the system's store
};

// Sets up a fresh client context: TLS 1.2 minimum, no renegotiation, no compression; with verify,
// SSL_VERIFY_PEER against ca_file or the system's default paths. Reads the CA bundle (blocking; do
// it at start-up or reload). An error says which file could not be loaded and why.
std::optional<Error> configure_client_context(ssl_ctx_st* ctx, const TlsClientOptions& options);

// For one connection, before the handshake: SNI with the host name (not for an IP literal, RFC
// 6066 §3) and, with verify, the DNS name (wildcards in the leftmost label only) or IP address the
// certificate must match; a mismatch fails the handshake.
std::optional<Error> configure_client_connection(ssl_st* ssl, std::string_view host, bool verify);

// After a failed handshake: why verification failed ("certificate has expired", "hostname
// mismatch"), or empty when verification was not the cause.
std::string verify_failure(const ssl_st* ssl);

// After a handshake: the protocol version ("TLSv1.3").
std::string protocol_version(const ssl_st* ssl);

}  // namespace sinetti::crypto
