// The primitives of primitives.hpp over OpenSSL 3.0's EVP, KDF and HMAC interfaces.
#include "crypto/primitives.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <cstring>
#include <limits>
#include <stdexcept>

#include "crypto/openssl_support.hpp"
#include "crypto/random.hpp"

namespace sinetti::crypto {

namespace detail {

const EVP_CIPHER* aes_256_gcm() {
  static const EVP_CIPHER* const cipher = [] {
    EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
    if (c == nullptr) fail("fetching AES-256-GCM");
    return c;
  }();
  return cipher;
}

const EVP_MD* sha256_md() {
  static const EVP_MD* const md = [] {
    EVP_MD* m = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (m == nullptr) fail("fetching SHA256");
    return m;
  }();
  return md;
}

EVP_KDF* hkdf_kdf() {
  static EVP_KDF* const kdf = [] {
    EVP_KDF* k = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
    if (k == nullptr) fail("fetching HKDF");
    return k;
  }();
  return kdf;
}

EVP_MAC* hmac_mac() {
  static EVP_MAC* const mac = [] {
    EVP_MAC* m = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (m == nullptr) fail("fetching HMAC");
    return m;
  }();
  return mac;
}

}  // namespace detail

namespace {

// OpenSSL's interfaces take int lengths; everything we pass is far smaller, so a larger one is a bug.
int checked_int(std::size_t n) {
  if (n > static_cast<std::size_t>(std::numeric_limits<int>::max())) throw std::length_error("crypto: buffer too large");
  return static_cast<int>(n);
}

// OSSL_PARAM octet strings must not point at nullptr even when empty.
void* param_data(ByteView bytes) {
  static std::uint8_t empty = 0;
  return bytes.empty() ? &empty : const_cast<std::uint8_t*>(bytes.data());
}

}  // namespace

// ---- wiping and comparison -------------------------------------------------------------------

void secure_wipe(std::span<std::uint8_t> bytes) noexcept {
  if (!bytes.empty()) OPENSSL_cleanse(bytes.data(), bytes.size());
}

void secure_wipe(std::string& text) noexcept {
  if (!text.empty()) OPENSSL_cleanse(text.data(), text.size());
  text.clear();
}

bool constant_time_equal(ByteView a, ByteView b) noexcept {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// ---- SecretBytes and DataKey -----------------------------------------------------------------

SecretBytes::SecretBytes(std::size_t size) : data_(size ? new std::uint8_t[size]() : nullptr), size_(size) {}

SecretBytes SecretBytes::random(std::size_t size) {
  SecretBytes s(size);
  random_bytes(s.span());
  return s;
}

SecretBytes SecretBytes::copy_of(ByteView bytes) {
  SecretBytes s(bytes.size());
  if (!bytes.empty()) std::memcpy(s.data(), bytes.data(), bytes.size());
  return s;
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept : data_(std::move(other.data_)), size_(other.size_) {
  other.size_ = 0;
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    wipe();
    data_ = std::move(other.data_);
    size_ = other.size_;
    other.size_ = 0;
  }
  return *this;
}

SecretBytes::~SecretBytes() { wipe(); }

void SecretBytes::wipe() noexcept {
  if (data_ && size_ > 0) OPENSSL_cleanse(data_.get(), size_);
  data_.reset();
  size_ = 0;
}

DataKey DataKey::generate() {
  DataKey k;
  random_bytes(k.key_);
  random_bytes(k.id_);
  return k;
}

Result<DataKey> DataKey::from_bytes(const DataKeyId& id, ByteView key) {
  if (key.size() != data_key_size) return make_error("a data key is 32 bytes, not " + std::to_string(key.size()));
  DataKey k;
  k.id_ = id;
  std::memcpy(k.key_.data(), key.data(), data_key_size);
  return k;
}

DataKey::DataKey(DataKey&& other) noexcept : id_(other.id_), key_(other.key_) {
  OPENSSL_cleanse(other.key_.data(), other.key_.size());
}

DataKey& DataKey::operator=(DataKey&& other) noexcept {
  if (this != &other) {
    id_ = other.id_;
    key_ = other.key_;
    OPENSSL_cleanse(other.key_.data(), other.key_.size());
  }
  return *this;
}

DataKey::~DataKey() { OPENSSL_cleanse(key_.data(), key_.size()); }

// ---- hashing and MACs ------------------------------------------------------------------------

Sha256Digest sha256(ByteView data) {
  Sha256Digest out{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, detail::sha256_md(), nullptr) != 1 || len != out.size()) {
    detail::fail("SHA-256");
  }
  return out;
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr || EVP_DigestInit_ex(ctx_, detail::sha256_md(), nullptr) != 1) {
    EVP_MD_CTX_free(ctx_);
    detail::fail("SHA-256 init");
  }
}

Sha256::Sha256(Sha256&& other) noexcept : ctx_(other.ctx_) { other.ctx_ = nullptr; }

Sha256& Sha256::operator=(Sha256&& other) noexcept {
  if (this != &other) {
    EVP_MD_CTX_free(ctx_);
    ctx_ = other.ctx_;
    other.ctx_ = nullptr;
  }
  return *this;
}

Sha256::~Sha256() { EVP_MD_CTX_free(ctx_); }

void Sha256::update(ByteView data) {
  if (ctx_ == nullptr) throw std::logic_error("crypto: Sha256 used after finish");
  if (!data.empty() && EVP_DigestUpdate(ctx_, data.data(), data.size()) != 1) detail::fail("SHA-256 update");
}

Sha256Digest Sha256::finish() {
  if (ctx_ == nullptr) throw std::logic_error("crypto: Sha256 finished twice");
  Sha256Digest out{};
  unsigned int len = 0;
  const int ok = EVP_DigestFinal_ex(ctx_, out.data(), &len);
  EVP_MD_CTX_free(ctx_);
  ctx_ = nullptr;
  if (ok != 1 || len != out.size()) detail::fail("SHA-256 final");
  return out;
}

namespace {

// One HMAC-SHA256 context per thread, its digest set once. OpenSSL 3.0's one-shot HMAC() fetches
// the MAC and the digest from the provider on every call (a CSRF token, a session id or a PIN MAC
// each paid for two method-store lookups and a context); EVP_MAC_init with a key only re-keys.
// The last key's inner and outer states stay in the context until the thread's next HMAC; the
// keys MACed here (server secrets, PIN keys) live in this process's memory anyway.
EVP_MAC_CTX* thread_hmac_ctx() {
  thread_local const detail::MacCtxPtr ctx = [] {
    detail::MacCtxPtr c(EVP_MAC_CTX_new(detail::hmac_mac()));
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                                 OSSL_PARAM_construct_end()};
    if (!c || EVP_MAC_CTX_set_params(c.get(), params) != 1) detail::fail("HMAC-SHA256 context");
    return c;
  }();
  return ctx.get();
}

}  // namespace

Sha256Digest hmac_sha256(ByteView key, ByteView data) {
  Sha256Digest out{};
  std::size_t len = 0;
  EVP_MAC_CTX* ctx = thread_hmac_ctx();
  // Never a null key: EVP_MAC_init(ctx, nullptr, ...) keeps the key of the previous call.
  static const std::uint8_t no_key = 0;
  const std::uint8_t* key_data = key.empty() ? &no_key : key.data();
  if (EVP_MAC_init(ctx, key_data, key.size(), nullptr) != 1 ||
      (!data.empty() && EVP_MAC_update(ctx, data.data(), data.size()) != 1) ||
      EVP_MAC_final(ctx, out.data(), &len, out.size()) != 1 || len != out.size()) {
    detail::fail("HMAC-SHA256");
  }
  return out;
}

SecretBytes hkdf_sha256(ByteView ikm, ByteView salt, ByteView info, std::size_t length) {
  if (length == 0 || length > 255 * sha256_size) throw std::invalid_argument("crypto: HKDF-SHA256 output length out of range");
  detail::KdfCtxPtr ctx(EVP_KDF_CTX_new(detail::hkdf_kdf()));
  if (!ctx) detail::fail("HKDF context");
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, param_data(ikm), ikm.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, param_data(salt), salt.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, param_data(info), info.size()),
      OSSL_PARAM_construct_end(),
  };
  SecretBytes out(length);
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1) detail::fail("HKDF-SHA256");
  return out;
}

// ---- X25519 ----------------------------------------------------------------------------------

namespace {

X25519Public raw_public_key(EVP_PKEY* pkey) {
  X25519Public pub{};
  std::size_t len = pub.size();
  if (EVP_PKEY_get_raw_public_key(pkey, pub.data(), &len) != 1 || len != pub.size()) detail::fail("X25519 public key");
  return pub;
}

}  // namespace

X25519PrivateKey X25519PrivateKey::generate() {
  X25519PrivateKey key;
  key.pkey_ = EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519");
  if (key.pkey_ == nullptr) detail::fail("X25519 key generation");
  key.public_key_ = raw_public_key(key.pkey_);
  return key;
}

Result<X25519PrivateKey> X25519PrivateKey::from_bytes(ByteView private_key) {
  if (private_key.size() != x25519_key_size) return make_error("an X25519 private key is 32 bytes");
  X25519PrivateKey key;
  key.pkey_ = EVP_PKEY_new_raw_private_key_ex(nullptr, "X25519", nullptr, private_key.data(), private_key.size());
  if (key.pkey_ == nullptr) return make_error(detail::openssl_message("X25519 private key"));
  key.public_key_ = raw_public_key(key.pkey_);
  return key;
}

X25519PrivateKey::X25519PrivateKey(X25519PrivateKey&& other) noexcept : pkey_(other.pkey_), public_key_(other.public_key_) {
  other.pkey_ = nullptr;
}

X25519PrivateKey& X25519PrivateKey::operator=(X25519PrivateKey&& other) noexcept {
  if (this != &other) {
    EVP_PKEY_free(pkey_);
    pkey_ = other.pkey_;
    public_key_ = other.public_key_;
    other.pkey_ = nullptr;
  }
  return *this;
}

X25519PrivateKey::~X25519PrivateKey() { EVP_PKEY_free(pkey_); }

SecretBytes X25519PrivateKey::private_bytes() const {
  SecretBytes out(x25519_key_size);
  std::size_t len = out.size();
  if (pkey_ == nullptr || EVP_PKEY_get_raw_private_key(pkey_, out.data(), &len) != 1 || len != x25519_key_size) {
    detail::fail("X25519 key export");
  }
  return out;
}

Result<SecretBytes> X25519PrivateKey::shared_secret(ByteView peer_public) const {
  if (pkey_ == nullptr) throw std::logic_error("crypto: X25519PrivateKey used after a move");
  if (peer_public.size() != x25519_key_size) return make_error("an X25519 public key is 32 bytes");
  const detail::PkeyPtr peer(EVP_PKEY_new_raw_public_key_ex(nullptr, "X25519", nullptr, peer_public.data(), peer_public.size()));
  if (!peer) return make_error(detail::openssl_message("X25519 public key"));
  const detail::PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey_, nullptr));
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1) detail::fail("X25519 derive init");
  if (EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) != 1) return make_error(detail::openssl_message("X25519 peer key"));
  SecretBytes shared(x25519_key_size);
  std::size_t len = shared.size();
  if (EVP_PKEY_derive(ctx.get(), shared.data(), &len) != 1 || len != x25519_key_size) {
    // OpenSSL refuses an all-zero result (a small-order peer point, RFC 7748 §6.1).
    return make_error(detail::openssl_message("X25519: no shared secret with this peer key"));
  }
  static constexpr std::array<std::uint8_t, x25519_key_size> zeros{};
  if (constant_time_equal(shared.view(), zeros)) return make_error("X25519: the peer key has small order");
  return shared;
}

X25519KeyPair x25519_generate() {
  const X25519PrivateKey key = X25519PrivateKey::generate();
  return X25519KeyPair{key.private_bytes(), key.public_key()};
}

Result<X25519Public> x25519_public_key(ByteView private_key) {
  auto key = X25519PrivateKey::from_bytes(private_key);
  if (!key) return key.error();
  return key->public_key();
}

Result<SecretBytes> x25519_shared_secret(ByteView private_key, ByteView peer_public) {
  auto key = X25519PrivateKey::from_bytes(private_key);
  if (!key) return key.error();
  return key->shared_secret(peer_public);
}

// ---- AES-256-GCM one-shot --------------------------------------------------------------------

namespace {

void check_key_and_nonce(ByteView key, ByteView nonce) {
  if (key.size() != aes_key_size) throw std::invalid_argument("crypto: AES-256-GCM needs a 32-byte key");
  if (nonce.size() != gcm_nonce_size) throw std::invalid_argument("crypto: AES-256-GCM needs a 12-byte nonce");
}

}  // namespace

void aes256gcm_seal(ByteView key, ByteView nonce, ByteView ad, ByteView plaintext, std::span<std::uint8_t> out) {
  check_key_and_nonce(key, nonce);
  if (out.size() < plaintext.size() + gcm_tag_size) throw std::invalid_argument("crypto: AES-256-GCM output too small");
  detail::CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int n = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), detail::aes_256_gcm(), nullptr, key.data(), nonce.data()) != 1 ||
      (!ad.empty() && EVP_EncryptUpdate(ctx.get(), nullptr, &n, ad.data(), checked_int(ad.size())) != 1) ||
      (!plaintext.empty() &&
       EVP_EncryptUpdate(ctx.get(), out.data(), &n, plaintext.data(), checked_int(plaintext.size())) != 1) ||
      EVP_EncryptFinal_ex(ctx.get(), out.data() + plaintext.size(), &n) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(gcm_tag_size),
                          out.data() + plaintext.size()) != 1) {
    detail::fail("AES-256-GCM seal");
  }
}

Bytes aes256gcm_seal(ByteView key, ByteView nonce, ByteView ad, ByteView plaintext) {
  Bytes out(plaintext.size() + gcm_tag_size);
  aes256gcm_seal(key, nonce, ad, plaintext, out);
  return out;
}

Result<std::size_t> aes256gcm_open(ByteView key, ByteView nonce, ByteView ad, ByteView sealed,
                                   std::span<std::uint8_t> out) {
  check_key_and_nonce(key, nonce);
  if (sealed.size() < gcm_tag_size) return make_error("AES-256-GCM: sealed data shorter than its tag");
  const std::size_t length = sealed.size() - gcm_tag_size;
  if (out.size() < length) throw std::invalid_argument("crypto: AES-256-GCM output too small");
  if (length > static_cast<std::size_t>(std::numeric_limits<int>::max())) return make_error("AES-256-GCM: too large");
  detail::CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int n = 0;
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), detail::aes_256_gcm(), nullptr, key.data(), nonce.data()) != 1 ||
      (!ad.empty() && EVP_DecryptUpdate(ctx.get(), nullptr, &n, ad.data(), checked_int(ad.size())) != 1) ||
      (length > 0 && EVP_DecryptUpdate(ctx.get(), out.data(), &n, sealed.data(), static_cast<int>(length)) != 1) ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(gcm_tag_size),
                          const_cast<std::uint8_t*>(sealed.data() + length)) != 1) {
    detail::fail("AES-256-GCM open");
  }
  if (EVP_DecryptFinal_ex(ctx.get(), out.data() + length, &n) != 1) {
    ERR_clear_error();
    secure_wipe(out.first(length));
    return make_error("AES-256-GCM: authentication failed");
  }
  return length;
}

Result<Bytes> aes256gcm_open(ByteView key, ByteView nonce, ByteView ad, ByteView sealed) {
  Bytes out(sealed.size() >= gcm_tag_size ? sealed.size() - gcm_tag_size : 0);
  auto opened = aes256gcm_open(key, nonce, ad, sealed, out);
  if (!opened) return opened.error();
  return out;
}

// ---- base64url -------------------------------------------------------------------------------

namespace {

constexpr char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::array<std::int8_t, 256> b64_values = [] {
  std::array<std::int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(b64_alphabet[i])] = static_cast<std::int8_t>(i);
  return t;
}();

}  // namespace

std::string base64url_encode(ByteView data) {
  std::string out;
  out.reserve((data.size() * 4 + 2) / 3);
  std::size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    const std::uint32_t n = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8) | data[i + 2];
    out += b64_alphabet[(n >> 18) & 63];
    out += b64_alphabet[(n >> 12) & 63];
    out += b64_alphabet[(n >> 6) & 63];
    out += b64_alphabet[n & 63];
  }
  if (const std::size_t rest = data.size() - i; rest == 1) {
    const std::uint32_t n = std::uint32_t{data[i]} << 16;
    out += b64_alphabet[(n >> 18) & 63];
    out += b64_alphabet[(n >> 12) & 63];
  } else if (rest == 2) {
    const std::uint32_t n = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8);
    out += b64_alphabet[(n >> 18) & 63];
    out += b64_alphabet[(n >> 12) & 63];
    out += b64_alphabet[(n >> 6) & 63];
  }
  return out;
}

Result<Bytes> base64url_decode(std::string_view text) {
  if (text.size() % 4 == 1) return make_error("base64url: impossible length " + std::to_string(text.size()));
  Bytes out;
  out.reserve(text.size() / 4 * 3 + 2);
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const std::int8_t v = b64_values[static_cast<unsigned char>(text[i])];
    if (v < 0) return make_error("base64url: invalid character at offset " + std::to_string(i));
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>(acc >> bits));
      acc &= (1u << bits) - 1;
    }
  }
  if (acc != 0) return make_error("base64url: non-zero padding bits in the last character");
  return out;
}

}  // namespace sinetti::crypto
