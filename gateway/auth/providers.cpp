#include "gateway/auth/providers.hpp"

#include <fstream>
#include <set>
#include <sstream>

#include "crypto/jwk.hpp"
#include "crypto/primitives.hpp"

namespace sinetti::auth {

Result<Jwk> load_own_key(const std::filesystem::path& file, std::string_view use) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return make_error("cannot read " + file.string());
  std::ostringstream buf;
  buf << in.rdbuf();
  std::string pem = buf.str();
  auto pair = crypto::jwk_from_pem(pem, use);
  crypto::secure_wipe(pem);
  if (!pair) return make_error(file.string() + ": " + pair.error().message);
  auto key = Jwk::from_json(pair->private_jwk);
  crypto::secure_wipe(pair->private_jwk);
  if (!key) return make_error(file.string() + ": " + key.error().message);
  return key;
}

Result<std::unique_ptr<Providers>> Providers::load(const config::Config& config, std::shared_ptr<HttpClient> http,
                                                   const Clock& clock) {
  auto out = std::make_unique<Providers>();
  out->http_ = std::move(http);
  nlohmann::json keys = nlohmann::json::array();
  std::set<std::string> kids;
  std::string base = config.instance.public_url;
  while (base.ends_with('/')) base.pop_back();
  for (const auto& p : config.oidc_providers) {
    OwnKeys own;
    if (p.signing_key_file) {
      auto k = load_own_key(*p.signing_key_file, "sig");
      if (!k) return make_error("oidc provider '" + p.id + "' signing key: " + k.error().message);
      own.signing = std::move(*k);
      own.signing_alg = own.signing.kty() == "EC" ? "ES256" : "RS256";
    }
    if (p.encryption_key_file) {
      auto k = load_own_key(*p.encryption_key_file, "enc");
      if (!k) return make_error("oidc provider '" + p.id + "' encryption key: " + k.error().message);
      own.encryption = std::move(*k);
    }
    for (const Jwk* k : {&own.signing, &own.encryption}) {
      if (k->empty() || !kids.insert(k->kid()).second) continue;
      auto pub = k->public_json();
      pub["alg"] = k == &own.signing ? own.signing_alg : (k->kty() == "EC" ? "ECDH-ES" : "RSA-OAEP");
      keys.push_back(std::move(pub));
    }
    std::optional<std::string> secret;
    if (p.client_secret) {
      auto s = config::read_secret(*p.client_secret);
      if (!s) return make_error("oidc provider '" + p.id + "' client_secret: " + s.error().message);
      secret = std::move(*s);
    }
    out->parties_.push_back(std::make_unique<RelyingParty>(p, base + "/auth/" + p.id + "/callback", std::move(own),
                                                           std::move(secret), *out->http_, clock));
  }
  out->jwks_ = nlohmann::json{{"keys", keys}}.dump();
  return out;
}

RelyingParty* Providers::find(std::string_view id) {
  for (auto& p : parties_) {
    if (p->provider().id == id) return p.get();
  }
  return nullptr;
}

std::vector<const config::OidcProvider*> Providers::of_kind(config::ProviderKind kind) const {
  std::vector<const config::OidcProvider*> out;
  for (const auto& p : parties_) {
    if (p->provider().kind == kind) out.push_back(&p->provider());
  }
  return out;
}

}  // namespace sinetti::auth
