// Writing mail (RFC 5322, MIME RFC 2045-2047): the small text mails Sinetti sends itself —
// notifications with read links, notices to staff. UTF-8 text, quoted-printable, encoded words in
// headers, CRLF line ends. Input comes from templates and configuration, not from the network;
// header values are still checked for line breaks so nothing can inject a header.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "sinetti/result.hpp"

namespace sinetti::mime {

struct Mailbox {
  std::string name;     // display name, UTF-8, may be empty
  std::string address;  // local@domain
};

struct OutgoingText {
  Mailbox from;
  std::vector<Mailbox> to;
  std::vector<Mailbox> reply_to;
  std::string subject;                       // UTF-8
  std::string body;                          // UTF-8, any line ends
  std::string message_id;                    // without angle brackets: "ID@host"
  std::string in_reply_to;                   // optional, without angle brackets
  std::chrono::system_clock::time_point date;
  std::string language;                      // Content-Language, e.g. "fi"; empty: none
  std::vector<std::pair<std::string, std::string>> headers;  // extra fields, ASCII names
};

// The whole message, CRLF line ends. Errors: a header value with a line break or NUL, a missing
// From or To, a body that is not valid UTF-8.
Result<std::string> compose_text(const OutgoingText& mail);

}  // namespace sinetti::mime
