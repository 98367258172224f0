// The notification mail that stands in for a protected message: the organisation, the team, how to
// unlock, the read link — and no content (by default not even the subject). Rendered from the
// operator's templates (config/templates/) and composed as a UTF-8 text mail.
// Input: configuration, routing decisions and the original subject (used only when
// notifications.include_subject is on).
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "gateway/i18n/templates.hpp"
#include "sinetti/result.hpp"

namespace sinetti::ingest {

struct NotificationRequest {
  const config::Config* config = nullptr;
  const i18n::Templates* templates = nullptr;
  config::Language language = config::Language::fi;
  std::string to;                        // the recipient, or the team's mailbox
  const config::Team* team = nullptr;    // for_team: the team notified; otherwise the sending team, if known
  bool for_team = false;                 // team-notification: a protected message for the team
  std::string token;                     // the read link's token (only ever in this mail)
  std::string message_ref;               // the protected message's id
  config::ProtectionLevel level = config::ProtectionLevel::letter;
  std::optional<std::string> phone;      // sms: only its last two digits appear
  std::string original_subject;          // shown only with notifications.include_subject
  std::string sender;                    // envelope sender (team notifications name it)
  std::chrono::system_clock::time_point expires;
  std::chrono::system_clock::time_point now;
  std::string message_id;                // our Message-ID, "ID@host"
  std::string reply_to;                  // team notifications: the thread's reply address
};

// The read link for a token: PUBLIC_URL/m/TOKEN?lang=fi.
std::string read_link(const config::Config& config, const std::string& token, config::Language language);
// A team copy's link, opened with staff sign-in: PUBLIC_URL/staff/m/TOKEN?lang=fi.
std::string staff_link(const config::Config& config, const std::string& token, config::Language language);

// The whole mail, CRLF line ends.
Result<std::string> compose_notification(const NotificationRequest& request);

}  // namespace sinetti::ingest
