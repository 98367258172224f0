// What the portal makes of a protected message's content for the browser: plain text escaped and
// linkified (only http and https links, opened without a referrer), attachment types checked
// against a safe list, and a Content-Disposition that no file name can break (RFC 6266, RFC 8187).
// Untrusted input: everything here comes from the sender's message (text, types, file names).
#pragma once

#include <string>
#include <string_view>

namespace sinetti::portal {

// HTML-escapes `text` (& < > " ') and turns http:// and https:// URLs into links with
// rel="noopener noreferrer nofollow". Line breaks stay as they are (the page shows them with CSS).
std::string linkify_text(std::string_view text);

std::string html_escape(std::string_view text);

// Standard base64 (RFC 4648 §4, with padding), for data: URIs.
std::string base64_encode(std::string_view bytes);

// The Content-Type to send for an attachment declared as `declared` (lower-case type/subtype):
// itself when on the safe list (documents, images other than SVG, plain text, CSV, archives, audio,
// video), else application/octet-stream. Text types get `charset` when it is a plain token.
std::string safe_download_type(std::string_view declared, std::string_view charset);

// `attachment; filename="ascii"; filename*=UTF-8''percent-encoded`; an empty name becomes
// `fallback`. Path separators, quotes, control characters and non-ASCII are replaced in the ASCII form.
std::string content_disposition(std::string_view filename, std::string_view fallback);

}  // namespace sinetti::portal
