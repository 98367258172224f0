// Our own OpenID Connect keys as JSON Web Keys (RFC 7517/7518): a PEM private key (RSA ≥ 2048 bits
// or EC P-256) read into a private JWK for the JOSE library, and the public half for the JWKS the
// portal publishes. The key id is the RFC 7638 thumbprint (SHA-256 of the required members, in
// lexicographic order, base64url). Untrusted input: none (the PEM is the operator's file), but a
// malformed or unsupported key is a Result error, not an exception.
#pragma once

#include <string>
#include <string_view>

#include "sinetti/result.hpp"

namespace sinetti::crypto {

struct JwkPair {
  std::string private_jwk;  // JSON object text with the private members; secret
  std::string public_jwk;   // JSON object text with kty, kid, n/e or crv/x/y
  std::string kid;
  std::string kty;          // "RSA" or "EC"
};

// `use` ("sig" or "enc") is written into both JWKs.
Result<JwkPair> jwk_from_pem(std::string_view pem, std::string_view use);

}  // namespace sinetti::crypto
