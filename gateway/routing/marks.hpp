// Protection marks (DESIGN.md "Marking protected mail"): the address suffix `.s` / `.PHONE.s`, subject
// tags, and X-Sinetti-Protect / -Sms / -Identity / -Language headers. Untrusted input: envelope
// recipients and headers of incoming mail. An identity code found here is carried only to bind the
// message; it is never printed, logged or put into explain output.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "smtp/mime/message.hpp"

namespace sinetti::routing {

struct RecipientMarks {
  std::string address;               // the recipient with any protection suffix removed
  bool suffix = false;               // ended in .s or .PHONE.s
  std::optional<std::string> phone;  // E.164, from .PHONE.s
  std::optional<std::string> problem;  // e.g. a phone suffix that is not a phone number
};

struct MessageMarks {
  std::optional<std::string> subject_tag;         // the tag found, as configured
  std::string subject;                            // the subject with the tag removed
  std::optional<config::ProtectionLevel> level;   // X-Sinetti-Protect
  std::optional<std::string> phone;               // X-Sinetti-Sms, E.164
  std::optional<std::string> identity_code;       // X-Sinetti-Identity, valid code only; never print
  std::optional<config::Language> language;       // X-Sinetti-Language, or the subject tag's language
  std::vector<std::string> problems;              // marks present but unusable (no values quoted)

  bool any() const { return subject_tag || level || phone || identity_code; }
};

RecipientMarks parse_recipient_marks(std::string_view recipient, const config::Marks& marks,
                                     std::string_view default_country);
MessageMarks parse_message_marks(const mime::Message& message, const config::Marks& marks,
                                 std::string_view default_country);

}  // namespace sinetti::routing
