// UTF-8 validation and repair (RFC 3629) and Windows-1252 decoding for the MIME module.
// Untrusted input: raw header bytes and decoded body bytes of any message.
#include "smtp/mime/text.hpp"

#include <array>
#include <cstdint>
#include <utility>

namespace sinetti::mime::text {
namespace {

enum class Sequence { valid, invalid, incomplete };

struct Scan {
  Sequence kind;
  std::size_t length;  // bytes of the sequence when valid or incomplete
};

// Classifies the UTF-8 sequence that starts at `s[0]` (RFC 3629 section 4 table).
Scan scan_sequence(std::string_view s) {
  const auto b0 = static_cast<unsigned char>(s[0]);
  if (b0 < 0x80) return {Sequence::valid, 1};
  std::size_t need = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
  } else if (b0 == 0xE0) {
    need = 2, lo = 0xA0;
  } else if ((b0 >= 0xE1 && b0 <= 0xEC) || b0 == 0xEE || b0 == 0xEF) {
    need = 2;
  } else if (b0 == 0xED) {
    need = 2, hi = 0x9F;
  } else if (b0 == 0xF0) {
    need = 3, lo = 0x90;
  } else if (b0 >= 0xF1 && b0 <= 0xF3) {
    need = 3;
  } else if (b0 == 0xF4) {
    need = 3, hi = 0x8F;
  } else {
    return {Sequence::invalid, 1};
  }
  for (std::size_t i = 1; i <= need; ++i) {
    if (i >= s.size()) return {Sequence::incomplete, i};
    const auto b = static_cast<unsigned char>(s[i]);
    const unsigned char min = i == 1 ? lo : 0x80;
    const unsigned char max = i == 1 ? hi : 0xBF;
    if (b < min || b > max) return {Sequence::invalid, 1};
  }
  return {Sequence::valid, need + 1};
}

constexpr std::array<std::uint16_t, 32> windows_1252_high = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,  // 0x80
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,  // 0x88
    0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,  // 0x90
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,  // 0x98
};

void append_code_point(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

void append_windows_1252_byte(std::string& out, unsigned char b) {
  if (b >= 0x80 && b < 0xA0) {
    append_code_point(out, windows_1252_high[b - 0x80]);
  } else {
    append_code_point(out, b);
  }
}

constexpr std::string_view replacement_character = "\xEF\xBF\xBD";

}  // namespace

bool is_valid_utf8(std::string_view bytes) {
  std::size_t i = 0;
  while (i < bytes.size()) {
    // Fast path over ASCII.
    if (static_cast<unsigned char>(bytes[i]) < 0x80) {
      ++i;
      continue;
    }
    const Scan s = scan_sequence(bytes.substr(i));
    if (s.kind != Sequence::valid) return false;
    i += s.length;
  }
  return true;
}

std::size_t incomplete_utf8_tail(std::string_view bytes) {
  // A sequence is at most 4 bytes, so an incomplete one starts within the last 3.
  const std::size_t from = bytes.size() > 3 ? bytes.size() - 3 : 0;
  for (std::size_t i = from; i < bytes.size(); ++i) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    if (b < 0xC0) continue;  // ASCII or continuation byte: not a lead byte
    const Scan s = scan_sequence(bytes.substr(i));
    if (s.kind == Sequence::incomplete) return bytes.size() - i;
  }
  return 0;
}

void append_windows_1252(std::string& out, std::string_view bytes) {
  out.reserve(out.size() + bytes.size());
  for (char c : bytes) append_windows_1252_byte(out, static_cast<unsigned char>(c));
}

std::string utf8_or_windows_1252(std::string_view bytes) {
  if (is_valid_utf8(bytes)) return std::string(bytes);
  std::string out;
  append_windows_1252(out, bytes);
  return out;
}

std::string repair_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  std::size_t i = 0;
  while (i < bytes.size()) {
    const Scan s = scan_sequence(bytes.substr(i));
    if (s.kind == Sequence::valid) {
      out.append(bytes.substr(i, s.length));
      i += s.length;
    } else {
      append_windows_1252_byte(out, static_cast<unsigned char>(bytes[i]));
      ++i;
    }
  }
  return out;
}

bool truncate_utf8(std::string& text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return false;
  std::size_t cut = max_bytes;
  // Step back over continuation bytes so that the cut falls before a lead byte.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  text.resize(cut);
  return true;
}

std::string replace_controls(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size());
  for (char c : utf8) {
    const auto b = static_cast<unsigned char>(c);
    if ((b < 0x20 && b != '\t') || b == 0x7F) {
      out.append(replacement_character);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

void replace_nul(std::string& utf8) {
  if (utf8.find('\0') == std::string::npos) return;
  std::string out;
  out.reserve(utf8.size() + 16);
  for (char c : utf8) {
    if (c == '\0') {
      out.append(replacement_character);
    } else {
      out.push_back(c);
    }
  }
  utf8 = std::move(out);
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  constexpr std::string_view space = " \t\r\n";
  const auto first = s.find_first_not_of(space);
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(space);
  return s.substr(first, last - first + 1);
}

}  // namespace sinetti::mime::text
