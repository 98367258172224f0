// Tokens and PIN MACs over the primitives and the one random source.
#include "crypto/tokens.hpp"

#include <array>
#include <cstdint>
#include <stdexcept>

#include "crypto/random.hpp"

namespace sinetti::crypto {
namespace {

constexpr std::string_view pin_mac_label = "sinetti pin-mac v1";

void append_field(Bytes& out, std::string_view field) {
  const auto n = static_cast<std::uint32_t>(field.size());
  out.push_back(static_cast<std::uint8_t>(n >> 24));
  out.push_back(static_cast<std::uint8_t>(n >> 16));
  out.push_back(static_cast<std::uint8_t>(n >> 8));
  out.push_back(static_cast<std::uint8_t>(n));
  out.insert(out.end(), field.begin(), field.end());
}

}  // namespace

std::string generate_token() {
  std::array<std::uint8_t, token_bytes> bytes{};
  random_bytes(bytes);
  std::string token = base64url_encode(bytes);
  secure_wipe(bytes);
  return token;
}

Sha256Digest token_hash(std::string_view token) { return sha256(as_bytes(token)); }

Sha256Digest pin_mac(ByteView secret, std::string_view context, std::string_view pin) {
  if (context.size() > 0xffffffffu || pin.size() > 0xffffffffu) throw std::length_error("crypto: pin_mac input too long");
  Bytes message;
  message.reserve(pin_mac_label.size() + 8 + context.size() + pin.size());
  message.insert(message.end(), pin_mac_label.begin(), pin_mac_label.end());
  append_field(message, context);
  append_field(message, pin);
  const Sha256Digest mac = hmac_sha256(secret, message);
  secure_wipe(message);
  return mac;
}

bool pin_matches(ByteView secret, std::string_view context, std::string_view pin, ByteView stored_mac) {
  const Sha256Digest mac = pin_mac(secret, context, pin);
  return constant_time_equal(mac, stored_mac);
}

std::string random_digits(std::size_t n) {
  if (n == 0 || n > max_random_digits) throw std::invalid_argument("crypto: random_digits needs 1 to 64 digits");
  std::string digits(n, '0');
  for (auto& d : digits) d = static_cast<char>('0' + random_below(10));
  return digits;
}

Sha256Digest identity_key(ByteView secret, std::string_view identity_code) {
  std::string data = "sinetti identity v1\n";
  for (char c : identity_code) data += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  return hmac_sha256(secret, as_bytes(data));
}

}  // namespace sinetti::crypto
