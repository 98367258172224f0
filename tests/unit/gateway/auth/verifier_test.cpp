// The ID token verifier and the relying party's callback handling, with keys and tokens made here
// (cjose through gateway/auth/jose.hpp) and a provider played by a fake HttpClient (discovery, JWKS,
// token endpoint). Each case of the negative matrix is its own test and must be refused for its
// own reason; the positive cases show the same token passes when nothing is wrong with it.
#include <boost/test/unit_test.hpp>

#include <set>

#include "crypto/primitives.hpp"
#include "crypto/tokens.hpp"
#include "gateway/auth/jose.hpp"
#include "gateway/auth/relying_party.hpp"
#include "gateway/auth/verifier.hpp"

using namespace sinetti;
using namespace sinetti::auth;
using namespace std::chrono_literals;

namespace {

const std::string issuer = "https://broker.example";
const std::string client = "sinetti-test";
const std::string loa2 = "http://ftn.ficora.fi/2017/loa2";
const std::string loa3 = "http://ftn.ficora.fi/2017/loa3";
const std::string hetu = "010594Y9032";  // valid checksum (REFERENCES.md example)

std::int64_t secs(const Clock& c) { return std::chrono::duration_cast<std::chrono::seconds>(c.now().time_since_epoch()).count(); }

std::string b64(std::string_view s) { return crypto::base64url_encode(crypto::as_bytes(s)); }

// Keys generated once for the whole suite (RSA generation is slow).
struct Keys {
  Jwk provider = *Jwk::generate("RSA", "provider-1");
  Jwk provider_ec = *Jwk::generate("EC", "provider-ec");
  Jwk rotated = *Jwk::generate("RSA", "provider-2");
  Jwk ours_enc = *Jwk::generate("RSA", "ours-enc");
  Jwk ours_sig = *Jwk::generate("EC", "ours-sig");
};
const Keys& keys() {
  static const Keys k;
  return k;
}

std::string jwks_of(std::initializer_list<const Jwk*> ks) {
  nlohmann::json arr = nlohmann::json::array();
  for (const Jwk* k : ks) {
    auto pub = k->public_json();
    pub["use"] = "sig";
    arr.push_back(pub);
  }
  return nlohmann::json{{"keys", arr}}.dump();
}

struct Fixture {
  ManualClock clock{std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000))};
  std::string jwks_doc = jwks_of({&keys().provider, &keys().provider_ec});
  int jwks_fetches = 0;
  JwksCache cache{[this]() -> Result<std::string> {
                    ++jwks_fetches;
                    return jwks_doc;
                  },
                  clock};
  std::set<std::string> seen_nonces;
  IdTokenPolicy policy;
  const std::string nonce = "n-0S6_WzA2Mj";

  Fixture() {
    policy.issuer = issuer;
    policy.client_id = client;
    policy.acr_values = {loa2};
  }

  nlohmann::json claims() const {
    const auto now = secs(clock);
    return {{"iss", issuer}, {"sub", "user-1"}, {"aud", client}, {"exp", now + 300}, {"iat", now},
            {"nonce", nonce}, {"acr", loa2}, {"hetu", hetu}};
  }

  std::string sign(const nlohmann::json& c, const Jwk& key = keys().provider, std::string_view alg = "RS256") {
    auto t = sign_compact(key, alg, c);
    BOOST_TEST_REQUIRE(t.ok());
    return *t;
  }

  std::string encrypt(const std::string& jws) {
    auto pub = Jwk::from_object(keys().ours_enc.public_json());
    BOOST_TEST_REQUIRE(pub.ok());
    auto t = encrypt_compact(*pub, "RSA-OAEP", "A256GCM", jws);
    BOOST_TEST_REQUIRE(t.ok());
    return *t;
  }

  Result<nlohmann::json> verify(const std::string& token) {
    return verify_id_token(token, policy, cache, clock, nonce,
                           [this](std::string_view n) { return seen_nonces.insert(std::string(n)).second; });
  }

  void refused(const std::string& token, const std::string& reason) {
    auto r = verify(token);
    BOOST_TEST_REQUIRE(!r.ok());
    BOOST_TEST(reason_of(r.error()) == reason, r.error().message);
  }

  void require_encryption() {
    policy.require_encryption = true;
    policy.decryption_key = &keys().ours_enc;
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(auth_verifier)

BOOST_FIXTURE_TEST_CASE(a_good_signed_token_passes, Fixture) {
  auto r = verify(sign(claims()));
  BOOST_TEST_REQUIRE(r.ok(), (r.ok() ? "" : r.error().message));
  BOOST_TEST((*r)["sub"] == "user-1");
  BOOST_TEST(jwks_fetches == 1);
}

BOOST_FIXTURE_TEST_CASE(a_good_es256_token_passes, Fixture) {
  auto r = verify(sign(claims(), keys().provider_ec, "ES256"));
  BOOST_TEST(r.ok(), (r.ok() ? "" : r.error().message));
}

BOOST_FIXTURE_TEST_CASE(a_good_encrypted_token_passes, Fixture) {
  require_encryption();
  auto r = verify(encrypt(sign(claims())));
  BOOST_TEST_REQUIRE(r.ok(), (r.ok() ? "" : r.error().message));
  BOOST_TEST((*r)["hetu"] == hetu);
}

BOOST_FIXTURE_TEST_CASE(wrong_iss_is_refused, Fixture) {
  auto c = claims();
  c["iss"] = issuer + "/";
  refused(sign(c), "iss");
}

BOOST_FIXTURE_TEST_CASE(wrong_aud_is_refused, Fixture) {
  auto c = claims();
  c["aud"] = nlohmann::json::array({"someone-else"});
  refused(sign(c), "aud");
}

BOOST_FIXTURE_TEST_CASE(several_audiences_without_azp_are_refused, Fixture) {
  auto c = claims();
  c["aud"] = nlohmann::json::array({client, "someone-else"});
  refused(sign(c), "azp");
  c["azp"] = "someone-else";
  refused(sign(c), "azp");
  c["azp"] = client;
  BOOST_TEST(verify(sign(c)).ok());
}

BOOST_FIXTURE_TEST_CASE(expired_token_is_refused, Fixture) {
  auto c = claims();
  c["iat"] = secs(clock) - 400;
  c["exp"] = secs(clock) - 100;  // beyond the 60 s skew
  refused(sign(c), "exp");
}

BOOST_FIXTURE_TEST_CASE(token_issued_in_the_future_is_refused, Fixture) {
  auto c = claims();
  c["iat"] = secs(clock) + 120;
  refused(sign(c), "iat");
}

BOOST_FIXTURE_TEST_CASE(missing_nonce_is_refused, Fixture) {
  auto c = claims();
  c.erase("nonce");
  refused(sign(c), "nonce");
}

BOOST_FIXTURE_TEST_CASE(nonce_of_another_sign_in_is_refused, Fixture) {
  auto c = claims();
  c["nonce"] = "n-other";
  refused(sign(c), "nonce");
}

BOOST_FIXTURE_TEST_CASE(replayed_nonce_is_refused, Fixture) {
  const auto token = sign(claims());
  BOOST_TEST_REQUIRE(verify(token).ok());
  refused(token, "nonce");
}

BOOST_FIXTURE_TEST_CASE(alg_none_is_refused, Fixture) {
  const std::string token = b64(R"({"alg":"none","typ":"JWT"})") + "." + b64(claims().dump()) + ".";
  refused(token, "alg");
}

BOOST_FIXTURE_TEST_CASE(hs256_signed_with_the_public_key_is_refused, Fixture) {
  // The classic key confusion: the provider's public key (as its JWKS publishes it) used as an
  // HMAC secret.
  const std::string public_key = keys().provider.public_json().dump();
  const std::string input = b64(R"({"alg":"HS256","kid":"provider-1"})") + "." + b64(claims().dump());
  const auto mac = crypto::hmac_sha256(crypto::as_bytes(public_key), crypto::as_bytes(input));
  refused(input + "." + crypto::base64url_encode(mac), "alg");
}

BOOST_FIXTURE_TEST_CASE(unknown_kid_is_refused_after_one_refetch, Fixture) {
  const auto stranger = *Jwk::generate("RSA", "stranger");
  BOOST_TEST_REQUIRE(verify(sign(claims())).ok());
  BOOST_TEST(jwks_fetches == 1);
  clock.advance(2min);
  refused(sign(claims(), stranger), "kid");
  BOOST_TEST(jwks_fetches == 2);  // the first fetch, then one refetch for the unknown kid
  // Again at once: no further fetch (a stream of forged kids does not hammer the provider).
  refused(sign(claims(), stranger), "kid");
  BOOST_TEST(jwks_fetches == 2);
}

BOOST_FIXTURE_TEST_CASE(a_rotated_key_is_found_by_one_refetch, Fixture) {
  BOOST_TEST_REQUIRE(verify(sign(claims())).ok());
  jwks_doc = jwks_of({&keys().rotated});
  clock.advance(2min);
  auto c = claims();
  c["nonce"] = nonce;
  seen_nonces.clear();
  auto r = verify(sign(c, keys().rotated));
  BOOST_TEST(r.ok(), (r.ok() ? "" : r.error().message));
  BOOST_TEST(jwks_fetches == 2);
}

BOOST_FIXTURE_TEST_CASE(unsigned_token_is_refused, Fixture) {
  const std::string token = b64(R"({"alg":"RS256","kid":"provider-1"})") + "." + b64(claims().dump()) + ".";
  refused(token, "signature");
}

BOOST_FIXTURE_TEST_CASE(unencrypted_token_when_encryption_is_required_is_refused, Fixture) {
  require_encryption();
  refused(sign(claims()), "encryption");
}

BOOST_FIXTURE_TEST_CASE(encrypted_token_without_a_decryption_key_is_refused, Fixture) {
  refused(encrypt(sign(claims())), "encryption");
}

BOOST_FIXTURE_TEST_CASE(acr_below_the_level_is_refused, Fixture) {
  policy.acr_values = {loa3};
  refused(sign(claims()), "acr");
  auto c = claims();
  c.erase("acr");
  policy.acr_values = {loa2};
  refused(sign(c), "acr");
  c["acr"] = loa3;  // higher than asked for is fine
  BOOST_TEST(verify(sign(c)).ok());
}

BOOST_FIXTURE_TEST_CASE(tampered_token_is_refused, Fixture) {
  const auto token = sign(claims());
  const auto first = token.find('.'), second = token.find('.', first + 1);
  auto c = claims();
  c["hetu"] = "131052-308T";
  const std::string tampered = token.substr(0, first + 1) + b64(c.dump()) + token.substr(second);
  refused(tampered, "signature");
}

BOOST_FIXTURE_TEST_CASE(tampered_encrypted_token_is_refused, Fixture) {
  require_encryption();
  auto token = encrypt(sign(claims()));
  // Flip one character of the ciphertext (the fourth segment).
  std::size_t pos = 0;
  for (int i = 0; i < 3; ++i) pos = token.find('.', pos) + 1;
  token[pos + 2] = token[pos + 2] == 'A' ? 'B' : 'A';
  refused(token, "decrypt");
}

BOOST_FIXTURE_TEST_CASE(a_jwe_with_rsa1_5_is_refused, Fixture) {
  require_encryption();
  auto pub = Jwk::from_object(keys().ours_enc.public_json());
  auto token = encrypt_compact(*pub, "RSA1_5", "A256GCM", sign(claims()));
  BOOST_TEST_REQUIRE(token.ok());
  refused(*token, "alg");
}

BOOST_AUTO_TEST_SUITE_END()

// ---- the relying party: state, code, the whole callback -----------------------------------------

namespace {

class FakeProvider final : public HttpClient {
 public:
  std::string jwks = jwks_of({&keys().provider});
  std::string id_token;  // what the token endpoint returns
  int token_calls = 0;
  std::vector<std::pair<std::string, std::string>> last_form;
  std::string last_basic;

  Result<HttpReply> get(const std::string& url) override {
    if (url == issuer + "/.well-known/openid-configuration") {
      return HttpReply{200, nlohmann::json{{"issuer", issuer},
                                           {"authorization_endpoint", issuer + "/auth"},
                                           {"token_endpoint", issuer + "/token"},
                                           {"jwks_uri", issuer + "/jwks"}}
                                .dump()};
    }
    if (url == issuer + "/jwks") return HttpReply{200, jwks};
    return HttpReply{404, ""};
  }
  Result<HttpReply> post_form(const std::string& url, const std::vector<std::pair<std::string, std::string>>& fields,
                              const std::string& basic) override {
    if (url != issuer + "/token") return HttpReply{404, ""};
    ++token_calls;
    last_form = fields;
    last_basic = basic;
    return HttpReply{200, nlohmann::json{{"id_token", id_token}, {"token_type", "Bearer"}}.dump()};
  }
  std::string field(const std::string& name) const {
    for (const auto& [k, v] : last_form) {
      if (k == name) return v;
    }
    return {};
  }
};

struct RpFixture {
  ManualClock clock{std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000))};
  FakeProvider http;
  config::OidcProvider cfg;
  std::set<std::string> once_seen;
  OnceGuard once = [this](store::OnceKind k, std::string_view v) {
    return once_seen.insert(std::string(store::to_string(k)) + ":" + std::string(v)).second;
  };
  const std::vector<std::uint8_t> secret = std::vector<std::uint8_t>(32, 7);
  std::unique_ptr<RelyingParty> rp;

  RpFixture() {
    cfg.id = "ftn";
    cfg.kind = config::ProviderKind::citizen;
    cfg.issuer = issuer;
    cfg.client_id = client;
    cfg.client_auth = config::ClientAuth::private_key_jwt;
    cfg.scopes = {"openid", "profile"};
    cfg.acr_values = {loa2};
    cfg.identity_claim = "hetu";
    OwnKeys own;
    own.signing = keys().ours_sig;
    own.signing_alg = "ES256";
    own.encryption = keys().ours_enc;
    rp = std::make_unique<RelyingParty>(cfg, "https://portal.example/auth/ftn/callback", own, std::nullopt, http, clock);
  }

  // A token as the provider would issue it for this sign-in.
  std::string issue(const Pending& p, const std::string& code_hetu = hetu) {
    const auto now = secs(clock);
    nlohmann::json c = {{"iss", issuer}, {"sub", "user-1"}, {"aud", client}, {"exp", now + 300}, {"iat", now},
                        {"nonce", p.nonce}, {"acr", loa2}, {"hetu", code_hetu}};
    auto jws = sign_compact(keys().provider, "RS256", c);
    auto pub = Jwk::from_object(keys().ours_enc.public_json());
    auto jwe = encrypt_compact(*pub, "RSA-OAEP", "A256GCM", *jws);
    return *jwe;
  }

  Pending start() {
    auto s = rp->begin("/m/token");
    BOOST_TEST_REQUIRE(s.ok(), (s.ok() ? "" : s.error().message));
    return s->pending;
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(auth_relying_party)

BOOST_FIXTURE_TEST_CASE(the_authorization_request_is_a_signed_request_object_with_pkce, RpFixture) {
  auto s = rp->begin("/m/token");
  BOOST_TEST_REQUIRE(s.ok());
  BOOST_TEST(s->url.starts_with(issuer + "/auth?response_type=code&client_id=sinetti-test&scope=openid%20profile&request="));
  const auto request = s->url.substr(s->url.find("request=") + 8);
  auto verified = verify_compact(request, *Jwk::from_object(keys().ours_sig.public_json()));
  BOOST_TEST_REQUIRE(verified.ok());
  const auto ro = nlohmann::json::parse(*verified);
  BOOST_TEST(ro["state"] == s->pending.state);
  BOOST_TEST(ro["nonce"] == s->pending.nonce);
  BOOST_TEST(ro["code_challenge_method"] == "S256");
  BOOST_TEST(ro["code_challenge"] == pkce_challenge(s->pending.code_verifier));
  BOOST_TEST(ro["acr_values"] == loa2);
  BOOST_TEST(ro["redirect_uri"] == "https://portal.example/auth/ftn/callback");
  BOOST_TEST(s->pending.state != s->pending.nonce);
}

BOOST_FIXTURE_TEST_CASE(a_good_callback_gives_the_identity_key_and_never_the_code, RpFixture) {
  const auto p = start();
  http.id_token = issue(p);
  auto id = rp->complete(p, {"code-1", p.state, "", ""}, once, secret);
  BOOST_TEST_REQUIRE(id.ok(), (id.ok() ? "" : id.error().message));
  const auto expected = crypto::identity_key(secret, hetu);
  BOOST_TEST(id->identity_key == std::vector<std::uint8_t>(expected.begin(), expected.end()));
  BOOST_TEST(id->acr == loa2);
  const auto encoded = id->encode();
  BOOST_TEST(std::string(encoded.begin(), encoded.end()).find(hetu) == std::string::npos);
  // private_key_jwt: a client assertion for the token endpoint, and the PKCE verifier.
  BOOST_TEST(http.field("client_assertion_type") == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
  BOOST_TEST(http.field("code_verifier") == p.code_verifier);
  auto assertion = verify_compact(http.field("client_assertion"), *Jwk::from_object(keys().ours_sig.public_json()));
  BOOST_TEST_REQUIRE(assertion.ok());
  BOOST_TEST(nlohmann::json::parse(*assertion)["aud"] == issuer + "/token");
}

BOOST_FIXTURE_TEST_CASE(wrong_state_is_refused, RpFixture) {
  const auto p = start();
  http.id_token = issue(p);
  auto id = rp->complete(p, {"code-1", p.state + "x", "", ""}, once, secret);
  BOOST_TEST_REQUIRE(!id.ok());
  BOOST_TEST(reason_of(id.error()) == "state");
  BOOST_TEST(http.token_calls == 0);
}

BOOST_FIXTURE_TEST_CASE(reused_code_is_refused, RpFixture) {
  const auto p = start();
  http.id_token = issue(p);
  BOOST_TEST_REQUIRE(rp->complete(p, {"code-1", p.state, "", ""}, once, secret).ok());
  const auto again = start();
  http.id_token = issue(again);
  auto id = rp->complete(again, {"code-1", again.state, "", ""}, once, secret);
  BOOST_TEST_REQUIRE(!id.ok());
  BOOST_TEST(reason_of(id.error()) == "code");
  BOOST_TEST(http.token_calls == 1);  // the reused code never reached the token endpoint
}

BOOST_FIXTURE_TEST_CASE(a_response_from_another_issuer_is_refused, RpFixture) {
  const auto p = start();
  http.id_token = issue(p);
  Callback cb{"code-1", p.state, "", ""};
  cb.iss = "https://mix-up.example";
  auto id = rp->complete(p, cb, once, secret);
  BOOST_TEST_REQUIRE(!id.ok());
  BOOST_TEST(reason_of(id.error()) == "iss");
  BOOST_TEST(http.token_calls == 0);
  cb.iss = issuer;
  BOOST_TEST(rp->complete(p, cb, once, secret).ok());
}

BOOST_FIXTURE_TEST_CASE(a_stale_sign_in_is_refused, RpFixture) {
  const auto p = start();
  clock.advance(11min);
  http.id_token = issue(p);
  auto id = rp->complete(p, {"code-1", p.state, "", ""}, once, secret);
  BOOST_TEST_REQUIRE(!id.ok());
  BOOST_TEST(reason_of(id.error()) == "state");
}

BOOST_FIXTURE_TEST_CASE(an_invalid_identity_code_is_refused, RpFixture) {
  const auto p = start();
  http.id_token = issue(p, "010594Y9033");  // wrong check character
  auto id = rp->complete(p, {"code-1", p.state, "", ""}, once, secret);
  BOOST_TEST_REQUIRE(!id.ok());
  BOOST_TEST(reason_of(id.error()) == "identity");
  BOOST_TEST(id.error().message.find("010594") == std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(a_staff_identity_carries_subject_and_groups, RpFixture) {
  config::OidcProvider staff = cfg;
  staff.kind = config::ProviderKind::staff;
  staff.groups_claim = "groups";
  nlohmann::json c = {{"sub", "emp-7"}, {"name", "Anna Aho"}, {"email", "anna@example.fi"},
                      {"groups", {"team-a", "team-b"}}};
  auto id = identity_from_claims(staff, c, secret, clock.now());
  BOOST_TEST_REQUIRE(id.ok());
  BOOST_TEST(id->is_staff());
  BOOST_TEST(id->in_group("team-b"));
  BOOST_TEST(!id->in_group("team-c"));
  auto back = Identity::decode(id->encode());
  BOOST_TEST_REQUIRE(back.has_value());
  BOOST_TEST(back->subject == "emp-7");
  BOOST_TEST(back->groups.size() == 2U);
  BOOST_TEST(back->email == "anna@example.fi");
}

BOOST_AUTO_TEST_SUITE_END()
