#include <boost/test/unit_test.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "gateway/routing/detectors.hpp"
#include "tests/unit/gateway/routing/span_printing.hpp"

using sinetti::routing::find_ibans;
using sinetti::routing::is_valid_iban;
using sinetti::routing::TextSpan;

namespace {

// Published example IBANs (bank and registry examples), print form; mod 97 checked independently.
const std::vector<std::string> known_valid = {
    "FI21 1234 5600 0007 85",           "DE89 3704 0044 0532 0130 00",
    "GB82 WEST 1234 5698 7654 32",      "SE45 5000 0000 0583 9825 7466",
    "NO93 8601 1117 947",               "DK50 0040 0440 1162 43",
    "EE38 2200 2210 2014 5685",         "FR14 2004 1010 0505 0001 3M02 606",
    "NL91 ABNA 0417 1643 00",           "BE68 5390 0754 7034",
    "AT61 1904 3002 3457 3201",         "CH93 0076 2011 6238 5295 7",
    "ES91 2100 0418 4502 0005 1332",    "IT60 X054 2811 1010 0000 0123 456",
    "PL61 1090 1014 0000 0712 1981 2874", "LV80 BANK 0000 4351 9500 1",
    "LT12 1000 0111 0100 1000",         "IE29 AIBK 9311 5212 3456 78",
    "IS14 0159 2600 7654 5510 7303 39", "LU28 0019 4006 4475 0000",
    "PT50 0002 0123 1234 5678 9015 4",
};

std::string electronic(std::string_view print_form) {
  std::string out;
  for (char c : print_form) {
    if (c != ' ') out += c;
  }
  return out;
}

std::vector<TextSpan> one(std::size_t offset, std::size_t length) { return {TextSpan{offset, length}}; }

}  // namespace

BOOST_AUTO_TEST_SUITE(iban)

BOOST_AUTO_TEST_CASE(known_ibans_are_valid_in_both_forms) {
  for (const std::string& iban : known_valid) {
    BOOST_TEST(is_valid_iban(iban), iban);
    BOOST_TEST(is_valid_iban(electronic(iban)), iban);
  }
}

BOOST_AUTO_TEST_CASE(one_changed_or_swapped_character_is_refused) {
  BOOST_TEST(!is_valid_iban("FI21 1234 5600 0007 86"));  // last digit changed
  BOOST_TEST(!is_valid_iban("FI21 1234 5600 0007 58"));  // last two digits swapped
  BOOST_TEST(!is_valid_iban("FI21 1234 5600 0070 85"));  // swapped across a group
  BOOST_TEST(!is_valid_iban("FI12 1234 5600 0007 85"));  // check digits swapped
  BOOST_TEST(!is_valid_iban("DE89 3704 0044 0532 0130 01"));
  BOOST_TEST(!is_valid_iban("GB82 WEST 1234 5698 7654 33"));
  BOOST_TEST(!is_valid_iban("GB82 WESU 1234 5698 7654 32"));  // a letter of the BBAN changed
  // Every single-digit change of the Finnish example is caught.
  const std::string good = "FI2112345600000785";
  for (std::size_t i = 2; i < good.size(); ++i) {
    for (char digit = '0'; digit <= '9'; ++digit) {
      if (digit == good[i]) continue;
      std::string changed = good;
      changed[i] = digit;
      BOOST_TEST(!is_valid_iban(changed), changed);
    }
  }
}

BOOST_AUTO_TEST_CASE(length_must_match_the_country) {
  // Both satisfy mod 97; Finland's IBANs have 18 characters.
  BOOST_TEST(!is_valid_iban("FI59 1234 5600 0007 850"));
  BOOST_TEST(!is_valid_iban("FI97 1234 5600 0007"));
  // An unknown country code: structure and mod 97 only.
  BOOST_TEST(is_valid_iban("ZZ18 1234 5678 9012 34"));
  BOOST_TEST(!is_valid_iban("ZZ18 1234 5678 9012 35"));
  BOOST_TEST(is_valid_iban("XK05 1212 0123 4567 8906"));  // Kosovo, not in the table
  BOOST_TEST(is_valid_iban("SA03 8000 0000 6080 1016 7519"));
}

BOOST_AUTO_TEST_CASE(check_digits_outside_02_to_98_are_refused) {
  // Each pair satisfies mod 97; only the first of each is ever issued.
  BOOST_TEST(is_valid_iban("FI02 1234 5600 0000 60"));
  BOOST_TEST(!is_valid_iban("FI99 1234 5600 0000 60"));
  BOOST_TEST(is_valid_iban("FI98 1234 5600 0000 78"));
  BOOST_TEST(!is_valid_iban("FI01 1234 5600 0000 78"));
  BOOST_TEST(is_valid_iban("FI97 1234 5600 0000 96"));
  BOOST_TEST(!is_valid_iban("FI00 1234 5600 0000 96"));
}

BOOST_AUTO_TEST_CASE(malformed_ibans_are_refused) {
  for (const char* text : {"", "FI21", "fi21 1234 5600 0007 85", "FI21 1234 5600 0007 85 ", " FI21 1234 5600 0007 85",
                           "FI21  1234 5600 0007 85", "FI2112 3456 0000 0785", "FI21 12345 600 0007 85",
                           "FI21 123 4560 0000 785", "FI 2112 3456 0000 0785",
                           "FI21-1234-5600-0007-85", "FI21\t1234 5600 0007 85", "1121 1234 5600 0007 85",
                           "F121 1234 5600 0007 85", "FIAB 1234 5600 0007 85", "GB82 west 1234 5698 7654 32",
                           "FI21 1234 5600 0007 8.", "FI21\xC2\xA0" "1234 5600 0007 85",
                           "ZZ18 1234 5678 9012 3456 7890 1234 5678 9"}) {  // 35 characters
    BOOST_TEST(!is_valid_iban(text), text);
  }
}

BOOST_AUTO_TEST_CASE(finds_ibans_in_text) {
  BOOST_TEST(find_ibans("Tilinumero FI21 1234 5600 0007 85, er\xC3\xA4p\xC3\xA4iv\xC3\xA4 1.1.") == one(11, 22));
  BOOST_TEST(find_ibans("IBAN:FI2112345600000785.") == one(5, 18));
  BOOST_TEST(find_ibans("FI2112345600000785") == one(0, 18));
  BOOST_TEST(find_ibans("(GB82 WEST 1234 5698 7654 32)") == one(1, 27));
  BOOST_TEST(find_ibans("tili\nNO93 8601 1117 947\n") == one(5, 18));
}

BOOST_AUTO_TEST_CASE(a_print_form_iban_followed_by_more_text) {
  BOOST_TEST(find_ibans("FI21 1234 5600 0007 85 1234 EUR") == one(0, 22));
  BOOST_TEST(find_ibans("BE68 5390 0754 7034 2024 maksu") == one(0, 19));  // BE has 16 characters
  BOOST_TEST(find_ibans("DE89 3704 0044 0532 0130 00 DE") == one(0, 27));
  // An unknown country where both readings pass mod 97: the longer one is reported.
  BOOST_TEST(is_valid_iban("ZZ65 1234 5678 9012"));
  BOOST_TEST(is_valid_iban("ZZ65 1234 5678 9012 0050"));
  BOOST_TEST(find_ibans("ZZ65 1234 5678 9012 0050 x") == one(0, 24));
}

BOOST_AUTO_TEST_CASE(finds_several_ibans_with_offsets) {
  const std::string text = "Maksa FI21 1234 5600 0007 85 tai DE89370400440532013000; ei: FI21 1234 5600 0007 86.";
  const std::vector<TextSpan> expected = {{6, 22}, {text.find("DE89"), 22}};
  BOOST_TEST(find_ibans(text) == expected);
}

BOOST_AUTO_TEST_CASE(ibans_inside_words_or_invalid_are_not_found) {
  for (const char* text : {"XFI2112345600000785", "FI2112345600000785X", "FI2112345600000785a",
                           "\xC3\xA4" "FI2112345600000785", "FI21 1234 5600 0007 85abc", "FI21 1234 5600 0007 86",
                           "FI21 1234 5600 0007", "fi2112345600000785", "FI21 1234\n5600 0007 85",
                           "FI211234560000078512", "FI21 1234 5600 0007 85000",
                           "FI21 1234 5600 00 0785"}) {  // a short group must be the last
    BOOST_TEST(find_ibans(text).empty(), text);
  }
}

BOOST_AUTO_TEST_CASE(every_prefix_of_a_text_is_scanned_safely) {
  const std::string text = "\xE2\x80\x9C" "FI21 1234 5600 0007 85\xE2\x80\x9D GB82WEST12345698765432 XX00 0000\xF0";
  for (std::size_t size = 0; size <= text.size(); ++size) {
    BOOST_TEST(find_ibans(std::string_view(text).substr(0, size)).size() <= 2U);
  }
  BOOST_TEST(find_ibans(text).size() == 2U);
  const std::string long_run = "FI21 " + std::string(300000, '1');
  BOOST_TEST(find_ibans(long_run).empty());
}

BOOST_AUTO_TEST_SUITE_END()
