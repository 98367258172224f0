// Transfer encodings the outbound side writes: base64 (RFC 4648 §4, for AUTH and RFC 2047 words),
// quoted-printable (RFC 2045 §6.7) and RFC 2047 encoded words. Encoders only; no untrusted input
// is parsed here.
#pragma once

#include <string>
#include <string_view>

namespace sinetti::smtp {

std::string base64_encode(std::string_view data);

// Quoted-printable with CRLF line ends: input line ends (CRLF, LF) stay hard line breaks, encoded
// lines are at most 76 characters (soft breaks "=" CRLF), trailing space and tab are encoded.
std::string quoted_printable_encode(std::string_view text);

// A header value as one or more RFC 2047 "B" encoded words of UTF-8 text (each at most 75
// characters, split between UTF-8 sequences), joined by CRLF SP; plain ASCII without "=?" is
// returned unchanged.
std::string encode_header_words(std::string_view utf8);

}  // namespace sinetti::smtp
