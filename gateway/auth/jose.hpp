// Thin owners over libcjose for what OpenID Connect needs: keys (JWK, RFC 7517), compact JWS
// (RFC 7515) signing and verification, compact JWE (RFC 7516) encryption and decryption. Only this
// file and jose.cpp see cjose. Untrusted input: the compact serialisations and JWK JSON handed to
// the parse functions (errors are values). Algorithm policy is the caller's (verifier.hpp): these
// functions do what they are asked with the key given.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "sinetti/result.hpp"

struct _cjose_jwk_int;  // cjose_jwk_t

namespace sinetti::auth {

// Caps on what is read from peers.
inline constexpr std::size_t max_compact_token = 32 * 1024;
inline constexpr std::size_t max_jwks_document = 256 * 1024;
inline constexpr std::size_t max_jwks_keys = 32;

class Jwk {
 public:
  Jwk() = default;
  static Result<Jwk> from_json(std::string_view json);
  static Result<Jwk> from_object(const nlohmann::json& json) { return from_json(std::string_view(json.dump())); }
  // A fresh key pair: kty "RSA" (2048 bits) or "EC" (P-256), with `kid`. For tests and tools; the
  // product reads its keys from files (providers.hpp).
  static Result<Jwk> generate(std::string_view kty, std::string_view kid);
  // The whole key with its private members, as JSON text (secret).
  std::string private_json() const;

  bool empty() const { return !key_; }
  std::string kid() const;
  std::string kty() const;     // "RSA", "EC", "oct"
  std::string curve() const;   // "P-256" ... for EC; empty otherwise
  // The public members only, as a JSON object (kid and use kept from the source JSON).
  nlohmann::json public_json() const { return public_; }
  _cjose_jwk_int* get() const { return key_.get(); }

 private:
  struct Release {
    void operator()(_cjose_jwk_int* k) const noexcept;
  };
  std::shared_ptr<_cjose_jwk_int> key_;
  nlohmann::json public_;
};

// The protected header of a compact JWS or JWE, decoded and parsed; nullopt if it is not a JSON
// object. The token's shape (3 or 5 segments) decides nothing here.
std::optional<nlohmann::json> compact_header(std::string_view compact);
// Segments of a compact serialisation ('.'-separated), 0 if it is longer than max_compact_token.
std::size_t compact_segments(std::string_view compact);

// Signs `payload` (the JWT claims) with `key`: header {"alg": alg, "kid": key.kid(), "typ": typ}
// plus `extra` members.
Result<std::string> sign_compact(const Jwk& key, std::string_view alg, const nlohmann::json& payload,
                                 std::string_view typ = "JWT");

// Verifies the signature of a compact JWS with `key` and returns its payload bytes.
Result<std::string> verify_compact(std::string_view compact, const Jwk& key);

// Encrypts `plaintext` to `key` (alg/enc as given; cty added when not empty).
Result<std::string> encrypt_compact(const Jwk& key, std::string_view alg, std::string_view enc, std::string_view plaintext,
                                    std::string_view cty = "JWT");
// Decrypts a compact JWE with our private `key`.
Result<std::string> decrypt_compact(std::string_view compact, const Jwk& key);

}  // namespace sinetti::auth
