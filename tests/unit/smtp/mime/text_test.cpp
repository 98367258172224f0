// The UTF-8 safety net of smtp/mime (smtp/mime/text.hpp): validation per RFC 3629, Windows-1252
// fallback, repair, cutting at character boundaries.
#include <boost/test/unit_test.hpp>

#include "smtp/mime/text.hpp"

namespace text = sinetti::mime::text;

BOOST_AUTO_TEST_SUITE(mime_text)

BOOST_AUTO_TEST_CASE(validation_follows_rfc3629) {
  BOOST_TEST(text::is_valid_utf8(""));
  BOOST_TEST(text::is_valid_utf8("plain ascii"));
  BOOST_TEST(text::is_valid_utf8("ä € 🗓"));
  BOOST_TEST(text::is_valid_utf8(std::string_view("a\0b", 3)));
  BOOST_TEST(!text::is_valid_utf8("\xC0\x80"));          // overlong NUL
  BOOST_TEST(!text::is_valid_utf8("\xE0\x80\xAF"));      // overlong '/'
  BOOST_TEST(!text::is_valid_utf8("\xED\xA0\x80"));      // surrogate
  BOOST_TEST(!text::is_valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  BOOST_TEST(!text::is_valid_utf8("\xC3"));              // cut short
  BOOST_TEST(!text::is_valid_utf8("\x80"));              // stray continuation
  BOOST_TEST(!text::is_valid_utf8("\xFF"));
}

BOOST_AUTO_TEST_CASE(incomplete_tail) {
  BOOST_TEST(text::incomplete_utf8_tail("abc") == 0U);
  BOOST_TEST(text::incomplete_utf8_tail("ab\xC3") == 1U);
  BOOST_TEST(text::incomplete_utf8_tail("ab\xF0\x9F\x97") == 3U);
  BOOST_TEST(text::incomplete_utf8_tail("ab\xF0\x9F\x97\x93") == 0U);
  BOOST_TEST(text::incomplete_utf8_tail("ab\xFF") == 0U);  // invalid, not incomplete
}

BOOST_AUTO_TEST_CASE(windows_1252_fallback) {
  BOOST_TEST(text::utf8_or_windows_1252("J\xF6rg") == "Jörg");
  BOOST_TEST(text::utf8_or_windows_1252("\x80\x93\x94\x85") == "€“”…");
  BOOST_TEST(text::utf8_or_windows_1252("\x81") == "\xC2\x81");  // unassigned: the C1 control
  BOOST_TEST(text::utf8_or_windows_1252("Jörg") == "Jörg");        // valid UTF-8 untouched
  // Mixed: not valid as a whole, so every byte is Windows-1252.
  BOOST_TEST(text::utf8_or_windows_1252("\xC3\xA4 \xE4") == "Ã¤ ä");
}

BOOST_AUTO_TEST_CASE(repair_keeps_valid_sequences) {
  BOOST_TEST(text::repair_utf8("\xC3\xA4 \xE4") == "ä ä");
  BOOST_TEST(text::repair_utf8("ok") == "ok");
  BOOST_TEST(text::is_valid_utf8(text::repair_utf8("\xF0\x9F\x97 \xC0\x80 \xED\xA0\x80")));
}

BOOST_AUTO_TEST_CASE(truncation_at_character_boundaries) {
  std::string s = "aä€🗓";  // 1 + 2 + 3 + 4 bytes
  BOOST_TEST(!text::truncate_utf8(s, 10));
  BOOST_TEST(text::truncate_utf8(s, 9));
  BOOST_TEST(s == "aä€");
  BOOST_TEST(text::truncate_utf8(s, 5));
  BOOST_TEST(s == "aä");
  BOOST_TEST(text::truncate_utf8(s, 2));
  BOOST_TEST(s == "a");
  BOOST_TEST(text::truncate_utf8(s, 0));
  BOOST_TEST(s == "");
}

BOOST_AUTO_TEST_CASE(controls_and_nul) {
  BOOST_TEST(text::replace_controls("a\tb\r\nc\x7F") == "a\tb\xEF\xBF\xBD\xEF\xBF\xBD" "c\xEF\xBF\xBD");
  std::string s("x\0y", 3);
  text::replace_nul(s);
  BOOST_TEST(s == "x\xEF\xBF\xBDy");
}

BOOST_AUTO_TEST_CASE(ascii_helpers) {
  BOOST_TEST(text::iequals("Content-Type", "content-type"));
  BOOST_TEST(!text::iequals("Content-Type", "content-typ"));
  BOOST_TEST(text::ascii_lower("UTF-8 Ä") == "utf-8 Ä");
  BOOST_TEST(text::trim(" \t x y \r\n") == "x y");
  BOOST_TEST(text::trim("   ") == "");
}

BOOST_AUTO_TEST_SUITE_END()
