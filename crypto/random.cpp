#include "crypto/random.hpp"

#include <openssl/rand.h>

#include <limits>
#include <stdexcept>

namespace sinetti::crypto {

void random_bytes(std::span<std::uint8_t> out) {
  if (out.empty()) return;
  if (out.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()) ||
      RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
    throw std::runtime_error("crypto: the random number generator failed");
  }
}

std::uint32_t random_below(std::uint32_t bound) {
  if (bound <= 1) return 0;
  // Reject the top partial range so every value is equally likely.
  const std::uint32_t limit = std::numeric_limits<std::uint32_t>::max() -
                              std::numeric_limits<std::uint32_t>::max() % bound;
  for (;;) {
    std::uint8_t b[4];
    random_bytes(b);
    const std::uint32_t v = (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) |
                            (std::uint32_t{b[2]} << 8) | std::uint32_t{b[3]};
    if (v < limit) return v % bound;
  }
}

}  // namespace sinetti::crypto
