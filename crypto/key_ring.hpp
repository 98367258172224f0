// The key ring in `keys.dir`: versioned key-encryption keys that wrap data keys, and server secrets.
// RFC 7748 (X25519), RFC 5869 (HKDF), NIST SP 800-38D (GCM); ECIES-style wrap. Untrusted input:
// wrapped keys from the store (refused unless their tag verifies); key files only past mode checks.
//
// Wrapped key (97 bytes) = version (1) || KEK id (uint32_be) || ephemeral public (32) || nonce (12)
//                          || AES-256-GCM(kek key, data key) (32) || tag (16),
// kek key = HKDF-SHA256(ikm = X25519(ephemeral, KEK), salt = ephemeral public || KEK public,
//                       info = "sinetti key wrap v1", 32),
// ad = version || KEK id || ephemeral public || data key id || uint16_be(len(message id)) || id.
// A ring may use one ephemeral key for several wraps within a short window (EphemeralReuse); each
// wrap still has its own random nonce and binds its own data key and message id, and the format is
// the same, so unwrap does not know or care.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/primitives.hpp"
#include "sinetti/clock.hpp"
#include "sinetti/result.hpp"

namespace sinetti::crypto {

using KekId = std::uint32_t;

inline constexpr std::uint8_t wrapped_key_version = 1;
inline constexpr std::size_t wrapped_key_size = 1 + 4 + x25519_key_size + gcm_nonce_size + data_key_size + gcm_tag_size;
inline constexpr std::size_t server_secret_size = 32;

// The server secrets `init` creates and `load` requires.
inline constexpr std::string_view standard_server_secrets[] = {"pin-mac", "identity", "session"};

// What a loaded ring may do. `seal` reads only the public halves of the KEKs (the network-facing
// ingest path); `open` also reads the private halves and is the only access that can unwrap.
enum class Access { seal, open };

struct KekInfo {
  KekId id = 0;
  std::chrono::system_clock::time_point created;
  bool active = false;
  bool has_private = false;  // the private half's file is present
};

// Wrapping costs two X25519 operations (a new ephemeral key pair, then the agreement with the KEK),
// about as much CPU as everything else the ingest does for a small message. With reuse, the ring
// keeps the last ephemeral key's derived wrap key (never the ephemeral private key) for at most
// `max_wraps` wraps and `max_age`, then wipes it and makes a new one. Whoever can read that key
// from memory in the window could unwrap the keys wrapped in it — the data keys and plaintext of
// the same messages are in memory then too, and a gateway that also delivers holds the KEK private
// halves. Off (a fresh ephemeral key per wrap) unless set.
struct EphemeralReuse {
  std::uint32_t max_wraps = 0;                 // 0 or 1: no reuse
  std::chrono::milliseconds max_age{1000};
  const Clock* clock = nullptr;                // required when max_wraps > 1; must outlive the ring
};

// The KEK a wrapped key names, without opening it (so the store can find keys to rewrap).
Result<KekId> wrapped_key_kek(ByteView wrapped);

// Directory layout, all files 0600 and the directory 0700:
//   kek-000001.pub  kek-000001.key  ...   public and private halves of each KEK version
//   active                                 names the KEK that new messages are wrapped to
//   pin-mac.secret  identity.secret  session.secret  (32 random bytes each)
// Every file is written to a temporary name, fsynced, renamed into place, and the directory fsynced.
// Loading refuses a private file (.key, .secret) that group or others may read or write, a public
// file or pointer that group or others may write, and a directory that group or others may write.
class KeyRing {
 public:
  // Creates a new ring with KEK 1 active and the standard server secrets. Refuses when `dir`
  // already holds a ring (or any part of one). Returns the active KEK id.
  static Result<KekId> init(const std::filesystem::path& dir, const Clock& clock);
  // Adds a new KEK version and makes it active; the old versions stay for opening. Returns its id.
  static Result<KekId> rotate(const std::filesystem::path& dir, const Clock& clock);
  // The KEK versions in id order. Reads only public files, but refuses, as load does, a private
  // file (.key, .secret) that group or others may read (so does rotate).
  static Result<std::vector<KekInfo>> list(const std::filesystem::path& dir);
  static Result<KeyRing> load(const std::filesystem::path& dir, Access access);

  KeyRing(KeyRing&&) noexcept = default;
  KeyRing& operator=(KeyRing&&) noexcept = default;
  KeyRing(const KeyRing&) = delete;
  KeyRing& operator=(const KeyRing&) = delete;
  ~KeyRing() = default;

  Access access() const noexcept { return access_; }
  KekId active_kek() const noexcept { return active_; }

  // Wraps `key` to the active KEK, bound to `message_id` (at most 255 bytes). Thread-safe.
  Bytes wrap(const DataKey& key, std::string_view message_id) const;
  // Set before the ring is shared between threads (see EphemeralReuse).
  void reuse_ephemeral(EphemeralReuse reuse);

  // Unwraps a data key. `key_id` is the data key id from the sealed blob's header (or the store);
  // `message_id` must be the one it was wrapped with. Fails on a seal-only ring, an unknown KEK, a
  // KEK whose private half is absent, or any mismatch or damage. Thread-safe.
  Result<DataKey> unwrap(ByteView wrapped, const DataKeyId& key_id, std::string_view message_id) const;

  // Unwraps and wraps again to the active KEK (for `keys rotate --rewrap`). Needs Access::open.
  Result<Bytes> rewrap(ByteView wrapped, const DataKeyId& key_id, std::string_view message_id) const;

  // A named server secret (32 bytes), valid while the ring lives.
  Result<ByteView> server_secret(std::string_view name) const;

 private:
  struct Kek {
    KekId id = 0;
    std::int64_t created = 0;  // seconds since the Unix epoch
    X25519Public public_key{};
    std::optional<X25519PrivateKey> private_key;  // none for Access::seal or without a .key file
  };

  KeyRing() = default;
  const Kek* find(KekId id) const noexcept;
  Kek* find(KekId id) noexcept { return const_cast<Kek*>(static_cast<const KeyRing*>(this)->find(id)); }

  std::filesystem::path dir_;
  Access access_ = Access::seal;
  KekId active_ = 0;
  std::vector<Kek> keks_;  // ascending id
  std::map<std::string, SecretBytes, std::less<>> secrets_;
  struct WrapCache;
  std::shared_ptr<WrapCache> wrap_cache_;  // null: a fresh ephemeral key per wrap
};

}  // namespace sinetti::crypto
