#include <boost/test/unit_test.hpp>

#include "sms/phone.hpp"

using sinetti::sms::mask_phone;
using sinetti::sms::normalize_phone;

BOOST_AUTO_TEST_SUITE(phone)

BOOST_AUTO_TEST_CASE(normalises_common_finnish_forms) {
  for (const char* in : {"0401234567", "040 123 4567", "040-1234567", "+358401234567",
                         "+358 40 123 4567", "00358401234567", "358401234567"}) {
    auto r = normalize_phone(in);
    BOOST_TEST_REQUIRE(r.ok(), in);
    BOOST_TEST(*r == "+358401234567", in);
  }
  BOOST_TEST(*normalize_phone("+46701234567") == "+46701234567");
  BOOST_TEST(*normalize_phone("0701234567", "46") == "+46701234567");
}

BOOST_AUTO_TEST_CASE(rejects_what_is_not_a_number) {
  for (const char* in : {"", "+", "abc", "040123456x", "12345", "+0401234567", "+1234567890123456",
                         "040+1234567", "-0401234567"}) {
    BOOST_TEST(!normalize_phone(in).ok(), in);
  }
}

BOOST_AUTO_TEST_CASE(mask_shows_only_last_two_digits) {
  const std::string masked = mask_phone("+358401234567");
  BOOST_TEST(masked.ends_with("67"));
  BOOST_TEST(masked.find("3584") == std::string::npos);
  BOOST_TEST(masked.find("1234") == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
