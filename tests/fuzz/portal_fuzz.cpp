// Fuzz target: what a portal request and a message's content reach before any store or crypto —
// the router, query strings and urlencoded forms, Cookie headers, multipart/form-data bodies (with
// a fixed boundary and with the one the input's first line names), Accept-Language-like lists via
// the form parser, the text linkifier, the download type and file name, and the HTML sanitiser.
// Invariants: linkified text and sanitised HTML carry no script-capable element or event handler.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/portal/content.hpp"
#include "gateway/portal/html_sanitizer.hpp"
#include "gateway/portal/http.hpp"
#include "gateway/portal/multipart.hpp"
#include "gateway/portal/router.hpp"

namespace {

bool contains_ci(std::string_view hay, std::string_view needle) {
  if (needle.size() > hay.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    std::size_t j = 0;
    while (j < needle.size() && std::tolower(static_cast<unsigned char>(hay[i + j])) == needle[j]) ++j;
    if (j == needle.size()) return true;
  }
  return false;
}

// The sanitiser's output, read as the browser will: every tag name and attribute name outside
// quoted values. None may be a script-capable element or an event handler.
bool unsafe_markup(std::string_view html) {
  std::size_t i = 0;
  while ((i = html.find('<', i)) != std::string_view::npos) {
    ++i;
    if (i < html.size() && html[i] == '/') ++i;
    std::string name;
    while (i < html.size() && std::isalnum(static_cast<unsigned char>(html[i])) != 0) {
      name += static_cast<char>(std::tolower(static_cast<unsigned char>(html[i++])));
    }
    for (const char* bad : {"script", "iframe", "form", "style", "object", "embed", "svg", "math", "base", "meta", "link"}) {
      if (name == bad) return true;
    }
    // Attributes up to the end of the tag; values are in double quotes, with quotes escaped.
    while (i < html.size() && html[i] != '>') {
      if (html[i] == '"') {
        const auto close = html.find('"', i + 1);
        if (close == std::string_view::npos) return true;  // an unterminated value
        i = close + 1;
        continue;
      }
      if (std::isalpha(static_cast<unsigned char>(html[i])) != 0 && (html[i - 1] == ' ')) {
        std::string attr;
        while (i < html.size() && (std::isalnum(static_cast<unsigned char>(html[i])) != 0 || html[i] == '-')) {
          attr += static_cast<char>(std::tolower(static_cast<unsigned char>(html[i++])));
        }
        if (attr.starts_with("on") || attr == "srcdoc" || attr == "formaction") return true;
        continue;
      }
      ++i;
    }
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sinetti::portal;
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  for (const char* method : {"GET", "POST", "HEAD"}) (void)route(method, in);
  (void)parse_form(in);
  (void)parse_cookies(in);
  (void)percent_decode(in, true);
  (void)percent_encode(in);
  (void)form_boundary(in);
  (void)parse_multipart(in, "B");
  const auto eol = in.find("\r\n");
  if (eol != std::string_view::npos && eol > 2 && in.starts_with("--")) {
    (void)parse_multipart(in, in.substr(2, eol - 2));
  }

  const std::string linked = linkify_text(in);
  if (contains_ci(linked, "<script") || contains_ci(linked, "<img")) __builtin_trap();
  (void)safe_download_type(in, in);
  const std::string disposition = content_disposition(in, "x");
  if (disposition.find_first_of("\r\n") != std::string::npos) __builtin_trap();

  const auto html = sanitize_html(in, [](std::string_view cid) -> std::optional<std::string> {
    if (cid.size() == 1) return std::string("data:image/png;base64,AAAA");
    return std::nullopt;
  });
  if (html) {
    if (unsafe_markup(html->body)) __builtin_trap();
    (void)frame_document(*html, "fi");
  }
  return 0;
}
