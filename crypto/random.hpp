// The one source of randomness (CONVENTIONS habit 7): OpenSSL's CSPRNG (RAND_bytes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "crypto/primitives.hpp"  // base64url_encode, which used to be declared here

namespace sinetti::crypto {

// Fills `out` with cryptographically secure random bytes. Throws std::runtime_error if the CSPRNG
// fails (it cannot be seeded), which is a fatal condition, not an input error.
void random_bytes(std::span<std::uint8_t> out);

// A uniformly random integer in [0, bound), without modulo bias.
std::uint32_t random_below(std::uint32_t bound);

}  // namespace sinetti::crypto
