// Read-link tokens, their hashes, PIN MACs and random PIN digits.
#include <boost/test/unit_test.hpp>

#include <array>
#include <set>

#include "crypto/tokens.hpp"
#include "test_support.hpp"

using namespace sinetti::crypto;
using sinetti::crypto::test::to_hex;

BOOST_AUTO_TEST_SUITE(crypto_tokens)

BOOST_AUTO_TEST_CASE(tokens_are_43_base64url_characters_of_256_random_bits) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    const std::string token = generate_token();
    BOOST_TEST(token.size() == token_length);
    const auto decoded = base64url_decode(token);
    BOOST_REQUIRE(decoded.ok());
    BOOST_TEST(decoded->size() == token_bytes);
    seen.insert(token);
  }
  BOOST_TEST(seen.size() == 200u);
}

BOOST_AUTO_TEST_CASE(token_hash_is_sha256_of_the_token_text) {
  // SHA-256("abc") from FIPS 180-4: the hash is over the token's characters as sent in the link.
  BOOST_TEST(to_hex(token_hash("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string token = generate_token();
  BOOST_TEST((token_hash(token) == sha256(as_bytes(token))));
  BOOST_TEST((token_hash(token) != token_hash(token.substr(1))));
}

BOOST_AUTO_TEST_CASE(pin_mac_binds_the_pin_to_its_context_and_secret) {
  const Bytes secret(32, 0x42), other_secret(32, 0x43);
  const auto mac = pin_mac(secret, "msg-1/challenge-7", "123456");
  // HMAC-SHA256 over the label and the length-prefixed fields, as documented in tokens.cpp.
  Bytes message = test::bytes_of("sinetti pin-mac v1");
  for (const std::string_view field : {std::string_view("msg-1/challenge-7"), std::string_view("123456")}) {
    const auto n = static_cast<std::uint32_t>(field.size());
    for (const int shift : {24, 16, 8, 0}) message.push_back(static_cast<std::uint8_t>(n >> shift));
    message.insert(message.end(), field.begin(), field.end());
  }
  BOOST_TEST((mac == hmac_sha256(secret, message)));

  BOOST_TEST((pin_mac(secret, "msg-1/challenge-7", "123456") == mac));
  BOOST_TEST((pin_mac(secret, "msg-1/challenge-8", "123456") != mac));
  BOOST_TEST((pin_mac(secret, "msg-1/challenge-7", "123457") != mac));
  BOOST_TEST((pin_mac(other_secret, "msg-1/challenge-7", "123456") != mac));
  // Moving characters between context and PIN gives another MAC.
  BOOST_TEST((pin_mac(secret, "msg-1/challenge-71", "23456") != mac));
  BOOST_TEST(pin_matches(secret, "msg-1/challenge-7", "123456", mac));
  BOOST_TEST(!pin_matches(secret, "msg-1/challenge-7", "654321", mac));
  BOOST_TEST(!pin_matches(secret, "msg-1/challenge-7", "123456", ByteView(mac).first(16)));
}

BOOST_AUTO_TEST_CASE(random_digits_are_digits_and_uniform_enough) {
  for (const std::size_t n : {1u, 6u, 8u, 64u}) {
    const std::string pin = random_digits(n);
    BOOST_TEST(pin.size() == n);
    BOOST_TEST(pin.find_first_not_of("0123456789") == std::string::npos);
  }
  BOOST_CHECK_THROW(random_digits(0), std::invalid_argument);
  BOOST_CHECK_THROW(random_digits(65), std::invalid_argument);

  // 60,000 digits: each of the ten should appear about 6,000 times. The bound is 8 standard
  // deviations (sd ~ 73), so a correct generator fails with probability below 1e-14; it catches a
  // stuck, missing or grossly skewed digit. Freedom from modulo bias comes from random_below's
  // rejection of the top partial range, not from this count.
  std::array<int, 10> counts{};
  for (int i = 0; i < 1000; ++i) {
    for (const char c : random_digits(60)) ++counts[static_cast<std::size_t>(c - '0')];
  }
  for (const int count : counts) BOOST_TEST(std::abs(count - 6000) < 600);
}

BOOST_AUTO_TEST_CASE(identity_keys_are_keyed_and_case_blind) {
  const SecretBytes a = SecretBytes::random(32);
  const SecretBytes b = SecretBytes::random(32);
  const auto k1 = identity_key(a.view(), "010594Y9032");
  BOOST_TEST((k1 == identity_key(a.view(), "010594y9032")));
  BOOST_TEST((k1 != identity_key(a.view(), "020516C903K")));
  BOOST_TEST((k1 != identity_key(b.view(), "010594Y9032")));
  // Not the plain hash of the code, which anyone could compute over the small code space.
  BOOST_TEST((k1 != sha256(as_bytes("010594Y9032"))));
}

BOOST_AUTO_TEST_SUITE_END()
