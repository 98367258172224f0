#include "gateway/auth/verifier.hpp"

#include <algorithm>

#include "crypto/primitives.hpp"

namespace sinetti::auth {

namespace {

Error refuse(std::string_view reason, std::string_view detail) {
  return make_error(std::string(reason) + ": " + std::string(detail));
}

bool listed(std::span<const std::string_view> list, std::string_view v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

std::string kty_for(std::string_view alg) { return alg.starts_with("ES") ? "EC" : "RSA"; }

std::optional<std::int64_t> seconds_claim(const nlohmann::json& claims, const char* name) {
  const auto it = claims.find(name);
  if (it == claims.end() || !it->is_number()) return std::nullopt;
  if (it->is_number_float()) return static_cast<std::int64_t>(it->get<double>());
  return it->get<std::int64_t>();
}

}  // namespace

Result<KeySet> KeySet::parse(std::string_view jwks_json) {
  if (jwks_json.size() > max_jwks_document) return refuse("jwks", "document too large");
  auto j = nlohmann::json::parse(jwks_json, nullptr, false);
  if (!j.is_object() || !j.contains("keys") || !j["keys"].is_array()) return refuse("jwks", "not a JWK set");
  KeySet set;
  for (const auto& item : j["keys"]) {
    if (set.keys_.size() >= max_jwks_keys) break;
    if (!item.is_object()) continue;
    const auto use = item.value("use", std::string("sig"));
    const auto kty = item.value("kty", std::string());
    if (use != "sig" || (kty != "RSA" && kty != "EC")) continue;  // encryption keys, symmetric keys: not for us
    if (item.contains("d")) continue;                               // a private key has no place here
    auto key = Jwk::from_object(item);
    if (key) set.keys_.push_back(std::move(*key));
  }
  return set;
}

const Jwk* KeySet::find(std::string_view kid) const {
  for (const auto& k : keys_) {
    if (k.kid() == kid) return &k;
  }
  return nullptr;
}

const Jwk* KeySet::only(std::string_view kty) const {
  const Jwk* found = nullptr;
  for (const auto& k : keys_) {
    if (k.kty() != kty) continue;
    if (found != nullptr) return nullptr;
    found = &k;
  }
  return found;
}

JwksCache::JwksCache(Fetch fetch, const Clock& clock, std::chrono::seconds min_refetch)
    : fetch_(std::move(fetch)), clock_(clock), min_refetch_(min_refetch) {}

Result<std::monostate> JwksCache::refresh() {
  fetched_at_ = clock_.steady_now();
  ++fetches_;
  auto doc = fetch_();
  if (!doc) return refuse("jwks", doc.error().message);
  auto set = KeySet::parse(*doc);
  if (!set) return set.error();
  keys_ = std::move(*set);
  return std::monostate{};
}

Result<Jwk> JwksCache::key_for(std::string_view kid, std::string_view kty) {
  auto lookup = [&]() -> const Jwk* {
    if (!keys_) return nullptr;
    return kid.empty() ? keys_->only(kty) : keys_->find(kid);
  };
  if (const Jwk* k = lookup()) return *k;
  const bool may_refetch = !fetched_at_ || clock_.steady_now() - *fetched_at_ >= min_refetch_;
  if (!may_refetch) return refuse("kid", "unknown key id (refetched recently)");
  if (auto r = refresh(); !r) return r.error();
  if (const Jwk* k = lookup()) return *k;
  return refuse("kid", "unknown key id");
}

int acr_rank(std::string_view acr) {
  if (acr == "http://ftn.ficora.fi/2017/loa2") return 2;
  if (acr == "http://ftn.ficora.fi/2017/loa3") return 3;
  return 0;
}

namespace {

bool acr_satisfies(const std::vector<std::string>& required, const std::string& acr) {
  if (required.empty()) return true;
  if (acr.empty()) return false;
  if (std::find(required.begin(), required.end(), acr) != required.end()) return true;
  // A higher FTN level than the lowest one asked for also does.
  int lowest = 0;
  for (const auto& r : required) {
    const int rank = acr_rank(r);
    if (rank > 0 && (lowest == 0 || rank < lowest)) lowest = rank;
  }
  return lowest > 0 && acr_rank(acr) >= lowest;
}

}  // namespace

Result<nlohmann::json> verify_id_token(std::string_view token, const IdTokenPolicy& policy, JwksCache& keys,
                                       const Clock& clock, std::string_view nonce,
                                       const std::function<bool(std::string_view)>& first_use) {
  if (token.empty() || token.size() > max_compact_token) return refuse("format", "empty or too large");
  std::string inner(token);
  std::size_t segments = compact_segments(inner);
  if (segments == 5) {
    const auto header = compact_header(inner);
    if (!header) return refuse("format", "unreadable JWE header");
    const auto alg = header->value("alg", std::string());
    const auto enc = header->value("enc", std::string());
    if (!listed(key_algorithms, alg)) return refuse("alg", "key management algorithm not allowed");
    if (!listed(content_algorithms, enc)) return refuse("alg", "content encryption algorithm not allowed");
    if (policy.decryption_key == nullptr) return refuse("encryption", "encrypted token but no decryption key");
    auto plain = decrypt_compact(inner, *policy.decryption_key);
    if (!plain) return refuse("decrypt", plain.error().message);
    crypto::secure_wipe(inner);
    inner = std::move(*plain);
    segments = compact_segments(inner);
    if (segments != 3) return refuse("format", "the encrypted token does not hold a signed one");
  } else if (segments == 3) {
    if (policy.require_encryption) return refuse("encryption", "unencrypted token where encryption is required");
  } else {
    return refuse("format", "not a compact JWS or JWE");
  }

  const auto header = compact_header(inner);
  if (!header) return refuse("format", "unreadable JWS header");
  const auto alg = header->value("alg", std::string());
  if (!listed(signature_algorithms, alg)) return refuse("alg", "signature algorithm not allowed");
  if (inner.back() == '.') return refuse("signature", "unsigned token");
  if (header->contains("crit")) return refuse("format", "critical header extensions are not supported");
  std::string kid;
  if (const auto k = header->find("kid"); k != header->end()) {
    if (!k->is_string()) return refuse("format", "kid is not a string");
    kid = k->get<std::string>();
  }
  const std::string kty = kty_for(alg);
  auto key = keys.key_for(kid, kty);
  if (!key) return key.error();
  if (key->kty() != kty || (kty == "EC" && key->curve() != "P-256")) return refuse("alg", "key type does not fit the algorithm");
  auto payload = verify_compact(inner, *key);
  if (!payload) return refuse("signature", payload.error().message);

  auto claims = nlohmann::json::parse(*payload, nullptr, false);
  if (!claims.is_object()) return refuse("format", "claims are not a JSON object");

  // iss: exact.
  if (!claims.contains("iss") || !claims["iss"].is_string() || claims["iss"].get<std::string>() != policy.issuer) {
    return refuse("iss", "issuer does not match");
  }
  // aud: contains our client id; with several audiences azp is required; azp, when present, is us.
  const auto aud = claims.find("aud");
  bool ours = false;
  std::size_t audiences = 0;
  if (aud != claims.end() && aud->is_string()) {
    audiences = 1;
    ours = aud->get<std::string>() == policy.client_id;
  } else if (aud != claims.end() && aud->is_array()) {
    for (const auto& a : *aud) {
      ++audiences;
      if (a.is_string() && a.get<std::string>() == policy.client_id) ours = true;
    }
  }
  if (!ours) return refuse("aud", "our client id is not an audience");
  if (const auto azp = claims.find("azp"); azp != claims.end()) {
    if (!azp->is_string() || azp->get<std::string>() != policy.client_id) return refuse("azp", "authorised party is not us");
  } else if (audiences > 1) {
    return refuse("azp", "several audiences and no authorised party");
  }
  // Times.
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(clock.now().time_since_epoch()).count();
  const auto skew = policy.skew.count();
  const auto exp = seconds_claim(claims, "exp");
  if (!exp) return refuse("exp", "no expiry");
  if (*exp + skew <= now) return refuse("exp", "expired");
  const auto iat = seconds_claim(claims, "iat");
  if (!iat) return refuse("iat", "no issue time");
  if (*iat > now + skew) return refuse("iat", "issued in the future");
  if (*iat + policy.max_age.count() + skew < now) return refuse("iat", "issued too long ago");
  if (const auto nbf = seconds_claim(claims, "nbf"); nbf && *nbf > now + skew) return refuse("nbf", "not yet valid");
  if (!claims.contains("sub") || !claims["sub"].is_string() || claims["sub"].get<std::string>().empty()) {
    return refuse("sub", "no subject");
  }
  // acr.
  std::string acr;
  if (const auto a = claims.find("acr"); a != claims.end() && a->is_string()) acr = a->get<std::string>();
  if (!acr_satisfies(policy.acr_values, acr)) return refuse("acr", "assurance level below the required one");
  // nonce: present, ours, first use.
  const auto n = claims.find("nonce");
  if (n == claims.end() || !n->is_string()) return refuse("nonce", "missing");
  const std::string& got = n->get_ref<const std::string&>();
  if (nonce.empty() || got.size() != nonce.size() || !crypto::constant_time_equal(crypto::as_bytes(got), crypto::as_bytes(nonce))) {
    return refuse("nonce", "does not match this sign-in");
  }
  if (!first_use(got)) return refuse("nonce", "replayed");
  return claims;
}

std::string reason_of(const Error& e) {
  const auto colon = e.message.find(':');
  return colon == std::string::npos ? e.message : e.message.substr(0, colon);
}

}  // namespace sinetti::auth
