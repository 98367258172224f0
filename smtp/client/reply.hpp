// Reply parsing for the outbound SMTP client: RFC 5321 §4.2 reply lines and multiline replies,
// RFC 3463 enhanced status codes (RFC 2034), EHLO keywords (§4.1.1.1). Untrusted input: every byte
// the remote server sends. A partial line is capped by ReplyLimits::max_line and a reply by
// ReplyLimits::max_lines; reply text is reduced to printable ASCII before anyone sees it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sinetti::smtp::client {

struct ReplyLimits {
  // One reply line including CRLF. RFC 5321 §4.5.3.1.5 says 512; servers send longer EHLO and
  // rejection lines in practice, so the cap is generous but finite.
  std::size_t max_line = 2048;
  std::size_t max_lines = 128;  // lines in one multiline reply (an EHLO reply has ~20)
};

struct ServerReply {
  int code = 0;                    // 200..599
  std::string enhanced;            // "5.1.1" when the reply carries one (RFC 3463), else empty
  std::vector<std::string> lines;  // text after the code and the enhanced code; printable ASCII

  int kind() const { return code / 100; }  // 2 positive, 3 intermediate, 4 transient, 5 permanent
  // "550 5.1.1 No such user; second line" for logs and DSNs (RFC 3464 Diagnostic-Code), at most
  // max_diagnostic characters.
  std::string diagnostic() const;
  // The enhanced code, or the class default ("4.0.0") when the server gave none.
  std::string status() const;

  static constexpr std::size_t max_diagnostic = 900;
};

// Incremental parser: bytes in, one complete reply at a time out. Only a partial line is buffered.
class ReplyParser {
 public:
  enum class Status { need_more, reply, error };

  explicit ReplyParser(ReplyLimits limits = {}) : limits_(limits) {}

  // Consumes bytes from the front of `input` until one reply is complete (Status::reply; take it
  // with take_reply() before parsing on) or `input` is used up (Status::need_more). Bytes after a
  // complete reply stay in `input`. Once an error is reported the parser stays failed.
  Status parse(std::string_view& input);
  ServerReply take_reply();
  const std::string& error() const { return error_; }
  // True when no part of a reply is buffered (the STARTTLS check for injected bytes uses it).
  bool idle() const { return line_.empty() && lines_.empty() && !ready_; }

 private:
  Status fail(std::string why);
  Status finish_line();

  ReplyLimits limits_;
  std::string line_;                // the partial line, without its terminator
  std::vector<std::string> lines_;  // complete lines of the reply so far (text after "NNN-")
  int code_ = 0;
  bool ready_ = false;
  ServerReply reply_;
  std::string error_;
};

// What an EHLO reply says the server can do (RFC 5321 §4.1.1.1 and the extensions' RFCs). Keywords
// are matched case-insensitively; unknown ones are ignored.
struct Capabilities {
  bool esmtp = false;                    // the server answered EHLO (not only HELO)
  bool starttls = false;                 // RFC 3207
  bool pipelining = false;               // RFC 2920
  bool eight_bit_mime = false;           // RFC 6152
  bool enhanced_status_codes = false;    // RFC 2034
  bool smtputf8 = false;                 // RFC 6531
  bool size = false;                     // RFC 1870: SIZE offered
  std::uint64_t max_size = 0;            // SIZE limit; 0: none declared
  std::vector<std::string> auth;         // RFC 4954 mechanisms, upper case

  bool offers_auth(std::string_view mechanism) const;
};

Capabilities parse_ehlo(const ServerReply& reply);

}  // namespace sinetti::smtp::client
