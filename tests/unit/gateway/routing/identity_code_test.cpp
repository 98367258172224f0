#include <boost/test/unit_test.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "gateway/routing/detectors.hpp"
#include "tests/unit/gateway/routing/span_printing.hpp"

using sinetti::routing::find_identity_codes;
using sinetti::routing::is_valid_identity_code;
using sinetti::routing::TextSpan;

namespace {

constexpr std::string_view check_alphabet = "0123456789ABCDEFHJKLMNPRSTUVWXY";
constexpr std::string_view all_century_signs = "+-YXWVUABCDEF";

// Appends the check character to "DDMMYY" + sign + "NNN", computed here independently of the code
// under test: the nine digits as one number, mod 31.
std::string with_check(std::string_view first_ten) {
  const std::string digits = std::string(first_ten.substr(0, 6)) + std::string(first_ten.substr(7, 3));
  return std::string(first_ten) + check_alphabet[std::stoul(digits) % 31];
}

// The one span a text with a single code should give.
std::vector<TextSpan> one(std::size_t offset, std::size_t length) { return {TextSpan{offset, length}}; }

}  // namespace

BOOST_AUTO_TEST_SUITE(identity_code)

BOOST_AUTO_TEST_CASE(independently_known_codes_are_valid) {
  // From REFERENCES.md and DVV's published examples; check characters verified by hand.
  for (const char* code : {"010594Y9032", "020516C903K", "131052-308T", "010101-123N", "280453-111J",
                           "290200A1239"}) {
    BOOST_TEST(is_valid_identity_code(code), code);
  }
  BOOST_TEST(!is_valid_identity_code("280453-111A"));  // REFERENCES.md: not valid (check is J)
}

BOOST_AUTO_TEST_CASE(test_helper_agrees_with_known_codes) {
  // Guards the helper the other cases rely on.
  BOOST_TEST(with_check("010594Y903") == "010594Y9032");
  BOOST_TEST(with_check("020516C903") == "020516C903K");
  BOOST_TEST(with_check("131052-308") == "131052-308T");
}

BOOST_AUTO_TEST_CASE(all_twelve_century_signs) {
  BOOST_TEST(all_century_signs.size() == 13U);  // '+', six 1900s signs, six 2000s signs
  for (char sign : all_century_signs) {
    // The sign is not part of the check, and 1 May exists in every century.
    const std::string known = std::string("010594") + sign + "9032";
    BOOST_TEST(is_valid_identity_code(known), known);
    const std::string computed = with_check(std::string("150617") + sign + "245");
    BOOST_TEST(is_valid_identity_code(computed), computed);
  }
}

BOOST_AUTO_TEST_CASE(characters_that_are_not_century_signs) {
  for (char sign : std::string_view("GZ*/ .0_")) {
    const std::string code = std::string("010594") + sign + "9032";
    BOOST_TEST(!is_valid_identity_code(code), code);
  }
}

BOOST_AUTO_TEST_CASE(every_wrong_check_character_is_refused) {
  int valid = 0;
  for (char check : check_alphabet) {
    const std::string code = std::string("010594Y903") + check;
    if (check == '2') {
      BOOST_TEST(is_valid_identity_code(code), code);
      ++valid;
    } else {
      BOOST_TEST(!is_valid_identity_code(code), code);
    }
  }
  BOOST_TEST(valid == 1);
  // Letters left out of the alphabet (G I O Q Z) never check.
  for (char check : std::string_view("GIOQZ-+ ")) {
    BOOST_TEST(!is_valid_identity_code(std::string("010594Y903") + check));
  }
}

BOOST_AUTO_TEST_CASE(dates_must_exist_in_the_century) {
  BOOST_TEST(is_valid_identity_code("300445-1235"));   // 30 April
  BOOST_TEST(!is_valid_identity_code("310445-123T"));  // 31 April (check character right)
  BOOST_TEST(!is_valid_identity_code("300200A123X"));  // 30 February
  BOOST_TEST(is_valid_identity_code("290200A1239"));   // 29.2.2000: leap year (divisible by 400)
  BOOST_TEST(!is_valid_identity_code("290201A123J"));  // 29.2.2001
  BOOST_TEST(!is_valid_identity_code("290200-1239"));  // 29.2.1900: not a leap year
  BOOST_TEST(!is_valid_identity_code("290200+1239"));  // 29.2.1800: not a leap year
  BOOST_TEST(is_valid_identity_code("290204-123A"));   // 29.2.1904
  BOOST_TEST(is_valid_identity_code(with_check("311299-999")));
  for (const char* first_ten : {"000194-903", "320194-903", "010094-903", "011394-903", "310694-903",
                                "320194A903", "990194Y903"}) {
    BOOST_TEST(!is_valid_identity_code(with_check(first_ten)), first_ten);
  }
}

BOOST_AUTO_TEST_CASE(individual_number_ranges) {
  BOOST_TEST(with_check("010594Y000") == "010594Y000X");
  BOOST_TEST(!is_valid_identity_code("010594Y000X"));  // never issued
  BOOST_TEST(!is_valid_identity_code("010594Y001Y"));  // never issued
  BOOST_TEST(is_valid_identity_code("010594Y0020"));
  BOOST_TEST(is_valid_identity_code("010594Y899X"));
  BOOST_TEST(is_valid_identity_code("010594Y900Y"));   // temporary codes are personal data too
  BOOST_TEST(is_valid_identity_code("010594Y9995"));
}

BOOST_AUTO_TEST_CASE(validation_wants_exactly_the_canonical_form) {
  for (const char* text : {"", "010594Y903", "010594Y90322", " 010594Y9032", "010594Y9032 ", "010594y9032",
                           "020516c903k", "020516C903k", "O10594Y9032", "010594Y9O32", "0105 4Y9032",
                           "010594Y\n9032"}) {
    BOOST_TEST(!is_valid_identity_code(text), text);
  }
}

BOOST_AUTO_TEST_CASE(finds_a_code_standing_alone) {
  BOOST_TEST(find_identity_codes("010594Y9032") == one(0, 11));
  BOOST_TEST(find_identity_codes("hetu 010594Y9032") == one(5, 11));
  BOOST_TEST(find_identity_codes("(010594Y9032)") == one(1, 11));
  BOOST_TEST(find_identity_codes("hetu:010594Y9032.") == one(5, 11));
  BOOST_TEST(find_identity_codes("a\n010594Y9032\nb") == one(2, 11));
  BOOST_TEST(find_identity_codes("tiedosto_010594Y9032.pdf") == one(9, 11));
  BOOST_TEST(find_identity_codes("-010594Y9032-") == one(1, 11));
}

BOOST_AUTO_TEST_CASE(non_ascii_punctuation_is_a_boundary) {
  const std::string quoted = "\xE2\x80\x9C" "010594Y9032" "\xE2\x80\x9D";  // “…”
  BOOST_TEST(find_identity_codes(quoted) == one(3, 11));
  BOOST_TEST(find_identity_codes("hetu\xC2\xA0" "010594Y9032") == one(6, 11));    // NBSP
  BOOST_TEST(find_identity_codes("010594Y9032\xE2\x80\xA6") == one(0, 11));       // …
  BOOST_TEST(find_identity_codes("\xC2\xAB" "010594Y9032\xC2\xBB") == one(2, 11));  // « »
  BOOST_TEST(find_identity_codes("\xF0\x9F\x93\x9E" "010594Y9032") == one(4, 11));  // emoji
  BOOST_TEST(find_identity_codes("\xFF" "010594Y9032\xC3") == one(1, 11));         // invalid UTF-8
}

BOOST_AUTO_TEST_CASE(a_code_inside_a_word_is_not_found) {
  for (const char* text : {"abc010594Y9032", "010594Y9032x", "1010594Y9032", "010594Y90321",
                           "\xC3\xA4" "010594Y9032",   // ä before
                           "010594Y9032\xC3\xA4",      // ä after
                           "010594Y9032\xC3\x96",      // Ö after
                           "\xCE\xB1" "010594Y9032",   // Greek alpha
                           "010594Y9032\xCC\x81"}) {   // combining acute accent
    BOOST_TEST(find_identity_codes(text).empty(), text);
  }
}

BOOST_AUTO_TEST_CASE(invalid_codes_are_not_found) {
  for (const char* text : {"280453-111A", "310445-123T", "010594Y000X", "010594Z9032", "010594Y9033",
                           "01059Y9032", "0105944Y9032"}) {
    BOOST_TEST(find_identity_codes(text).empty(), text);
  }
}

BOOST_AUTO_TEST_CASE(finds_lower_case_sign_and_check_character) {
  BOOST_TEST(find_identity_codes("hetu 010594y9032") == one(5, 11));
  BOOST_TEST(find_identity_codes("020516c903k") == one(0, 11));
  BOOST_TEST(find_identity_codes("020516C903k") == one(0, 11));
  BOOST_TEST(find_identity_codes("131052-308t") == one(0, 11));
  BOOST_TEST(find_identity_codes("020516c903j").empty());  // still checked
}

BOOST_AUTO_TEST_CASE(finds_several_codes_with_their_offsets) {
  const std::string text = "Hakijat 010594Y9032 ja 020516C903K, sek\xC3\xA4 131052-308T.\n280453-111J";
  const std::vector<TextSpan> expected = {
      {text.find("010594Y9032"), 11}, {text.find("020516C903K"), 11},
      {text.find("131052-308T"), 11}, {text.find("280453-111J"), 11}};
  BOOST_TEST(find_identity_codes(text) == expected);
  BOOST_TEST(find_identity_codes("010594Y9032,020516C903K") ==
             (std::vector<TextSpan>{{0, 11}, {12, 11}}));
  // An invalid code next to a valid one does not hide it.
  BOOST_TEST(find_identity_codes("010594Y9033 010594Y9032") == one(12, 11));
}

BOOST_AUTO_TEST_CASE(finds_codes_wrapped_onto_two_lines) {
  BOOST_TEST(find_identity_codes("010594\n Y9032") == one(0, 13));
  BOOST_TEST(find_identity_codes("0105\r\n> 94Y9032") == one(0, 15));
  BOOST_TEST(find_identity_codes("> hetu 0105\n>> 94Y9032 ok") == one(7, 15));
  const std::string code = "010594Y9032";
  for (std::string_view line_break : {"\n", "\r\n", "\n ", "\n\t", "\r\n> ", "\n>> ", "\n > > ", "\r\n  >\t"}) {
    for (std::size_t split = 1; split < code.size(); ++split) {
      const std::string text = "x: " + code.substr(0, split) + std::string(line_break) + code.substr(split) + ".";
      BOOST_TEST(find_identity_codes(text) == one(3, code.size() + line_break.size()), text);
    }
  }
}

BOOST_AUTO_TEST_CASE(line_breaks_that_do_not_join_a_code) {
  for (const char* text : {"0105\n94Y9\n032",     // two breaks
                           "010594\n\nY9032",     // a blank line between
                           "0105\r94Y9032",       // a lone CR is not a line break
                           "0105 \n94Y9032",      // the wrap is inside a word, not after a space
                           "x0105\n94Y9032",      // glued to a word before
                           "0105\n94Y9032x",      // glued to a word after
                           "0105\n> x94Y9032"}) {
    BOOST_TEST(find_identity_codes(text).empty(), text);
  }
  // A code on a line of its own still counts, without the line breaks.
  BOOST_TEST(find_identity_codes("hetu\n010594Y9032\nterveisin") == one(5, 11));
}

BOOST_AUTO_TEST_CASE(every_prefix_of_a_text_is_scanned_safely) {
  // Under ASan this shows that no read goes past the end, whatever the text ends with.
  const std::string text = "\xE2\x80\x9C" "0105\r\n> 94Y9032\xE2\x80\x9D 020516c903k \xC3\xA4" "010594Y9032\xF0\x9F";
  for (std::size_t size = 0; size <= text.size(); ++size) {
    const auto found = find_identity_codes(std::string_view(text).substr(0, size));
    BOOST_TEST(found.size() <= 2U);
  }
  BOOST_TEST(find_identity_codes(text).size() == 2U);
}

BOOST_AUTO_TEST_CASE(hostile_text_gives_no_false_matches) {
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "010594\n";  // every line a candidate that crosses a break
  text += std::string(100000, ' ') + std::string(50000, '>') + "01059";
  BOOST_TEST(find_identity_codes(text).empty());
  const std::string digits(200000, '1');
  BOOST_TEST(find_identity_codes(digits).empty());
}

BOOST_AUTO_TEST_SUITE_END()
