#include "gateway/auth/jose.hpp"

#include <cjose/cjose.h>

#include "crypto/primitives.hpp"

namespace sinetti::auth {

namespace {

std::string why(const char* what, const cjose_err& err) {
  std::string m = what;
  if (err.message != nullptr) m += std::string(": ") + err.message;
  return m;
}

struct HeaderRelease {
  void operator()(cjose_header_t* h) const noexcept { cjose_header_release(h); }
};
struct JwsRelease {
  void operator()(cjose_jws_t* j) const noexcept { cjose_jws_release(j); }
};
struct JweRelease {
  void operator()(cjose_jwe_t* j) const noexcept { cjose_jwe_release(j); }
};
struct Dealloc {
  void operator()(void* p) const noexcept { cjose_get_dealloc()(p); }
};

using HeaderPtr = std::unique_ptr<cjose_header_t, HeaderRelease>;

Result<HeaderPtr> make_header(const std::vector<std::pair<std::string, std::string>>& members) {
  cjose_err err{};
  HeaderPtr h(cjose_header_new(&err));
  if (!h) return make_error(why("jose: header", err));
  for (const auto& [k, v] : members) {
    if (v.empty()) continue;
    if (!cjose_header_set(h.get(), k.c_str(), v.c_str(), &err)) return make_error(why("jose: header member", err));
  }
  return h;
}

}  // namespace

void Jwk::Release::operator()(_cjose_jwk_int* k) const noexcept { cjose_jwk_release(k); }

Result<Jwk> Jwk::from_json(std::string_view json) {
  if (json.size() > max_jwks_document) return make_error("jose: key too large");
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (!j.is_object() || !j.contains("kty") || !j["kty"].is_string()) return make_error("jose: not a JWK object");
  cjose_err err{};
  cjose_jwk_t* raw = cjose_jwk_import(json.data(), json.size(), &err);
  if (raw == nullptr) return make_error(why("jose: unusable JWK", err));
  Jwk k;
  k.key_ = std::shared_ptr<_cjose_jwk_int>(raw, Release{});
  // The public half: the members that are not private in RFC 7518 §6.
  nlohmann::json pub = nlohmann::json::object();
  for (const char* m : {"kty", "kid", "use", "alg", "n", "e", "crv", "x", "y"}) {
    if (j.contains(m)) pub[m] = j[m];
  }
  if (pub["kty"] == "oct") pub = nlohmann::json::object();  // a symmetric key has no public half
  k.public_ = std::move(pub);
  return k;
}

Result<Jwk> Jwk::generate(std::string_view kty, std::string_view kid) {
  cjose_err err{};
  cjose_jwk_t* raw = nullptr;
  if (kty == "RSA") {
    static const uint8_t e[] = {0x01, 0x00, 0x01};
    raw = cjose_jwk_create_RSA_random(2048, e, sizeof e, &err);
  } else if (kty == "EC") {
    raw = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &err);
  } else {
    return make_error("jose: cannot generate a key of type " + std::string(kty));
  }
  if (raw == nullptr) return make_error(why("jose: key generation", err));
  if (!cjose_jwk_set_kid(raw, kid.data(), kid.size(), &err)) {
    cjose_jwk_release(raw);
    return make_error(why("jose: key id", err));
  }
  std::unique_ptr<char, Dealloc> json(cjose_jwk_to_json(raw, true, &err));
  cjose_jwk_release(raw);
  if (!json) return make_error(why("jose: key export", err));
  return from_json(std::string_view(json.get()));
}

std::string Jwk::private_json() const {
  if (!key_) return {};
  cjose_err err{};
  std::unique_ptr<char, Dealloc> json(cjose_jwk_to_json(key_.get(), true, &err));
  return json ? std::string(json.get()) : std::string();
}

std::string Jwk::kid() const {
  if (!key_) return {};
  cjose_err err{};
  const char* kid = cjose_jwk_get_kid(key_.get(), &err);
  return kid != nullptr ? kid : "";
}

std::string Jwk::kty() const {
  if (!key_) return {};
  cjose_err err{};
  const char* name = cjose_jwk_name_for_kty(cjose_jwk_get_kty(key_.get(), &err), &err);
  return name != nullptr ? name : "";
}

std::string Jwk::curve() const {
  if (!key_ || kty() != "EC") return {};
  cjose_err err{};
  switch (cjose_jwk_EC_get_curve(key_.get(), &err)) {
    case CJOSE_JWK_EC_P_256: return "P-256";
    case CJOSE_JWK_EC_P_384: return "P-384";
    case CJOSE_JWK_EC_P_521: return "P-521";
    default: return {};
  }
}

std::size_t compact_segments(std::string_view compact) {
  if (compact.size() > max_compact_token) return 0;
  return static_cast<std::size_t>(std::count(compact.begin(), compact.end(), '.')) + 1;
}

std::optional<nlohmann::json> compact_header(std::string_view compact) {
  if (compact.size() > max_compact_token) return std::nullopt;
  const auto dot = compact.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  auto bytes = crypto::base64url_decode(compact.substr(0, dot));
  if (!bytes) return std::nullopt;
  auto j = nlohmann::json::parse(bytes->begin(), bytes->end(), nullptr, false);
  if (!j.is_object()) return std::nullopt;
  return j;
}

Result<std::string> sign_compact(const Jwk& key, std::string_view alg, const nlohmann::json& payload, std::string_view typ) {
  if (key.empty()) return make_error("jose: no signing key");
  auto header = make_header({{"alg", std::string(alg)}, {"kid", key.kid()}, {"typ", std::string(typ)}});
  if (!header) return header.error();
  const std::string body = payload.dump();
  cjose_err err{};
  std::unique_ptr<cjose_jws_t, JwsRelease> jws(cjose_jws_sign(key.get(), header->get(),
                                                              reinterpret_cast<const uint8_t*>(body.data()), body.size(), &err));
  if (!jws) return make_error(why("jose: signing", err));
  const char* out = nullptr;
  if (!cjose_jws_export(jws.get(), &out, &err) || out == nullptr) return make_error(why("jose: signing", err));
  return std::string(out);
}

Result<std::string> verify_compact(std::string_view compact, const Jwk& key) {
  if (compact.size() > max_compact_token) return make_error("jose: token too large");
  if (key.empty()) return make_error("jose: no verification key");
  cjose_err err{};
  std::unique_ptr<cjose_jws_t, JwsRelease> jws(cjose_jws_import(compact.data(), compact.size(), &err));
  if (!jws) return make_error(why("jose: not a JWS", err));
  if (!cjose_jws_verify(jws.get(), key.get(), &err)) return make_error(why("jose: bad signature", err));
  uint8_t* plain = nullptr;
  size_t len = 0;
  if (!cjose_jws_get_plaintext(jws.get(), &plain, &len, &err)) return make_error(why("jose: payload", err));
  return std::string(reinterpret_cast<const char*>(plain), len);
}

Result<std::string> encrypt_compact(const Jwk& key, std::string_view alg, std::string_view enc, std::string_view plaintext,
                                    std::string_view cty) {
  if (key.empty()) return make_error("jose: no encryption key");
  auto header = make_header({{"alg", std::string(alg)}, {"enc", std::string(enc)}, {"kid", key.kid()}, {"cty", std::string(cty)}});
  if (!header) return header.error();
  cjose_err err{};
  std::unique_ptr<cjose_jwe_t, JweRelease> jwe(cjose_jwe_encrypt(key.get(), header->get(),
                                                                reinterpret_cast<const uint8_t*>(plaintext.data()), plaintext.size(), &err));
  if (!jwe) return make_error(why("jose: encryption", err));
  std::unique_ptr<char, Dealloc> out(cjose_jwe_export(jwe.get(), &err));
  if (!out) return make_error(why("jose: encryption", err));
  return std::string(out.get());
}

Result<std::string> decrypt_compact(std::string_view compact, const Jwk& key) {
  if (compact.size() > max_compact_token) return make_error("jose: token too large");
  if (key.empty()) return make_error("jose: no decryption key");
  cjose_err err{};
  std::unique_ptr<cjose_jwe_t, JweRelease> jwe(cjose_jwe_import(compact.data(), compact.size(), &err));
  if (!jwe) return make_error(why("jose: not a JWE", err));
  size_t len = 0;
  std::unique_ptr<uint8_t, Dealloc> plain(cjose_jwe_decrypt(jwe.get(), key.get(), &len, &err));
  if (!plain) return make_error(why("jose: cannot decrypt", err));
  std::string out(reinterpret_cast<const char*>(plain.get()), len);
  crypto::secure_wipe(std::span<std::uint8_t>(plain.get(), len));
  return out;
}

}  // namespace sinetti::auth
