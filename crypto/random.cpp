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

std::string base64url_encode(std::span<const std::uint8_t> data) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((data.size() * 4 + 2) / 3);
  std::size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    const std::uint32_t n = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8) | data[i + 2];
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
    out += alphabet[n & 63];
  }
  if (const std::size_t rest = data.size() - i; rest == 1) {
    const std::uint32_t n = std::uint32_t{data[i]} << 16;
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
  } else if (rest == 2) {
    const std::uint32_t n = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
  }
  return out;
}

}  // namespace sinetti::crypto
