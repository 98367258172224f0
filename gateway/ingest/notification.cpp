#include "gateway/ingest/notification.hpp"

#include "gateway/i18n/format.hpp"
#include "smtp/mime/compose.hpp"

namespace sinetti::ingest {

std::string read_link(const config::Config& config, const std::string& token, config::Language language) {
  std::string base = config.instance.public_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/m/" + token + "?lang=" + config::to_string(language);
}

std::string staff_link(const config::Config& config, const std::string& token, config::Language language) {
  std::string base = config.instance.public_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/staff/m/" + token + "?lang=" + config::to_string(language);
}

Result<std::string> compose_notification(const NotificationRequest& r) {
  const config::Config& c = *r.config;
  i18n::TemplateMap values{
      {"organisation", c.instance.name},
      {"team", r.team ? r.team->name.at(r.language) : std::string()},
      {"link", r.for_team ? staff_link(c, r.token, r.language) : read_link(c, r.token, r.language)},
      {"level_letter", r.level == config::ProtectionLevel::letter},
      {"level_sms", r.level == config::ProtectionLevel::sms},
      {"level_personal", r.level == config::ProtectionLevel::personal},
      {"phone_tail", r.phone ? i18n::phone_tail(*r.phone) : std::string()},
      {"expires", i18n::format_date(r.expires, r.language)},
      {"subject", c.notifications.include_subject ? r.original_subject : std::string()},
      {"sender", r.sender},
      {"message_ref", r.message_ref},
  };
  auto rendered = r.templates->render_mail(r.for_team ? "team-notification" : "notification", r.language, values);
  if (!rendered) return rendered.error();

  mime::OutgoingText mail;
  mail.from = {c.notifications.from_name.empty() ? c.instance.name : c.notifications.from_name, c.notification_from()};
  mail.to = {{"", r.to}};
  if (!r.reply_to.empty()) mail.reply_to = {{"", r.reply_to}};
  mail.subject = rendered->subject;
  mail.body = rendered->body;
  mail.message_id = r.message_id;
  mail.date = r.now;
  mail.language = config::to_string(r.language);
  // RFC 3834: generated, so auto-responders stay quiet; a person may still reply to a team notice.
  mail.headers = {{"Auto-Submitted", "auto-generated"}, {"X-Sinetti-Notification", r.for_team ? "team" : "recipient"}};
  return mime::compose_text(mail);
}

}  // namespace sinetti::ingest
