// TLS contexts for asio::ssl: the server side of STARTTLS (and later the portal) and the client side
// of outbound SMTP. Policy (ASVS 12.1.1, REFERENCES "TLS"): TLS 1.2 and 1.3 only; for 1.2 only ECDHE
// with AES-GCM or ChaCha20-Poly1305 (forward secret, AEAD); TLS 1.3's default suites; ECDHE groups
// X25519, P-256, P-384; no compression, no renegotiation, the server's cipher order, no session
// tickets. Untrusted input: the peer's handshake (handled by OpenSSL); the files come from the operator.
#pragma once

#include <utility>  // before Asio (REFERENCES "Toolchain notes")

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <boost/asio/ssl/context.hpp>

#include "sinetti/result.hpp"

namespace sinetti::crypto {

using TlsContext = boost::asio::ssl::context;

// A server context with the certificate chain (leaf first, PEM) and its private key (PEM). Errors are
// one line naming the file, e.g. "var/tls/cert.pem: cannot load the certificate chain: no start line".
Result<std::shared_ptr<TlsContext>> make_server_context(const std::filesystem::path& cert_file,
                                                        const std::filesystem::path& key_file);

// A client context. verify: the peer's chain must verify against `ca_file` (PEM bundle) when given,
// else the system's trust store; the host name is checked per connection (set_client_peer_name).
// Without verify, any certificate is accepted (opportunistic TLS: encrypted, not authenticated).
Result<std::shared_ptr<TlsContext>> make_client_context(const std::optional<std::filesystem::path>& ca_file,
                                                        bool verify);

// Per connection, before the client handshake: SNI (for a DNS name) and, if the context verifies,
// the name (DNS name or IP address) the peer's certificate must match. `ssl` is the stream's
// native_handle().
std::optional<Error> set_client_peer_name(SSL* ssl, const std::string& host);

// The negotiated protocol and cipher of an established connection, e.g. "TLSv1.3",
// "TLS_AES_256_GCM_SHA384" (for Received: headers and logs).
struct TlsSessionInfo {
  std::string protocol;
  std::string cipher;
};
TlsSessionInfo tls_session_info(SSL* ssl);

// The server context of one certificate pair, swapped atomically when the files change: connections
// take current() when they start TLS and keep that context; new ones get the new context. Reloading
// reads the files (blocking: call it off the I/O threads); a pair that fails to load leaves the
// running context in place.
class ServerTlsContext {
 public:
  static Result<std::shared_ptr<ServerTlsContext>> load(const std::filesystem::path& cert_file,
                                                        const std::filesystem::path& key_file);

  std::shared_ptr<TlsContext> current() const { return current_.load(); }

  // Loads the pair again if either file's identity, size or modification time changed since the last
  // load, or if the paths differ from the current ones (`force`: in any case). Returns whether a new
  // context is now in use. Thread-safe; reloads are serialized.
  Result<bool> reload(const std::filesystem::path& cert_file, const std::filesystem::path& key_file, bool force = false);
  Result<bool> reload_if_changed();

 private:
  struct Stamp {
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = 0;
    std::int64_t mtime_ns = 0;
    bool operator==(const Stamp&) const = default;
  };
  struct Files {
    std::filesystem::path cert, key;
    std::optional<Stamp> cert_stamp, key_stamp;
  };
  static Files stamp(const std::filesystem::path& cert, const std::filesystem::path& key);

  ServerTlsContext() = default;
  std::atomic<std::shared_ptr<TlsContext>> current_;
  std::mutex mutex_;  // guards files_ and serializes reloads
  Files files_;
};

}  // namespace sinetti::crypto
