// Private to smtp/mime: UTF-8 validation and repair (RFC 3629) and Windows-1252 decoding — the last
// line of defence that keeps every string the MIME module returns valid UTF-8. Untrusted input: raw
// header bytes and decoded body bytes of any message. Pure functions, no GMime.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sinetti::mime::text {

// True if `bytes` is well-formed UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool is_valid_utf8(std::string_view bytes);

// Bytes at the end of `bytes` that start a well-formed sequence but miss its last bytes (0..3).
std::size_t incomplete_utf8_tail(std::string_view bytes);

// Appends `bytes` decoded as Windows-1252 (WHATWG mapping: ISO-8859-1 plus the 0x80..0x9F block;
// the five unassigned bytes map to the C1 controls of the same value).
void append_windows_1252(std::string& out, std::string_view bytes);

// Valid UTF-8 comes back unchanged; anything else is decoded as Windows-1252 as a whole (raw 8-bit
// header values, undeclared or mislabelled text).
std::string utf8_or_windows_1252(std::string_view bytes);

// Keeps every well-formed UTF-8 sequence and decodes each stray byte as Windows-1252 (text that
// declares UTF-8 but holds a few broken bytes).
std::string repair_utf8(std::string_view bytes);

// Cuts valid UTF-8 `text` to at most `max_bytes` at a character boundary. Returns true if it cut.
bool truncate_utf8(std::string& text, std::size_t max_bytes);

// Replaces C0 controls other than TAB, and DEL, with U+FFFD — for single-line values (header values,
// filenames) so that decoded CR/LF/NUL cannot inject lines downstream. Input must be valid UTF-8.
std::string replace_controls(std::string_view utf8);

// Replaces NUL bytes with U+FFFD (body text). Input must be valid UTF-8.
void replace_nul(std::string& utf8);

// ASCII lower-case copy; other bytes unchanged.
std::string ascii_lower(std::string_view s);

// Case-insensitive ASCII comparison.
bool iequals(std::string_view a, std::string_view b);

// Removes leading and trailing SP, HTAB, CR, LF.
std::string_view trim(std::string_view s);

}  // namespace sinetti::mime::text
