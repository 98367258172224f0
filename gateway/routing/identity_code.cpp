// Finnish personal identity code (henkilötunnus): validation and detection in free text, including
// codes that a mail client wrapped onto two lines. Rules: REFERENCES.md "Personal identity code"
// (DVV; century signs of 2023). Untrusted input: decoded message text of any size; one pass, no copies.
#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "gateway/routing/detectors.hpp"
#include "gateway/routing/text_boundary.hpp"

namespace sinetti::routing {

namespace {

using detail::is_ascii_digit;
using detail::is_ascii_lower;

constexpr std::size_t code_length = 11;
constexpr std::size_t sign_index = 6;
constexpr std::size_t check_index = 10;
constexpr std::string_view check_characters = "0123456789ABCDEFHJKLMNPRSTUVWXY";

enum class LetterCase { upper_only, any };

constexpr char to_upper(char c) noexcept { return is_ascii_lower(c) ? static_cast<char>(c - 'a' + 'A') : c; }

// The first year of the century a sign stands for, or 0 for a character that is not a sign.
int century_of(char sign) noexcept {
  switch (sign) {
    case '+':
      return 1800;
    case '-': case 'Y': case 'X': case 'W': case 'V': case 'U':
      return 1900;
    case 'A': case 'B': case 'C': case 'D': case 'E': case 'F':
      return 2000;
    default:
      return 0;
  }
}

bool is_leap_year(int year) noexcept { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int days_in_month(int year, int month) noexcept {
  constexpr std::array<int, 12> days = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month == 2 && is_leap_year(year)) return 29;
  return days[static_cast<std::size_t>(month - 1)];
}

// Whether the character at `index` may appear there, so a scan can give up at the first wrong one.
bool fits_position(std::size_t index, char c, LetterCase letter_case) noexcept {
  if (letter_case == LetterCase::any) c = to_upper(c);
  if (index == sign_index) return century_of(c) != 0;
  if (index == check_index) return check_characters.find(c) != std::string_view::npos;
  return is_ascii_digit(c);
}

int digits_value(const std::array<char, code_length>& code, std::size_t first, std::size_t count) noexcept {
  int value = 0;
  for (std::size_t i = first; i < first + count; ++i) value = value * 10 + (code[i] - '0');
  return value;
}

bool is_valid_code(const std::array<char, code_length>& code, LetterCase letter_case) noexcept {
  for (std::size_t i = 0; i < code_length; ++i) {
    if (!fits_position(i, code[i], letter_case)) return false;
  }
  const char sign = letter_case == LetterCase::any ? to_upper(code[sign_index]) : code[sign_index];
  const char check = letter_case == LetterCase::any ? to_upper(code[check_index]) : code[check_index];
  const int day = digits_value(code, 0, 2);
  const int month = digits_value(code, 2, 2);
  const int year = century_of(sign) + digits_value(code, 4, 2);
  const int individual = digits_value(code, 7, 3);
  if (month < 1 || month > 12) return false;
  if (day < 1 || day > days_in_month(year, month)) return false;
  if (individual < 2) return false;  // 000 and 001 are never issued; 900-999 are temporary codes
  const auto number = static_cast<std::uint32_t>(digits_value(code, 0, 6)) * 1000U +
                      static_cast<std::uint32_t>(individual);
  return check_characters[number % 31U] == check;
}

// If a line break a mail client may have inserted starts at `pos` — LF or CRLF, then any spaces,
// tabs and quote markers ("> ", ">> ", "> > ") — the offset just after it.
std::optional<std::size_t> wrapped_line_break_end(std::string_view text, std::size_t pos) noexcept {
  if (pos < text.size() && text[pos] == '\n') {
    ++pos;
  } else if (pos + 1 < text.size() && text[pos] == '\r' && text[pos + 1] == '\n') {
    pos += 2;
  } else {
    return std::nullopt;
  }
  while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t' || text[pos] == '>')) ++pos;
  return pos;
}

}  // namespace

bool is_valid_identity_code(std::string_view code) {
  if (code.size() != code_length) return false;
  std::array<char, code_length> chars{};
  for (std::size_t i = 0; i < code_length; ++i) chars[i] = code[i];
  return is_valid_code(chars, LetterCase::upper_only);
}

// Each candidate starts at a digit that begins a word and reads at most 11 characters plus one line
// break, stopping at the first character that cannot be there; a break is crossed by at most the 10
// candidates that start within the 10 characters before it. So the scan is linear in the text.
std::vector<TextSpan> find_identity_codes(std::string_view text) {
  std::vector<TextSpan> found;
  std::size_t start = 0;
  while (start < text.size()) {
    if (!is_ascii_digit(text[start]) || detail::word_continues_before(text, start)) {
      ++start;
      continue;
    }
    std::array<char, code_length> chars{};
    std::size_t count = 0;
    std::size_t pos = start;
    bool crossed_break = false;
    while (count < code_length && pos < text.size()) {
      if (count > 0 && !crossed_break) {
        if (const auto after_break = wrapped_line_break_end(text, pos)) {
          crossed_break = true;
          pos = *after_break;
          continue;
        }
      }
      if (!fits_position(count, text[pos], LetterCase::any)) break;
      chars[count++] = text[pos++];
    }
    if (count == code_length && !detail::word_continues_at(text, pos) &&
        is_valid_code(chars, LetterCase::any)) {
      found.push_back(TextSpan{start, pos - start});
      start = pos;
    } else {
      ++start;
    }
  }
  return found;
}

}  // namespace sinetti::routing
