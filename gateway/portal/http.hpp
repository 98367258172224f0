// The portal's HTTP value types and the small parsers the handler needs: request and response as
// plain values (no sockets), query strings and urlencoded forms (WHATWG application/x-www-form-
// urlencoded), Cookie headers (RFC 6265 §5.4), and the security headers every response carries.
// Untrusted input: everything in a Request comes from the network; every parser here is bounded by
// the request caps the listener enforces (portal.max_header_size, portal.max_body_size) and by the
// named limits below.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sinetti/result.hpp"

namespace sinetti::portal {

// A parsed request as the listener hands it over. Header names are lower-case.
struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // origin-form: "/m/abc?lang=fi"
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string peer;  // "127.0.0.1:53422", for logs only

  // The first header with this (lower-case) name.
  std::optional<std::string_view> header(std::string_view name) const;
  std::string_view path() const;   // target up to '?'
  std::string_view query() const;  // after '?', or empty
};

// A body produced piece by piece after the head is sent (downloads): `produce` runs on the worker
// pool and hands each piece to `sink`, which blocks while the connection is behind and returns
// false once the connection is gone (then produce stops). An error after the first piece can only
// cut the response short.
class BodyStream {
 public:
  virtual ~BodyStream() = default;
  using Sink = std::function<bool(std::string_view piece)>;
  virtual Result<std::monostate> produce(const Sink& sink) = 0;
};

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // in order; Set-Cookie may repeat
  std::string body;
  std::shared_ptr<BodyStream> stream;  // when set, the body is streamed (chunked) and `body` is unused

  void set(std::string name, std::string value);  // replaces a header of that name (not Set-Cookie)
  void add(std::string name, std::string value);  // appends (Set-Cookie)
  std::optional<std::string_view> header(std::string_view name) const;  // case-insensitive
};

// The status line and header block of a response with a body of `content_length` bytes, as it goes
// on the wire (RFC 9112 §4 and §6): "HTTP/1.1 200 OK", the headers in their order, Content-Length,
// then "Connection: close" (HTTP/1.1 without keep-alive) or "Connection: keep-alive" (HTTP/1.0
// with it), and the empty line. An error when a header name is not a token or a value holds CR,
// LF or NUL (response splitting), or the status is not 100-999.
Result<std::string> serialize_head(const Response& response, unsigned version, bool keep_alive,
                                   std::size_t content_length);

// Limits on what the small parsers keep from one request.
inline constexpr std::size_t max_form_fields = 64;
inline constexpr std::size_t max_cookies = 64;

// %XX and, in forms, '+' as space. Invalid escapes are kept literally (WHATWG).
std::string percent_decode(std::string_view text, bool plus_as_space);
// Percent-encodes everything but unreserved characters (RFC 3986 §2.3).
std::string percent_encode(std::string_view text);

// "a=1&b=2" → {a: 1, b: 2}; the first occurrence of a name wins; at most max_form_fields fields.
std::map<std::string, std::string, std::less<>> parse_form(std::string_view text);

// The Cookie header's pairs; the first cookie of a name wins; at most max_cookies.
std::map<std::string, std::string, std::less<>> parse_cookies(std::string_view header);

// Strict-Transport-Security, Content-Security-Policy (no script at all, frame-ancestors 'none'),
// X-Content-Type-Options, Referrer-Policy, X-Frame-Options, Cross-Origin-Opener-Policy,
// Permissions-Policy; Cache-Control: no-store unless the response set its own (public static files).
void add_security_headers(Response& response);

// The Content-Security-Policy of every page.
inline constexpr std::string_view page_csp =
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'";

// "text/html; charset=utf-8" with `body`.
Response html_response(int status, std::string body);
// A 303 See Other to a local path.
Response redirect(std::string location);

}  // namespace sinetti::portal
