// IBAN validation and detection in free text, electronic and print form (ISO 13616-1; check digits
// ISO 7064 MOD 97-10; lengths from the SWIFT IBAN registry). Untrusted input: decoded message text
// of any size; one pass, fixed-size buffers, no copies of the text.
#include "gateway/routing/detectors.hpp"

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "gateway/routing/text_boundary.hpp"

namespace sinetti::routing {

namespace {

using detail::is_ascii_digit;
using detail::is_ascii_upper;

constexpr std::size_t min_iban_length = 15;  // Norway, the shortest in the registry
constexpr std::size_t max_iban_length = 34;  // ISO 13616-1 maximum
constexpr std::size_t group_length = 4;      // print form: groups of four, single spaces between

struct CountryLength {
  std::string_view country;
  std::size_t length;
};

// IBAN lengths of the SEPA countries (SWIFT IBAN registry). Other country codes are checked only
// for the ISO 13616 structure and the check digits. Sorted by country code.
constexpr CountryLength country_lengths[] = {
    {"AD", 24}, {"AT", 20}, {"BE", 16}, {"BG", 22}, {"CH", 21}, {"CY", 28}, {"CZ", 24}, {"DE", 22},
    {"DK", 18}, {"EE", 20}, {"ES", 24}, {"FI", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22}, {"GI", 23},
    {"GL", 18}, {"GR", 27}, {"HR", 21}, {"HU", 28}, {"IE", 22}, {"IS", 26}, {"IT", 27}, {"LI", 21},
    {"LT", 20}, {"LU", 20}, {"LV", 21}, {"MC", 27}, {"MT", 31}, {"NL", 18}, {"NO", 15}, {"PL", 28},
    {"PT", 25}, {"RO", 24}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27},
};

constexpr bool is_iban_char(char c) noexcept { return is_ascii_digit(c) || is_ascii_upper(c); }

std::size_t expected_length(std::string_view country) noexcept {
  for (const CountryLength& entry : country_lengths) {
    if (entry.country == country) return entry.length;
  }
  return 0;
}

// ISO 7064 MOD 97-10 over the rearranged IBAN (BBAN, then country and check digits), letters as
// 10..35, computed a digit or a letter at a time so no big number is formed.
unsigned mod97_of_rearranged(std::string_view iban) noexcept {
  unsigned remainder = 0;
  const auto add = [&remainder](char c) {
    if (is_ascii_digit(c)) {
      remainder = (remainder * 10U + static_cast<unsigned>(c - '0')) % 97U;
    } else {
      remainder = (remainder * 100U + static_cast<unsigned>(c - 'A' + 10)) % 97U;
    }
  };
  for (char c : iban.substr(4)) add(c);
  for (char c : iban.substr(0, 4)) add(c);
  return remainder;
}

// `iban` in electronic form (no spaces).
bool is_valid_electronic(std::string_view iban) noexcept {
  if (iban.size() < min_iban_length || iban.size() > max_iban_length) return false;
  if (!is_ascii_upper(iban[0]) || !is_ascii_upper(iban[1])) return false;
  if (!is_ascii_digit(iban[2]) || !is_ascii_digit(iban[3])) return false;
  for (char c : iban) {
    if (!is_iban_char(c)) return false;
  }
  // MOD 97-10 check digits are 02..98; 00, 01 and 99 can satisfy the sum but are never issued.
  const int check_digits = (iban[2] - '0') * 10 + (iban[3] - '0');
  if (check_digits < 2 || check_digits > 98) return false;
  const std::size_t length = expected_length(iban.substr(0, 2));
  if (length != 0 && iban.size() != length) return false;
  return mod97_of_rearranged(iban) == 1;
}

// Electronic-form characters gathered from a print-form IBAN, never more than the maximum length.
class CompactIban {
 public:
  bool append(std::string_view chars) noexcept {
    if (chars.size() > chars_.size() - size_) return false;
    for (char c : chars) chars_[size_++] = c;
    return true;
  }
  std::string_view view() const noexcept { return {chars_.data(), size_}; }

 private:
  std::array<char, max_iban_length> chars_{};
  std::size_t size_ = 0;
};

}  // namespace

bool is_valid_iban(std::string_view iban) {
  if (iban.find(' ') == std::string_view::npos) return is_valid_electronic(iban);
  // Print form: every group but the last has four characters; single spaces between groups.
  CompactIban compact;
  std::size_t pos = 0;
  while (true) {
    const std::size_t space = iban.find(' ', pos);
    const std::string_view group = iban.substr(pos, space == std::string_view::npos ? iban.npos : space - pos);
    if (group.empty() || group.size() > group_length) return false;
    if (!compact.append(group)) return false;
    if (space == std::string_view::npos) break;
    if (group.size() != group_length) return false;
    pos = space + 1;
  }
  return is_valid_electronic(compact.view());
}

// A candidate starts where two upper-case letters and two digits begin a word. It is read once in
// electronic form (one run of letters and digits) and once in print form (groups of four, at most
// nine groups); each read stops after 34 IBAN characters, so the scan is linear in the text.
std::vector<TextSpan> find_ibans(std::string_view text) {
  std::vector<TextSpan> found;
  std::size_t start = 0;
  while (start + group_length <= text.size()) {
    const std::string_view head = text.substr(start, group_length);
    if (!is_ascii_upper(head[0]) || !is_ascii_upper(head[1]) || !is_ascii_digit(head[2]) ||
        !is_ascii_digit(head[3]) || detail::word_continues_before(text, start)) {
      ++start;
      continue;
    }

    // Electronic form: the whole run of letters and digits must be the IBAN.
    std::size_t end = start;
    while (end < text.size() && end - start <= max_iban_length && is_iban_char(text[end])) ++end;
    if (!detail::word_continues_at(text, end) && is_valid_electronic(text.substr(start, end - start))) {
      found.push_back(TextSpan{start, end - start});
      start = end;
      continue;
    }

    // Print form. Text may follow the IBAN after a space ("FI21 1234 5600 0007 85 1234 EUR"), so
    // every group end followed by a boundary is a possible end; the longest valid reading wins.
    // A group shorter than four, or one that runs on, ends the reading.
    CompactIban compact;
    compact.append(head);
    std::size_t group_end = start + group_length;
    std::size_t best_end = 0;
    while (group_end < text.size() && text[group_end] == ' ') {
      const std::size_t group_start = group_end + 1;
      std::size_t pos = group_start;
      while (pos < text.size() && pos - group_start <= group_length && is_iban_char(text[pos])) ++pos;
      const std::size_t size = pos - group_start;
      if (size == 0 || size > group_length) break;
      if (!compact.append(text.substr(group_start, size))) break;
      if (!detail::word_continues_at(text, pos) && is_valid_electronic(compact.view())) best_end = pos;
      if (size < group_length) break;
      group_end = pos;
    }
    if (best_end != 0) {
      found.push_back(TextSpan{start, best_end - start});
      start = best_end;
    } else {
      ++start;
    }
  }
  return found;
}

}  // namespace sinetti::routing
