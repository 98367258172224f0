#include "crypto/jwk.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "crypto/openssl_support.hpp"
#include "crypto/primitives.hpp"

namespace sinetti::crypto {

namespace {

using BioPtr = std::unique_ptr<BIO, detail::Free<BIO_free>>;
using BnPtr = std::unique_ptr<BIGNUM, detail::Free<BN_clear_free>>;

// A big-number parameter as unsigned big-endian bytes, at least `width` long (left-padded).
std::optional<Bytes> bn_param(EVP_PKEY* key, const char* name, std::size_t width = 0) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) return std::nullopt;
  BnPtr bn(raw);
  const auto n = static_cast<std::size_t>(BN_num_bytes(bn.get()));
  Bytes out(std::max(n, width));
  if (BN_bn2binpad(bn.get(), out.data(), static_cast<int>(out.size())) < 0) return std::nullopt;
  return out;
}

std::string b64(const Bytes& b) { return base64url_encode(ByteView(b.data(), b.size())); }

// JSON string members only, values base64url or fixed names: no escaping needed.
std::string object(const std::vector<std::pair<std::string, std::string>>& members) {
  std::string out = "{";
  for (const auto& [k, v] : members) {
    if (out.size() > 1) out += ",";
    out += "\"" + k + "\":\"" + v + "\"";
  }
  return out + "}";
}

}  // namespace

Result<JwkPair> jwk_from_pem(std::string_view pem, std::string_view use) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return make_error(detail::openssl_message("jwk: BIO_new_mem_buf"));
  detail::PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return make_error(detail::openssl_message("jwk: not a PEM private key"));
  JwkPair pair;
  std::vector<std::pair<std::string, std::string>> pub, priv;
  if (EVP_PKEY_is_a(key.get(), "RSA")) {
    if (EVP_PKEY_get_bits(key.get()) < 2048) return make_error("jwk: RSA keys must have at least 2048 bits");
    auto n = bn_param(key.get(), OSSL_PKEY_PARAM_RSA_N), e = bn_param(key.get(), OSSL_PKEY_PARAM_RSA_E);
    auto d = bn_param(key.get(), OSSL_PKEY_PARAM_RSA_D), p = bn_param(key.get(), OSSL_PKEY_PARAM_RSA_FACTOR1);
    auto q = bn_param(key.get(), OSSL_PKEY_PARAM_RSA_FACTOR2), dp = bn_param(key.get(), OSSL_PKEY_PARAM_RSA_EXPONENT1);
    auto dq = bn_param(key.get(), OSSL_PKEY_PARAM_RSA_EXPONENT2), qi = bn_param(key.get(), OSSL_PKEY_PARAM_RSA_COEFFICIENT1);
    if (!n || !e || !d || !p || !q || !dp || !dq || !qi) return make_error("jwk: incomplete RSA private key");
    pair.kty = "RSA";
    const std::string thumb_input = object({{"e", b64(*e)}, {"kty", "RSA"}, {"n", b64(*n)}});
    const auto digest = sha256(as_bytes(thumb_input));
    pair.kid = base64url_encode(digest);
    pub = {{"kty", "RSA"}, {"kid", pair.kid}, {"use", std::string(use)}, {"n", b64(*n)}, {"e", b64(*e)}};
    priv = pub;
    for (auto& [k, v] : std::vector<std::pair<std::string, Bytes*>>{{"d", &*d}, {"p", &*p}, {"q", &*q}, {"dp", &*dp}, {"dq", &*dq}, {"qi", &*qi}}) {
      priv.emplace_back(k, b64(*v));
      secure_wipe(*v);
    }
  } else if (EVP_PKEY_is_a(key.get(), "EC")) {
    char group[64] = {};
    std::size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(key.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len) != 1 ||
        std::string_view(group, len) != "prime256v1") {
      return make_error("jwk: EC keys must be on P-256");
    }
    auto x = bn_param(key.get(), OSSL_PKEY_PARAM_EC_PUB_X, 32), y = bn_param(key.get(), OSSL_PKEY_PARAM_EC_PUB_Y, 32);
    auto d = bn_param(key.get(), OSSL_PKEY_PARAM_PRIV_KEY, 32);
    if (!x || !y || !d) return make_error("jwk: incomplete EC private key");
    pair.kty = "EC";
    const std::string thumb_input = object({{"crv", "P-256"}, {"kty", "EC"}, {"x", b64(*x)}, {"y", b64(*y)}});
    const auto digest = sha256(as_bytes(thumb_input));
    pair.kid = base64url_encode(digest);
    pub = {{"kty", "EC"}, {"kid", pair.kid}, {"use", std::string(use)}, {"crv", "P-256"}, {"x", b64(*x)}, {"y", b64(*y)}};
    priv = pub;
    priv.emplace_back("d", b64(*d));
    secure_wipe(*d);
  } else {
    return make_error("jwk: only RSA and EC P-256 keys are supported");
  }
  pair.public_jwk = object(pub);
  pair.private_jwk = object(priv);
  for (auto& [k, v] : priv) secure_wipe(v);
  return pair;
}

}  // namespace sinetti::crypto
