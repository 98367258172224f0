// ID token verification (OpenID Connect Core §3.1.3.7, the FTN profile) without I/O: the caller
// hands in the token, the provider's keys (a JwksCache whose refetch is the caller's I/O), the
// policy from config, the expected nonce and the clock. Refusals are values whose message starts
// with a stable reason word (reason_of), so callers and tests can tell them apart; they never
// contain claim values. Untrusted input: the token (compact JWS, or JWE around a JWS) and the JWKS.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway/auth/jose.hpp"
#include "sinetti/clock.hpp"
#include "sinetti/result.hpp"

namespace sinetti::auth {

// Signature algorithms accepted on ID tokens (never none or HMAC); key management and content
// algorithms accepted on encrypted ones (RSA1_5 is not: RFC 8725 §3.2).
inline constexpr std::string_view signature_algorithms[] = {"RS256", "ES256", "PS256"};
inline constexpr std::string_view key_algorithms[] = {"RSA-OAEP", "ECDH-ES"};
inline constexpr std::string_view content_algorithms[] = {"A128GCM", "A192GCM", "A256GCM", "A128CBC-HS256",
                                                          "A192CBC-HS384", "A256CBC-HS512"};

// A provider's signing keys by kid, from its JWKS document.
class KeySet {
 public:
  static Result<KeySet> parse(std::string_view jwks_json);  // keys it cannot use are skipped
  const Jwk* find(std::string_view kid) const;
  // Without a kid in the header: the only key of that type, if there is exactly one.
  const Jwk* only(std::string_view kty) const;
  std::size_t size() const { return keys_.size(); }

 private:
  std::vector<Jwk> keys_;
};

// The provider's keys with rotation: a kid not in the cached set makes one refetch (at most once
// per `min_refetch`, so a stream of forged kids cannot make us hammer the provider); still unknown
// after that, the token is refused.
class JwksCache {
 public:
  using Fetch = std::function<Result<std::string>()>;  // the JWKS document; blocking
  JwksCache(Fetch fetch, const Clock& clock, std::chrono::seconds min_refetch = std::chrono::seconds(60));

  // The key for `kid` (empty kid: the only key of `kty`), refetching once if unknown.
  Result<Jwk> key_for(std::string_view kid, std::string_view kty);
  std::size_t fetches() const { return fetches_; }

 private:
  Result<std::monostate> refresh();

  Fetch fetch_;
  const Clock& clock_;
  std::chrono::seconds min_refetch_;
  std::optional<KeySet> keys_;
  std::optional<std::chrono::steady_clock::time_point> fetched_at_;
  std::size_t fetches_ = 0;
};

// FTN assurance levels in order; other acr values compare only equal.
int acr_rank(std::string_view acr);  // 0: unknown; loa2 = 2, loa3 = 3

struct IdTokenPolicy {
  std::string issuer;                    // exact
  std::string client_id;                 // in aud; azp when present
  std::vector<std::string> acr_values;   // empty: no requirement; else acr must reach the lowest
  bool require_encryption = false;       // a plain JWS is refused
  const Jwk* decryption_key = nullptr;   // ours, for JWE; null: a JWE is refused
  std::chrono::seconds skew{60};         // tolerance on exp / iat / nbf
  std::chrono::seconds max_age{600};     // iat no older than this
};

// Verifies and returns the claims. `nonce`: the one this sign-in sent (required, constant-time
// comparison). `first_use(nonce)`: true the first time a nonce is seen (single use across
// sessions); called only once every other check passed.
Result<nlohmann::json> verify_id_token(std::string_view token, const IdTokenPolicy& policy, JwksCache& keys,
                                       const Clock& clock, std::string_view nonce,
                                       const std::function<bool(std::string_view)>& first_use);

// The reason word a refusal's message starts with ("iss", "aud", "exp", "nonce", "alg", ...).
std::string reason_of(const Error& e);

}  // namespace sinetti::auth
