#include "gateway/auth/relying_party.hpp"

#include <algorithm>

#include "crypto/random.hpp"
#include "crypto/tokens.hpp"
#include "gateway/routing/detectors.hpp"

namespace sinetti::auth {

namespace {

constexpr std::chrono::hours discovery_lifetime{24};
constexpr std::chrono::seconds assertion_lifetime{60};

Error refuse(std::string_view reason, std::string_view detail) {
  return make_error(std::string(reason) + ": " + std::string(detail));
}

std::int64_t epoch_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

std::int64_t epoch_ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

bool loopback_http(std::string_view url) {
  if (!url.starts_with("http://")) return false;
  auto rest = url.substr(7);
  rest = rest.substr(0, rest.find('/'));
  if (rest.starts_with("[::1]")) return true;
  const auto host = rest.substr(0, rest.find(':'));
  return host == "localhost" || host.starts_with("127.");
}

// Endpoints from discovery must be https, or http on loopback when the issuer itself is.
bool acceptable_endpoint(std::string_view issuer, std::string_view url) {
  if (url.starts_with("https://") && url.size() > 8) return true;
  return loopback_http(issuer) && loopback_http(url);
}

bool equal_ct(std::string_view a, std::string_view b) {
  return a.size() == b.size() && crypto::constant_time_equal(crypto::as_bytes(a), crypto::as_bytes(b));
}

}  // namespace

std::string url_encode(std::string_view s) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += digits[c >> 4];
      out += digits[c & 15];
    }
  }
  return out;
}

std::string pkce_challenge(std::string_view verifier) {
  return crypto::base64url_encode(crypto::sha256(crypto::as_bytes(verifier)));
}

RelyingParty::RelyingParty(const config::OidcProvider& provider, std::string redirect_uri, OwnKeys keys,
                           std::optional<std::string> client_secret, HttpClient& http, const Clock& clock)
    : provider_(provider),
      redirect_uri_(std::move(redirect_uri)),
      keys_(std::move(keys)),
      client_secret_(std::move(client_secret)),
      http_(http),
      clock_(clock),
      jwks_(std::make_unique<JwksCache>([this]() { return fetch_jwks(); }, clock)) {}

IdTokenPolicy RelyingParty::policy() const {
  IdTokenPolicy p;
  p.issuer = provider_.issuer;
  p.client_id = provider_.client_id;
  p.acr_values = provider_.acr_values;
  p.require_encryption = !keys_.encryption.empty();
  p.decryption_key = keys_.encryption.empty() ? nullptr : &keys_.encryption;
  return p;
}

Result<RelyingParty::Endpoints> RelyingParty::endpoints() {
  // Called with mutex_ held.
  if (endpoints_ && clock_.steady_now() - endpoints_at_ < discovery_lifetime) return *endpoints_;
  std::string issuer = provider_.issuer;
  while (issuer.ends_with('/')) issuer.pop_back();
  auto reply = http_.get(issuer + "/.well-known/openid-configuration");
  if (!reply) return refuse("discovery", reply.error().message);
  if (reply->status != 200) return refuse("discovery", "status " + std::to_string(reply->status));
  auto doc = nlohmann::json::parse(reply->body, nullptr, false);
  if (!doc.is_object()) return refuse("discovery", "not a JSON object");
  if (doc.value("issuer", std::string()) != provider_.issuer) return refuse("discovery", "issuer in the document does not match");
  Endpoints e;
  e.authorization = doc.value("authorization_endpoint", std::string());
  e.token = doc.value("token_endpoint", std::string());
  e.jwks = doc.value("jwks_uri", std::string());
  for (const auto* url : {&e.authorization, &e.token, &e.jwks}) {
    if (!acceptable_endpoint(provider_.issuer, *url)) return refuse("discovery", "an endpoint is missing or not https");
  }
  endpoints_ = e;
  endpoints_at_ = clock_.steady_now();
  return e;
}

Result<std::string> RelyingParty::fetch_jwks() {
  // Called from jwks_ with mutex_ held.
  auto e = endpoints();
  if (!e) return e.error();
  auto reply = http_.get(e->jwks);
  if (!reply) return reply.error();
  if (reply->status != 200) return make_error("JWKS status " + std::to_string(reply->status));
  return reply->body;
}

Result<RelyingParty::Start> RelyingParty::begin(std::string return_to) {
  Endpoints e;
  {
    std::lock_guard lock(mutex_);
    auto found = endpoints();
    if (!found) return found.error();
    e = *found;
  }
  Start s;
  s.pending.provider = provider_.id;
  s.pending.state = crypto::generate_token();
  s.pending.nonce = crypto::generate_token();
  s.pending.code_verifier = crypto::generate_token();  // 43 characters of 256 bits (RFC 7636 §4.1)
  s.pending.return_to = std::move(return_to);
  s.pending.started_ms = epoch_ms(clock_.now());

  std::string scope;
  for (const auto& sc : provider_.scopes) scope += (scope.empty() ? "" : " ") + sc;
  std::string acr;
  for (const auto& a : provider_.acr_values) acr += (acr.empty() ? "" : " ") + a;
  const std::string challenge = pkce_challenge(s.pending.code_verifier);

  std::vector<std::pair<std::string, std::string>> params = {
      {"response_type", "code"}, {"client_id", provider_.client_id}, {"scope", scope}};
  if (!keys_.signing.empty()) {
    // A signed request object carries every parameter (FTN; OIDC Core §6.1); the plain ones repeat
    // what OAuth requires outside it.
    const auto now = epoch_seconds(clock_.now());
    nlohmann::json ro = {{"iss", provider_.client_id},   {"aud", provider_.issuer},
                         {"response_type", "code"},      {"client_id", provider_.client_id},
                         {"redirect_uri", redirect_uri_}, {"scope", scope},
                         {"state", s.pending.state},     {"nonce", s.pending.nonce},
                         {"code_challenge", challenge},  {"code_challenge_method", "S256"},
                         {"iat", now},                   {"nbf", now},
                         {"exp", now + 300},             {"jti", crypto::generate_token()}};
    if (!acr.empty()) ro["acr_values"] = acr;
    auto signed_ro = sign_compact(keys_.signing, keys_.signing_alg, ro, "oauth-authz-req+jwt");
    if (!signed_ro) return signed_ro.error();
    params.emplace_back("request", *signed_ro);
  } else {
    params.insert(params.end(), {{"redirect_uri", redirect_uri_},
                                 {"state", s.pending.state},
                                 {"nonce", s.pending.nonce},
                                 {"code_challenge", challenge},
                                 {"code_challenge_method", "S256"}});
    if (!acr.empty()) params.emplace_back("acr_values", acr);
  }
  s.url = e.authorization + (e.authorization.find('?') == std::string::npos ? "?" : "&");
  bool first = true;
  for (const auto& [k, v] : params) {
    if (!first) s.url += '&';
    first = false;
    s.url += k + "=" + url_encode(v);
  }
  return s;
}

Result<std::vector<std::pair<std::string, std::string>>> RelyingParty::client_auth(const std::string& token_endpoint,
                                                                                   std::string& basic) {
  std::vector<std::pair<std::string, std::string>> fields;
  switch (provider_.client_auth) {
    case config::ClientAuth::private_key_jwt: {
      if (keys_.signing.empty()) return make_error("client: private_key_jwt without a signing key");
      const auto now = epoch_seconds(clock_.now());
      nlohmann::json assertion = {{"iss", provider_.client_id}, {"sub", provider_.client_id}, {"aud", token_endpoint},
                                  {"jti", crypto::generate_token()}, {"iat", now},
                                  {"exp", now + assertion_lifetime.count()}};
      auto jwt = sign_compact(keys_.signing, keys_.signing_alg, assertion);
      if (!jwt) return jwt.error();
      fields.emplace_back("client_id", provider_.client_id);
      fields.emplace_back("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
      fields.emplace_back("client_assertion", *jwt);
      break;
    }
    case config::ClientAuth::client_secret_basic:
      if (!client_secret_) return make_error("client: no client secret");
      // RFC 6749 §2.3.1: both parts form-encoded before Basic.
      basic = url_encode(provider_.client_id) + ":" + url_encode(*client_secret_);
      break;
    case config::ClientAuth::client_secret_post:
      if (!client_secret_) return make_error("client: no client secret");
      fields.emplace_back("client_id", provider_.client_id);
      fields.emplace_back("client_secret", *client_secret_);
      break;
  }
  return fields;
}

Result<Identity> RelyingParty::complete(const Pending& pending, const Callback& callback, const OnceGuard& once,
                                        crypto::ByteView identity_secret) {
  if (pending.provider != provider_.id) return refuse("state", "sign-in was started with another provider");
  if (callback.state.empty() || !equal_ct(callback.state, pending.state)) return refuse("state", "does not match this sign-in");
  const auto now = clock_.now();
  if (epoch_ms(now) - pending.started_ms > std::chrono::duration_cast<std::chrono::milliseconds>(max_sign_in_time).count()) {
    return refuse("state", "the sign-in took too long");
  }
  if (!callback.iss.empty() && callback.iss != provider_.issuer) return refuse("iss", "the response names another issuer (RFC 9207)");
  if (!callback.error.empty()) return refuse("provider", "the provider answered with an error");
  if (callback.code.empty() || callback.code.size() > 2048) return refuse("code", "missing or too long");
  if (!once(store::OnceKind::code, callback.code)) return refuse("code", "reused");

  Endpoints ep;
  {
    std::lock_guard lock(mutex_);
    auto e = endpoints();
    if (!e) return e.error();
    ep = *e;
  }
  const Endpoints* e = &ep;
  std::string basic;
  auto fields = client_auth(e->token, basic);
  if (!fields) return fields.error();
  fields->insert(fields->begin(), {{"grant_type", "authorization_code"},
                                   {"code", callback.code},
                                   {"redirect_uri", redirect_uri_},
                                   {"code_verifier", pending.code_verifier}});
  auto reply = http_.post_form(e->token, *fields, basic);
  crypto::secure_wipe(basic);
  if (!reply) return refuse("token", reply.error().message);
  if (reply->status != 200) return refuse("token", "token endpoint status " + std::to_string(reply->status));
  auto doc = nlohmann::json::parse(reply->body, nullptr, false);
  if (!doc.is_object() || !doc.contains("id_token") || !doc["id_token"].is_string()) return refuse("token", "no id_token");
  const std::string id_token = doc["id_token"].get<std::string>();
  const auto pol = policy();
  // The token endpoint was asked without the lock (a slow provider holds up no other sign-in);
  // the JWKS cache needs it.
  std::lock_guard lock(mutex_);
  auto claims = verify_id_token(id_token, pol, *jwks_, clock_, pending.nonce,
                                [&](std::string_view n) { return once(store::OnceKind::nonce, n); });
  if (!claims) return claims.error();
  return identity_from_claims(provider_, *claims, identity_secret, now);
}

Result<Identity> identity_from_claims(const config::OidcProvider& provider, const nlohmann::json& claims,
                                      crypto::ByteView identity_secret, std::chrono::system_clock::time_point now) {
  Identity id;
  id.provider = provider.id;
  id.verified_at = now;
  if (provider.kind == config::ProviderKind::citizen) {
    id.kind = IdentityKind::citizen;
    const auto it = claims.find(provider.identity_claim);
    if (it == claims.end() || !it->is_string()) return refuse("identity", "no identity code claim");
    std::string code = it->get<std::string>();
    if (!routing::is_valid_identity_code(code)) {
      crypto::secure_wipe(code);
      return refuse("identity", "the identity code claim is not a valid personal identity code");
    }
    if (identity_secret.empty()) {
      crypto::secure_wipe(code);
      return make_error("identity: no identity secret");
    }
    const auto key = crypto::identity_key(identity_secret, code);
    crypto::secure_wipe(code);
    id.identity_key.assign(key.begin(), key.end());
    if (const auto a = claims.find("acr"); a != claims.end() && a->is_string()) id.acr = a->get<std::string>().substr(0, max_claim_text);
    return id;
  }
  id.kind = IdentityKind::staff;
  auto text = [&](const char* name) {
    const auto f = claims.find(name);
    return f != claims.end() && f->is_string() ? f->get<std::string>().substr(0, max_claim_text) : std::string();
  };
  id.subject = text("sub");
  if (id.subject.empty()) return refuse("sub", "no subject");
  id.name = text("name");
  id.email = text("email");
  if (const auto g = claims.find(provider.groups_claim); g != claims.end()) {
    if (g->is_string()) {
      id.groups.push_back(g->get<std::string>().substr(0, max_claim_text));
    } else if (g->is_array()) {
      for (const auto& item : *g) {
        if (id.groups.size() >= max_groups) break;
        if (item.is_string() && item.get_ref<const std::string&>().size() <= max_claim_text) id.groups.push_back(item.get<std::string>());
      }
    }
  }
  return id;
}

}  // namespace sinetti::auth
