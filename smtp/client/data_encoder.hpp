// DATA encoding for the outbound client (RFC 5321 §4.5.2 transparency, §2.3.8 line ends): turns a
// message streamed in arbitrary pieces into wire bytes — every line end CRLF (a bare LF or a lone
// CR becomes CRLF), a "." at the start of a line doubled — and ends it with CRLF "." CRLF. Keeps
// one byte of state between pieces (a CR waiting for its LF), so memory is flat for any size.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sinetti::smtp::client {

class DataEncoder {
 public:
  // Appends the encoding of `piece` to `out`.
  void encode(std::string_view piece, std::string& out);
  // Appends the end of the message: a final CRLF if the last line lacked one, then ".\r\n".
  void finish(std::string& out);
  // Message bytes encoded so far, as given (before normalisation and stuffing).
  std::uint64_t input_bytes() const { return input_bytes_; }

 private:
  bool line_start_ = true;
  bool pending_cr_ = false;
  std::uint64_t input_bytes_ = 0;
};

}  // namespace sinetti::smtp::client
