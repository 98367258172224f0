#include "gateway/ingest/ids.hpp"

#include <array>
#include <chrono>
#include <cstdint>

#include "crypto/random.hpp"

namespace sinetti::ingest {

std::string new_message_id(const Clock& clock) {
  static constexpr char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";  // Crockford: no I L O U
  const auto ms = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(clock.now().time_since_epoch()).count());
  std::array<std::uint8_t, 5> random{};
  crypto::random_bytes(random);
  std::uint64_t r = 0;
  for (auto b : random) r = (r << 8) | b;
  std::string id(18, '0');
  for (int i = 9; i >= 0; --i) id[static_cast<std::size_t>(9 - i)] = alphabet[(ms >> (5 * i)) & 31];
  for (int i = 7; i >= 0; --i) id[static_cast<std::size_t>(17 - i)] = alphabet[(r >> (5 * i)) & 31];
  return id;
}

}  // namespace sinetti::ingest
