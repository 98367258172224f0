// A verified identity as a portal session holds it after an OpenID Connect sign-in (DESIGN
// "Strong identification"): a citizen by the identity key that stands for their personal identity
// code (crypto::identity_key under the "identity" server secret — the code itself is never kept),
// a staff member by the subject, name, e-mail and groups their organisation's provider gave. The
// session stores it encoded (encode/decode, JSON) in the store beside its data. Untrusted input:
// decode's bytes (read back from the store; unreadable ones are no identity).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "gateway/store/types.hpp"

namespace sinetti::auth {

enum class IdentityKind { citizen, staff };

struct Identity {
  IdentityKind kind = IdentityKind::citizen;
  std::string provider;            // oidc.providers[].id
  std::chrono::system_clock::time_point verified_at{};  // when the ID token was accepted

  // citizen
  store::Bytes identity_key;       // 32 bytes; compare with UnlockPolicy::identity_hash
  std::string acr;                 // the assurance level the provider asserted

  // staff
  std::string subject;             // the provider's `sub`
  std::string name;
  std::string email;
  std::vector<std::string> groups;

  bool is_citizen() const { return kind == IdentityKind::citizen; }
  bool is_staff() const { return kind == IdentityKind::staff; }
  // A citizen whose identity key equals `key` (constant time).
  bool matches_identity_key(const store::Bytes& key) const;
  bool in_group(std::string_view group) const;

  store::Bytes encode() const;
  static std::optional<Identity> decode(const store::Bytes& bytes);
};

// Caps on what decode (and the verifier) keep from a provider's claims.
inline constexpr std::size_t max_claim_text = 256;
inline constexpr std::size_t max_groups = 64;

}  // namespace sinetti::auth
