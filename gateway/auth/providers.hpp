// The configured OpenID Connect providers, ready to use: for each oidc.providers[] entry our keys
// (signing_key_file / encryption_key_file, PEM, read once at start-up), the client secret, and a
// RelyingParty over the shared HTTP client. Also our public keys as the JWKS the portal publishes
// (GET /auth/jwks.json) for brokers that verify our request objects and client assertions and
// encrypt ID tokens to us.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "gateway/auth/relying_party.hpp"
#include "sinetti/clock.hpp"

namespace sinetti::auth {

class Providers {
 public:
  // Reads keys and secrets; an unreadable or unsuitable key is an error (start-up).
  static Result<std::unique_ptr<Providers>> load(const config::Config& config, std::shared_ptr<HttpClient> http,
                                                 const Clock& clock);

  RelyingParty* find(std::string_view id);
  // Providers of a kind, in config order.
  std::vector<const config::OidcProvider*> of_kind(config::ProviderKind kind) const;
  // {"keys": [...]}: every provider's public signing and encryption keys, each kid once.
  const std::string& public_jwks() const { return jwks_; }

 private:
  std::shared_ptr<HttpClient> http_;
  std::vector<std::unique_ptr<RelyingParty>> parties_;
  std::string jwks_;
};

// Our key from a PEM file as a JWK for `use` ("sig" / "enc").
Result<Jwk> load_own_key(const std::filesystem::path& file, std::string_view use);

}  // namespace sinetti::auth
