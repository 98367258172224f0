// Read-link tokens, their stored hashes, one-time PINs and their MACs (DESIGN "Tokens"; NIST SP
// 800-63B §5.1.3, OWASP ASVS 6.6 and 7.2.3). Untrusted input: tokens and PINs typed or clicked by
// recipients reach token_hash and pin_mac; both take any bytes.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "crypto/primitives.hpp"

namespace sinetti::crypto {

inline constexpr std::size_t token_bytes = 32;        // 256 bits from the CSPRNG
inline constexpr std::size_t token_length = 43;       // base64url characters, no padding
inline constexpr std::size_t max_random_digits = 64;

// A fresh 256-bit random token as 43 base64url characters (for read links and similar).
std::string generate_token();

// What the store keeps instead of a token: SHA-256 of the token's characters.
Sha256Digest token_hash(std::string_view token);

// HMAC-SHA256 under a server secret (KeyRing::server_secret("pin-mac")) of the PIN bound to its
// context (the message and challenge it was issued for), so a PIN proves nothing elsewhere. The
// fields are length-prefixed, so no (context, pin) pair collides with another.
Sha256Digest pin_mac(ByteView secret, std::string_view context, std::string_view pin);

// Compares a candidate PIN with a stored MAC in constant time.
bool pin_matches(ByteView secret, std::string_view context, std::string_view pin, ByteView stored_mac);

// The identity key that stands for a person: HMAC-SHA256 under a server secret
// (KeyRing::server_secret("identity")) of their personal identity code, upper-cased, with a fixed
// label. The code itself is never stored; equal codes give equal keys, and without the secret a key
// reveals nothing about the code (the code space is small, so a plain hash would).
Sha256Digest identity_key(ByteView secret, std::string_view identity_code);

// `n` uniformly random decimal digits (each drawn without modulo bias); 1 <= n <= 64, else throws.
std::string random_digits(std::size_t n);

}  // namespace sinetti::crypto
