// Building blocks over OpenSSL 3.0 EVP: SHA-256, HMAC, HKDF, X25519, AES-256-GCM, wiping, base64url.
// FIPS 180-4, RFC 2104, RFC 5869, RFC 7748, NIST SP 800-38D, RFC 4648 §5. Untrusted input reaches
// base64url_decode, aes256gcm_open and the X25519 peer keys; they return Result.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sinetti/result.hpp"

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX and EVP_PKEY, kept out of this header
struct evp_pkey_st;

namespace sinetti::crypto {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

// The bytes of a string, without a copy.
inline ByteView as_bytes(std::string_view s) noexcept {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// ---- wiping and comparison -------------------------------------------------------------------

// Overwrites `bytes` with zeros in a way the compiler may not optimise away (OPENSSL_cleanse).
void secure_wipe(std::span<std::uint8_t> bytes) noexcept;
void secure_wipe(std::string& text) noexcept;

// True when a and b have the same length and contents. The time taken depends only on the lengths,
// never on where the first difference is (CRYPTO_memcmp).
bool constant_time_equal(ByteView a, ByteView b) noexcept;

// ---- self-wiping secret types ----------------------------------------------------------------

// Owned secret bytes (keys, shared secrets, derived keys). Move-only; wiped when destroyed or
// overwritten by a move.
class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(std::size_t size);  // zero-filled
  static SecretBytes random(std::size_t size);
  static SecretBytes copy_of(ByteView bytes);

  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes();

  std::uint8_t* data() noexcept { return data_.get(); }
  const std::uint8_t* data() const noexcept { return data_.get(); }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::span<std::uint8_t> span() noexcept { return {data_.get(), size_}; }
  ByteView view() const noexcept { return {data_.get(), size_}; }

 private:
  void wipe() noexcept;
  std::unique_ptr<std::uint8_t[]> data_;
  std::size_t size_ = 0;
};

inline constexpr std::size_t data_key_size = 32;     // AES-256
inline constexpr std::size_t data_key_id_size = 16;  // random, names the key in blob headers
using DataKeyId = std::array<std::uint8_t, data_key_id_size>;

// The per-message content key and its random id. Move-only; the key is wiped on destruction and
// when moved from.
class DataKey {
 public:
  // A fresh random 256-bit key with a fresh random 128-bit id.
  static DataKey generate();
  // A key whose bytes came from elsewhere (an unwrapped key); `key` must be 32 bytes.
  static Result<DataKey> from_bytes(const DataKeyId& id, ByteView key);

  DataKey(DataKey&& other) noexcept;
  DataKey& operator=(DataKey&& other) noexcept;
  DataKey(const DataKey&) = delete;
  DataKey& operator=(const DataKey&) = delete;
  ~DataKey();

  const DataKeyId& id() const noexcept { return id_; }
  ByteView bytes() const noexcept { return key_; }

 private:
  DataKey() = default;
  DataKeyId id_{};
  std::array<std::uint8_t, data_key_size> key_{};
};

// ---- hashing and MACs ------------------------------------------------------------------------

inline constexpr std::size_t sha256_size = 32;
using Sha256Digest = std::array<std::uint8_t, sha256_size>;

Sha256Digest sha256(ByteView data);

// Incremental SHA-256. Move-only; `finish` may be called once, after which the object is spent.
class Sha256 {
 public:
  Sha256();
  Sha256(Sha256&& other) noexcept;
  Sha256& operator=(Sha256&& other) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  ~Sha256();

  void update(ByteView data);
  Sha256Digest finish();

 private:
  evp_md_ctx_st* ctx_ = nullptr;
};

Sha256Digest hmac_sha256(ByteView key, ByteView data);

// HKDF-SHA256 (RFC 5869): extract with `salt` (empty means HashLen zeros), expand with `info` to
// `length` bytes (at most 255 * 32). A length out of range is a programming error and throws.
SecretBytes hkdf_sha256(ByteView ikm, ByteView salt, ByteView info, std::size_t length);

// ---- X25519 (RFC 7748) -----------------------------------------------------------------------

inline constexpr std::size_t x25519_key_size = 32;
using X25519Public = std::array<std::uint8_t, x25519_key_size>;

struct X25519KeyPair {
  SecretBytes private_key;  // 32 bytes, as RFC 7748 §5 scalars (clamped when used)
  X25519Public public_key;
};

X25519KeyPair x25519_generate();

// A private key held imported, for repeated agreements: importing a scalar costs a scalar
// multiplication (OpenSSL computes the public key), as much as the agreement itself. Move-only;
// thread-safe for concurrent shared_secret calls.
class X25519PrivateKey {
 public:
  static X25519PrivateKey generate();
  static Result<X25519PrivateKey> from_bytes(ByteView private_key);

  X25519PrivateKey(X25519PrivateKey&& other) noexcept;
  X25519PrivateKey& operator=(X25519PrivateKey&& other) noexcept;
  X25519PrivateKey(const X25519PrivateKey&) = delete;
  X25519PrivateKey& operator=(const X25519PrivateKey&) = delete;
  ~X25519PrivateKey();

  const X25519Public& public_key() const noexcept { return public_key_; }
  SecretBytes private_bytes() const;
  // Same checks as x25519_shared_secret.
  Result<SecretBytes> shared_secret(ByteView peer_public) const;

 private:
  X25519PrivateKey() = default;
  evp_pkey_st* pkey_ = nullptr;
  X25519Public public_key_{};
};

// The public key of a 32-byte private scalar.
Result<X25519Public> x25519_public_key(ByteView private_key);
// X25519(private, peer_public). Fails on wrong lengths and on a peer key of small order (the
// all-zero output RFC 7748 §6.1 tells implementations to check for).
Result<SecretBytes> x25519_shared_secret(ByteView private_key, ByteView peer_public);

// ---- AES-256-GCM one-shot (NIST SP 800-38D), 96-bit nonce, 128-bit tag ------------------------

inline constexpr std::size_t aes_key_size = 32;
inline constexpr std::size_t gcm_nonce_size = 12;
inline constexpr std::size_t gcm_tag_size = 16;

// Encrypts `plaintext` into `out` as ciphertext || tag; `out` must hold plaintext.size() + 16
// bytes. Wrong key or nonce sizes are programming errors and throw std::invalid_argument.
void aes256gcm_seal(ByteView key, ByteView nonce, ByteView ad, ByteView plaintext, std::span<std::uint8_t> out);
Bytes aes256gcm_seal(ByteView key, ByteView nonce, ByteView ad, ByteView plaintext);

// Verifies and decrypts `sealed` (ciphertext || tag) into `out` (at least sealed.size() - 16
// bytes). Returns the plaintext length; on failure `out` is wiped and nothing is released.
Result<std::size_t> aes256gcm_open(ByteView key, ByteView nonce, ByteView ad, ByteView sealed,
                                   std::span<std::uint8_t> out);
Result<Bytes> aes256gcm_open(ByteView key, ByteView nonce, ByteView ad, ByteView sealed);

// ---- base64url (RFC 4648 §5), no padding ------------------------------------------------------

std::string base64url_encode(ByteView data);
// Strict: only the 64 URL-safe characters, no padding, no whitespace, a length that is not 1 mod 4,
// and zero bits in the unused low bits of the last character (so each value has one encoding).
Result<Bytes> base64url_decode(std::string_view text);

}  // namespace sinetti::crypto
