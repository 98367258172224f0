// The OpenID Connect relying party for one configured provider (oidc.providers[]): discovery from
// ISSUER/.well-known/openid-configuration, the authorization request (code flow, PKCE S256, state,
// nonce; a signed request object when we have a signing key — the FTN profile), the code
// redemption at the token endpoint (private_key_jwt, client_secret_basic or client_secret_post) and
// the ID token check (verifier.hpp), then the verified identity (identity.hpp). HTTP goes through
// HttpClient (curl_http.hpp in the product; blocking — call from the worker pool). Thread-safe.
// Untrusted input: the callback's query values, every document the provider returns.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "crypto/primitives.hpp"
#include "gateway/auth/identity.hpp"
#include "gateway/auth/pending.hpp"
#include "gateway/auth/jose.hpp"
#include "gateway/auth/verifier.hpp"
#include "gateway/store/types.hpp"
#include "sinetti/clock.hpp"

namespace sinetti::auth {

inline constexpr std::size_t max_http_body = 256 * 1024;  // discovery, JWKS, token responses
inline constexpr std::chrono::minutes max_sign_in_time{10};  // start → callback

struct HttpReply {
  int status = 0;
  std::string body;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  virtual Result<HttpReply> get(const std::string& url) = 0;
  // application/x-www-form-urlencoded POST; `basic`: "user:password" for HTTP Basic, or empty.
  virtual Result<HttpReply> post_form(const std::string& url, const std::vector<std::pair<std::string, std::string>>& fields,
                                      const std::string& basic) = 0;
};


// What the callback brought (query parameters).
struct Callback {
  std::string code;
  std::string state;
  std::string error;  // the provider's `error`, if it sent one
  std::string iss;    // RFC 9207 `iss`, if the provider sends it: must be the issuer
};

// Our keys for one provider, from signing_key_file / encryption_key_file.
struct OwnKeys {
  Jwk signing;     // empty: none
  std::string signing_alg;  // RS256 or ES256, from the key type
  Jwk encryption;  // empty: none (then ID tokens must not be encrypted)
};

// Whether a value was seen before: (kind, value) → true on first use. The portal backs it with
// Store::use_once.
using OnceGuard = std::function<bool(store::OnceKind, std::string_view)>;

class RelyingParty {
 public:
  // `redirect_uri`: PUBLIC_URL/auth/ID/callback. `identity_secret`: KeyRing::server_secret("identity")
  // — passed per call instead, as the ring may be replaced.
  RelyingParty(const config::OidcProvider& provider, std::string redirect_uri, OwnKeys keys,
               std::optional<std::string> client_secret, HttpClient& http, const Clock& clock);

  const config::OidcProvider& provider() const { return provider_; }

  struct Start {
    std::string url;   // where to send the browser
    Pending pending;   // to keep in the session
  };
  Result<Start> begin(std::string return_to);

  // Checks the callback against the pending sign-in, redeems the code once, verifies the ID token
  // and returns the identity. Refusal messages start with a reason word (reason_of).
  Result<Identity> complete(const Pending& pending, const Callback& callback, const OnceGuard& once,
                            crypto::ByteView identity_secret);

  // For tests and diagnostics: the verification policy this provider uses.
  IdTokenPolicy policy() const;

 private:
  struct Endpoints {
    std::string authorization;
    std::string token;
    std::string jwks;
  };
  Result<Endpoints> endpoints();
  Result<std::string> fetch_jwks();
  Result<std::vector<std::pair<std::string, std::string>>> client_auth(const std::string& token_endpoint, std::string& basic);

  config::OidcProvider provider_;
  std::string redirect_uri_;
  OwnKeys keys_;
  std::optional<std::string> client_secret_;
  HttpClient& http_;
  const Clock& clock_;

  std::mutex mutex_;  // endpoints_ and jwks_
  std::optional<Endpoints> endpoints_;
  std::chrono::steady_clock::time_point endpoints_at_{};
  std::unique_ptr<JwksCache> jwks_;
};

// The identity in verified claims: citizen — the identity claim holds a valid Finnish personal
// identity code, turned at once into the identity key (the code is wiped and never returned);
// staff — sub, name, email and the groups claim.
Result<Identity> identity_from_claims(const config::OidcProvider& provider, const nlohmann::json& claims,
                                      crypto::ByteView identity_secret, std::chrono::system_clock::time_point now);

// PKCE S256 challenge of a verifier (RFC 7636 §4.2).
std::string pkce_challenge(std::string_view verifier);
// Percent-encoding for query strings and forms (RFC 3986 unreserved kept).
std::string url_encode(std::string_view s);

}  // namespace sinetti::auth
