// Internal to crypto/: OpenSSL handles with owners, algorithms fetched once per process, and error
// text from OpenSSL's error queue. No untrusted input reaches this header.
#pragma once

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace sinetti::crypto::detail {

template <auto F>
struct Free {
  template <typename T>
  void operator()(T* p) const noexcept { F(p); }
};
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, Free<EVP_CIPHER_CTX_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Free<EVP_PKEY_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Free<EVP_PKEY_CTX_free>>;
using KdfCtxPtr = std::unique_ptr<EVP_KDF_CTX, Free<EVP_KDF_CTX_free>>;
using MacCtxPtr = std::unique_ptr<EVP_MAC_CTX, Free<EVP_MAC_CTX_free>>;

// `what` followed by the queued OpenSSL errors; empties the queue.
inline std::string openssl_message(std::string_view what) {
  std::string message(what);
  bool first = true;
  while (const unsigned long code = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    message += first ? ": " : "; ";
    message += text;
    first = false;
  }
  return message;
}

// An OpenSSL call that cannot fail on valid arguments did: out of memory or a broken library. A
// bug or a fatal condition, never an input error, so it throws.
[[noreturn]] inline void fail(std::string_view what) {
  throw std::runtime_error(openssl_message(std::string("crypto: ") + std::string(what)));
}

// Algorithms are fetched from the default provider once and kept for the life of the process
// (OpenSSL 3.0's implicit fetch on every EVP_*Init would repeat the provider lookup per call).
const EVP_CIPHER* aes_256_gcm();
const EVP_MD* sha256_md();
EVP_KDF* hkdf_kdf();
EVP_MAC* hmac_mac();

}  // namespace sinetti::crypto::detail
