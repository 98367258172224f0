// Writing mail (RFC 5322, MIME RFC 2045-2047): the mails Sinetti sends itself — notifications with
// read links, notices to staff, and recipients' replies from the portal (text and attachments).
// UTF-8 text, quoted-printable, base64 attachments with RFC 2231 file names, encoded words in
// headers, CRLF line ends. Input: templates and configuration, and for replies a recipient's text
// and files; header values are checked for line breaks so nothing can inject a header.
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

struct OutgoingAttachment {
  std::string filename;      // UTF-8, no path
  std::string content_type;  // "type/subtype"
  std::string data;          // the bytes
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
  std::vector<OutgoingAttachment> attachments;  // none: a single text part; else multipart/mixed
};

// The whole message, CRLF line ends. Errors: a header value with a line break or NUL, a missing
// From or To, a body that is not valid UTF-8, an attachment type that is not type/subtype.
Result<std::string> compose_text(const OutgoingText& mail);

}  // namespace sinetti::mime
