// HTML mail bodies made safe to show: parsed with the HTML5 parser of libgumbo and written out
// again from an allowlist of elements and attributes (text formatting, lists, tables, links,
// images); scripts, styles sheets, forms, frames, embedded objects, SVG and MathML are dropped with
// their content, other unknown elements are unwrapped. Links keep only http, https and mailto
// targets and open outside the frame; images keep only data: URIs (cid: references become data:
// through the caller's resolver, remote images are blocked); style attributes that could load
// anything are dropped. The result goes into a sandboxed iframe (srcdoc, no scripts) with its own
// CSP. Untrusted input: the whole HTML text of a message.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace sinetti::portal {

// Beyond this many tags the HTML is not parsed (libgumbo has no depth limit and frees its tree
// recursively); the caller shows the text instead.
inline constexpr std::size_t max_html_tags = 30000;
// Elements nested deeper than this are unwrapped (their text stays).
inline constexpr std::size_t max_html_depth = 100;

struct SanitizedHtml {
  std::string body;                  // the sanitised content of <body>
  bool remote_images_blocked = false;
  std::set<std::string> used_cids;   // Content-IDs the resolver turned into images
};

// `inline_image` returns a data: URI for a Content-ID (without "cid:" and brackets), or nullopt.
// nullopt as a whole when the HTML has more than max_html_tags tags.
std::optional<SanitizedHtml> sanitize_html(std::string_view html,
                                           const std::function<std::optional<std::string>(std::string_view)>& inline_image);

// The document for the iframe's srcdoc: the sanitised body with its own Content-Security-Policy
// (default-src 'none'; style-src 'unsafe-inline'; img-src data:) and a plain base style.
std::string frame_document(const SanitizedHtml& html, std::string_view lang);

// The CSP of a page that holds such a frame: the page's own, allowing inline styles and data:
// images, which the frame inherits and narrows further.
inline constexpr std::string_view framed_page_csp =
    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'";

}  // namespace sinetti::portal
