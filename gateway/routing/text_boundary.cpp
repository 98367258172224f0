// Word boundaries in UTF-8 text for the built-in detectors. Strict RFC 3629 decoding; a short
// table of the punctuation, spaces and symbols that mail text puts next to codes and account
// numbers. Untrusted input: decoded message text, possibly invalid UTF-8; reads stay in bounds.
#include "gateway/routing/text_boundary.hpp"

namespace sinetti::routing::detail {

namespace {

constexpr bool is_continuation(unsigned char b) noexcept { return (b & 0xC0U) == 0x80U; }

struct Range {
  char32_t first;
  char32_t last;
};

// Non-ASCII characters that do not glue to a neighbouring code: spaces, punctuation, quotation
// marks, dashes, currency, arrows, box drawing, emoji. Anything else non-ASCII (letters and digits
// of every script, combining marks, and the rare symbol not listed) counts as part of a word, so
// "ä010594Y9032" is one word, while "“010594Y9032”" and "010594Y9032…" stand alone. Sorted.
constexpr Range separator_ranges[] = {
    {0x0080, 0x00A9},    // C1 controls, NBSP, ¡ ¢ £ ¤ ¥ ¦ § ¨ ©
    {0x00AB, 0x00B1},    // « ¬ SHY ® ¯ ° ±
    {0x00B4, 0x00B4},    // ´
    {0x00B6, 0x00B8},    // ¶ · ¸
    {0x00BB, 0x00BB},    // »
    {0x00BF, 0x00BF},    // ¿
    {0x00D7, 0x00D7},    // ×
    {0x00F7, 0x00F7},    // ÷
    {0x1680, 0x1680},    // Ogham space mark
    {0x2000, 0x200B},    // typographic spaces, zero-width space (ZWNJ/ZWJ join words: excluded)
    {0x200E, 0x206F},    // dashes, quotation marks, bullets, ellipsis, line/paragraph separators
    {0x20A0, 0x20CF},    // currency symbols (€)
    {0x2190, 0x245F},    // arrows, mathematical operators, technical symbols
    {0x2500, 0x2775},    // box drawing, blocks, geometric shapes, miscellaneous symbols, dingbats
    {0x2794, 0x2BFF},    // dingbat arrows, supplemental arrows and symbols
    {0x2E00, 0x2E7F},    // supplemental punctuation
    {0x3000, 0x3004},    // ideographic space and punctuation
    {0x3008, 0x3020},    // CJK brackets
    {0x3030, 0x3030},    // wavy dash
    {0x303D, 0x303F},
    {0xFE10, 0xFE1F},    // vertical forms
    {0xFE30, 0xFE6F},    // CJK compatibility and small form punctuation
    {0xFEFF, 0xFEFF},    // zero-width no-break space (BOM)
    {0xFF01, 0xFF0F},    // fullwidth punctuation
    {0xFF1A, 0xFF20},
    {0xFF3B, 0xFF40},
    {0xFF5B, 0xFF65},
    {0xFFF9, 0xFFFD},    // interlinear annotation, object and replacement characters
    {0x1F000, 0x1F0FF},  // game symbols
    {0x1F10D, 0x1FAFF},  // enclosed symbols, emoji, pictographs (circled digits before: excluded)
};

}  // namespace

std::optional<DecodedChar> decode_utf8_at(std::string_view text, std::size_t pos) noexcept {
  if (pos >= text.size()) return std::nullopt;
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(pos);
  if (lead < 0x80U) return DecodedChar{lead, 1};
  std::size_t length = 0;
  char32_t cp = 0;
  unsigned char low = 0x80U;  // RFC 3629 table 4: bounds of the second byte
  unsigned char high = 0xBFU;
  if (lead >= 0xC2U && lead <= 0xDFU) {
    length = 2;
    cp = lead & 0x1FU;
  } else if (lead >= 0xE0U && lead <= 0xEFU) {
    length = 3;
    cp = lead & 0x0FU;
    if (lead == 0xE0U) low = 0xA0U;   // overlong
    if (lead == 0xEDU) high = 0x9FU;  // surrogates
  } else if (lead >= 0xF0U && lead <= 0xF4U) {
    length = 4;
    cp = lead & 0x07U;
    if (lead == 0xF0U) low = 0x90U;   // overlong
    if (lead == 0xF4U) high = 0x8FU;  // above U+10FFFF
  } else {
    return std::nullopt;  // continuation byte, C0/C1 overlong lead, or F5..FF
  }
  if (text.size() - pos < length) return std::nullopt;
  const unsigned char second = byte(pos + 1);
  if (second < low || second > high) return std::nullopt;
  for (std::size_t i = 1; i < length; ++i) {
    const unsigned char b = byte(pos + i);
    if (!is_continuation(b)) return std::nullopt;
    cp = (cp << 6) | (b & 0x3FU);
  }
  return DecodedChar{cp, length};
}

bool is_word_code_point(char32_t cp) noexcept {
  if (cp < 0x80) return is_ascii_alnum(static_cast<char>(cp));
  for (const Range& r : separator_ranges) {
    if (cp < r.first) return true;
    if (cp <= r.last) return false;
  }
  return true;
}

bool word_continues_at(std::string_view text, std::size_t pos) noexcept {
  const auto decoded = decode_utf8_at(text, pos);
  return decoded && is_word_code_point(decoded->code_point);
}

bool word_continues_before(std::string_view text, std::size_t pos) noexcept {
  if (pos == 0 || pos > text.size()) return false;
  // Step back over at most three continuation bytes to the lead byte, then decode forwards: the
  // sequence must end exactly at `pos`.
  std::size_t start = pos - 1;
  while (start > 0 && pos - start < 4 && is_continuation(static_cast<unsigned char>(text[start]))) {
    --start;
  }
  const auto decoded = decode_utf8_at(text, start);
  return decoded && start + decoded->length == pos && is_word_code_point(decoded->code_point);
}

}  // namespace sinetti::routing::detail
