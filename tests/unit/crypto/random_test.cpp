#include <boost/test/unit_test.hpp>

#include <array>
#include <set>

#include "crypto/random.hpp"

using namespace sinetti::crypto;

BOOST_AUTO_TEST_SUITE(crypto_random)

BOOST_AUTO_TEST_CASE(random_bytes_differ_and_random_below_stays_in_range) {
  std::array<std::uint8_t, 32> a{}, b{};
  random_bytes(a);
  random_bytes(b);
  BOOST_TEST((a != b));
  std::set<std::uint32_t> seen;
  for (int i = 0; i < 2000; ++i) {
    const auto v = random_below(10);
    BOOST_TEST(v < 10u);
    seen.insert(v);
  }
  BOOST_TEST(seen.size() == 10u);  // every digit shows up in 2000 draws (p of failure < 1e-80)
}

BOOST_AUTO_TEST_SUITE_END()
