// Word boundaries in UTF-8 text for the built-in detectors (identity codes, IBANs): does the
// character just before or at a byte offset continue a word? No Unicode tables; see text_boundary.cpp.
// Untrusted input: decoded message text of any size, possibly invalid UTF-8. Internal to routing/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace sinetti::routing::detail {

constexpr bool is_ascii_digit(char c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool is_ascii_upper(char c) noexcept { return c >= 'A' && c <= 'Z'; }
constexpr bool is_ascii_lower(char c) noexcept { return c >= 'a' && c <= 'z'; }
constexpr bool is_ascii_alnum(char c) noexcept {
  return is_ascii_digit(c) || is_ascii_upper(c) || is_ascii_lower(c);
}

// A well-formed UTF-8 sequence (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF)
// starting at `pos`: its code point and length. nullopt when the bytes there are not one.
struct DecodedChar {
  char32_t code_point = 0;
  std::size_t length = 0;
};
std::optional<DecodedChar> decode_utf8_at(std::string_view text, std::size_t pos) noexcept;

// True for letters, digits and combining marks of any script: characters that glue to an
// adjacent code so that it is part of a longer word. Punctuation, spaces and symbols are not.
bool is_word_code_point(char32_t cp) noexcept;

// Whether the character ending just before `pos` / starting at `pos` continues a word.
// The ends of the text, ASCII other than letters and digits, and bytes that are not
// well-formed UTF-8 are boundaries (as PCRE2_MATCH_INVALID_UTF treats them in the pattern detector).
bool word_continues_before(std::string_view text, std::size_t pos) noexcept;
bool word_continues_at(std::string_view text, std::size_t pos) noexcept;

}  // namespace sinetti::routing::detail
