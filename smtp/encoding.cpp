#include "smtp/encoding.hpp"

#include <cstdint>

namespace sinetti::smtp {

std::string base64_encode(std::string_view data) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    const std::uint32_t n = (std::uint32_t{static_cast<unsigned char>(data[i])} << 16) |
                            (std::uint32_t{static_cast<unsigned char>(data[i + 1])} << 8) |
                            std::uint32_t{static_cast<unsigned char>(data[i + 2])};
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
    out += alphabet[n & 63];
  }
  if (const std::size_t rest = data.size() - i; rest > 0) {
    std::uint32_t n = std::uint32_t{static_cast<unsigned char>(data[i])} << 16;
    if (rest == 2) n |= std::uint32_t{static_cast<unsigned char>(data[i + 1])} << 8;
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += rest == 2 ? alphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string quoted_printable_encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  constexpr std::size_t max_line = 76;
  std::string out;
  std::string line;
  auto flush_hard = [&] {
    out += line;
    out += "\r\n";
    line.clear();
  };
  auto put = [&](std::string_view token) {
    // Keep room for a soft break "=".
    if (line.size() + token.size() > max_line - 1) {
      out += line;
      out += "=\r\n";
      line.clear();
    }
    line += token;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;  // CRLF: the LF ends the line
    if (c == '\n') {
      flush_hard();
      continue;
    }
    const bool at_line_end = i + 1 == text.size() || text[i + 1] == '\n' ||
                             (text[i + 1] == '\r' && i + 2 < text.size() && text[i + 2] == '\n');
    const bool literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !at_line_end);
    if (literal) {
      const char ch = static_cast<char>(c);
      put(std::string_view(&ch, 1));
    } else {
      const char enc[3] = {'=', hex[c >> 4], hex[c & 15]};
      put(std::string_view(enc, 3));
    }
  }
  if (!line.empty()) out += line;
  return out;
}

std::string encode_header_words(std::string_view utf8) {
  bool plain = utf8.find("=?") == std::string_view::npos;
  for (unsigned char c : utf8) {
    if (c >= 0x80 || c < 0x20) plain = false;
  }
  if (plain) return std::string(utf8);
  // "=?utf-8?b?" + base64 + "?=" within 75 characters: at most 45 input bytes a word.
  constexpr std::size_t max_bytes = 45;
  std::string out;
  std::size_t i = 0;
  while (i < utf8.size()) {
    std::size_t end = std::min(utf8.size(), i + max_bytes);
    // Do not split a UTF-8 sequence: back up over continuation bytes.
    while (end < utf8.size() && end > i && (static_cast<unsigned char>(utf8[end]) & 0xC0) == 0x80) --end;
    if (end == i) end = std::min(utf8.size(), i + max_bytes);
    if (!out.empty()) out += "\r\n ";
    out += "=?utf-8?b?" + base64_encode(utf8.substr(i, end - i)) + "?=";
    i = end;
  }
  return out;
}

}  // namespace sinetti::smtp
