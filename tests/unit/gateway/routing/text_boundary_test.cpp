#include <boost/test/unit_test.hpp>

#include <string>
#include <string_view>

#include "gateway/routing/text_boundary.hpp"

using sinetti::routing::detail::decode_utf8_at;
using sinetti::routing::detail::is_word_code_point;
using sinetti::routing::detail::word_continues_at;
using sinetti::routing::detail::word_continues_before;

BOOST_AUTO_TEST_SUITE(text_boundary)

BOOST_AUTO_TEST_CASE(decodes_well_formed_utf8) {
  const auto a_umlaut = decode_utf8_at("\xC3\xA4", 0);
  BOOST_TEST_REQUIRE(a_umlaut.has_value());
  BOOST_TEST(static_cast<unsigned>(a_umlaut->code_point) == 0xE4U);
  BOOST_TEST(a_umlaut->length == 2U);
  const auto euro = decode_utf8_at("x\xE2\x82\xAC", 1);
  BOOST_TEST_REQUIRE(euro.has_value());
  BOOST_TEST(static_cast<unsigned>(euro->code_point) == 0x20ACU);
  const auto emoji = decode_utf8_at("\xF0\x9F\x93\x9E", 0);
  BOOST_TEST_REQUIRE(emoji.has_value());
  BOOST_TEST(static_cast<unsigned>(emoji->code_point) == 0x1F4DEU);
  BOOST_TEST(emoji->length == 4U);
}

BOOST_AUTO_TEST_CASE(refuses_ill_formed_utf8) {
  for (std::string_view bytes : {"\x80", "\xC0\xAF", "\xC1\xBF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xF0\x80\x80\xAF",
                                 "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xFF", "\xC3", "\xE2\x82", "\xC3\x28"}) {
    BOOST_TEST(!decode_utf8_at(bytes, 0).has_value());
  }
  BOOST_TEST(!decode_utf8_at("abc", 3).has_value());
}

BOOST_AUTO_TEST_CASE(letters_of_any_script_continue_a_word) {
  for (char32_t cp : {U'a', U'Z', U'7', U'\u00E4', U'\u00D6', U'\u00AA', U'\u03B1', U'\u0416', U'\u0301',
                      U'\u4E2D', U'\u00B2'}) {
    BOOST_TEST(is_word_code_point(cp), static_cast<unsigned>(cp));
  }
  for (char32_t cp : {U' ', U'-', U'_', U'.', U'\u00A0', U'\u00AB', U'\u00BB', U'\u00D7', U'\u2013',
                      U'\u201C', U'\u201D', U'\u2026', U'\u20AC', U'\u3001', U'\uFEFF', U'\uFFFD',
                      U'\U0001F4DE'}) {
    BOOST_TEST(!is_word_code_point(cp), static_cast<unsigned>(cp));
  }
}

BOOST_AUTO_TEST_CASE(looks_before_and_after_an_offset) {
  const std::string text = "\xC3\xA4" "1\xE2\x80\x9D" "2\xFF" "3";
  BOOST_TEST(!word_continues_before(text, 0));
  BOOST_TEST(word_continues_before(text, 2));   // ä
  BOOST_TEST(!word_continues_before(text, 6));  // ”
  BOOST_TEST(!word_continues_before(text, 8));  // stray 0xFF
  BOOST_TEST(!word_continues_before(text, 5));  // in the middle of ”: not a whole character
  BOOST_TEST(word_continues_at(text, 0));
  BOOST_TEST(!word_continues_at(text, 3));
  BOOST_TEST(!word_continues_at(text, 7));
  BOOST_TEST(!word_continues_at(text, text.size()));
}

BOOST_AUTO_TEST_SUITE_END()
