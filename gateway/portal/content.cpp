#include "gateway/portal/content.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>

#include "gateway/portal/http.hpp"

namespace sinetti::portal {

namespace {

// Characters that may continue a URL (RFC 3986 unreserved, reserved and '%').
bool url_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (std::isalnum(u) != 0) return true;
  return std::string_view("-._~:/?#[]@!$&'()*+,;=%").find(c) != std::string_view::npos;
}

// Sentence punctuation right after a URL is not part of it; a closing parenthesis is, when it
// closes one opened inside the URL (Wikipedia links).
std::size_t trim_url_end(std::string_view url) {
  std::size_t n = url.size();
  while (n > 0 && std::string_view(".,;:!?'\")]").find(url[n - 1]) != std::string_view::npos) {
    if (url[n - 1] == ')') {
      const auto head = url.substr(0, n);
      if (std::count(head.begin(), head.end(), '(') >= std::count(head.begin(), head.end(), ')')) break;
    }
    --n;
  }
  return n;
}

bool starts_with_scheme(std::string_view s) {
  auto lower_starts = [&](std::string_view p) {
    if (s.size() < p.size()) return false;
    for (std::size_t i = 0; i < p.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(s[i])) != p[i]) return false;
    }
    return true;
  };
  return lower_starts("https://") || lower_starts("http://");
}

constexpr std::array safe_types = {
    "application/pdf", "application/zip", "application/msword", "application/rtf", "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation", "image/png", "image/jpeg", "image/gif", "image/webp",
    "image/tiff", "image/heic", "text/plain", "text/csv", "audio/mpeg", "audio/mp4", "audio/ogg", "video/mp4",
    "video/webm"};

bool token_text(std::string_view s) {
  if (s.empty() || s.size() > 40) return false;
  for (const char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string base64_encode(std::string_view in) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < in.size(); i += 3) {
    const std::uint32_t b0 = static_cast<unsigned char>(in[i]);
    const std::uint32_t b1 = i + 1 < in.size() ? static_cast<unsigned char>(in[i + 1]) : 0;
    const std::uint32_t b2 = i + 2 < in.size() ? static_cast<unsigned char>(in[i + 2]) : 0;
    const std::uint32_t v = (b0 << 16) | (b1 << 8) | b2;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? alphabet[(v >> 6) & 63] : '=';
    out += i + 2 < in.size() ? alphabet[v & 63] : '=';
  }
  return out;
}

std::string linkify_text(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  std::size_t i = 0;
  std::size_t plain_from = 0;
  while (i < text.size()) {
    const bool boundary = i == 0 || std::isalnum(static_cast<unsigned char>(text[i - 1])) == 0;
    if ((text[i] == 'h' || text[i] == 'H') && boundary && starts_with_scheme(text.substr(i))) {
      std::size_t end = i;
      while (end < text.size() && url_char(text[end])) ++end;
      const std::string_view url = text.substr(i, trim_url_end(text.substr(i, end - i)));
      const auto scheme_end = url.find("://") + 3;
      if (url.size() > scheme_end) {
        out += html_escape(text.substr(plain_from, i - plain_from));
        const std::string escaped = html_escape(url);
        out += "<a href=\"" + escaped + "\" rel=\"noopener noreferrer nofollow\">" + escaped + "</a>";
        i += url.size();
        plain_from = i;
        continue;
      }
    }
    ++i;
  }
  out += html_escape(text.substr(plain_from));
  return out;
}

std::string safe_download_type(std::string_view declared, std::string_view charset) {
  for (const char* t : safe_types) {
    if (declared == t) {
      std::string out(declared);
      if (declared.starts_with("text/") && token_text(charset)) out += "; charset=" + std::string(charset);
      return out;
    }
  }
  return "application/octet-stream";
}

std::string content_disposition(std::string_view filename, std::string_view fallback) {
  // The last path segment only: a name is never a path.
  std::string_view name = filename;
  if (const auto slash = name.find_last_of("/\\"); slash != std::string_view::npos) name = name.substr(slash + 1);
  if (name.empty() || name == "." || name == "..") name = fallback;
  std::string ascii;
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    ascii += (u < 0x20 || u >= 0x7f || c == '"' || c == '\\' || c == '%' || c == ';') ? '_' : c;
  }
  std::string encoded;
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    encoded += u < 0x20 || u == 0x7f ? std::string("_") : percent_encode(std::string_view(&c, 1));
  }
  return "attachment; filename=\"" + ascii + "\"; filename*=UTF-8''" + encoded;
}

}  // namespace sinetti::portal
