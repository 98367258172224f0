#include "gateway/server/smtp_policy.hpp"

#include <algorithm>
#include <cctype>

#include "gateway/routing/marks.hpp"
#include "gateway/routing/reply_address.hpp"

namespace sinetti::server {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

smtp::Reply relaying_denied() { return smtp::Reply{550, "5.7.1", {"Relaying denied"}}; }

bool trusted(const smtp::SessionInfo& s) { return s.trusted_network || s.auth_user.has_value(); }

smtp::Reply replies_from_mail_server_only() {
  return smtp::Reply{550, "5.7.1", {"Replies to this address are accepted from the organisation's mail server only"}};
}
smtp::Reply no_such_reply_address() { return smtp::Reply{550, "5.1.1", {"No such reply address"}}; }

}  // namespace

InboundPolicy::InboundPolicy(const config::Config& config, const config::Listener& listener)
    : marks_(config.routing.marks), default_country_(config.sms.default_country), reply_domain_(config.reply_domain()) {
  for (const auto& d : listener.domains) domains_.insert(lower(d));
  for (const auto& t : config.teams) {
    if (!t.address.empty()) addresses_.insert(lower(t.address));
  }
}

std::optional<smtp::Reply> InboundPolicy::check_sender(const smtp::SessionInfo&, std::string_view) const {
  return std::nullopt;
}

std::optional<smtp::Reply> InboundPolicy::check_recipient(const smtp::SessionInfo&, std::string_view address) const {
  if (routing::is_reply_address(address, reply_domain_)) return replies_from_mail_server_only();
  const auto marks = routing::parse_recipient_marks(address, marks_, default_country_);
  if (marks.problem) return smtp::Reply{553, "5.1.3", {"Bad protection suffix in the recipient address"}};
  const std::string plain = lower(marks.address);
  if (addresses_.contains(plain)) return std::nullopt;
  const auto at = plain.rfind('@');
  if (at != std::string::npos && domains_.contains(std::string_view(plain).substr(at + 1))) return std::nullopt;
  return relaying_denied();
}

std::optional<smtp::Reply> SubmissionPolicy::check_sender(const smtp::SessionInfo& session, std::string_view) const {
  // The listener already demands AUTH outside the allowed networks; this keeps it so if it did not.
  if (!trusted(session)) return smtp::Reply{530, "5.7.0", {"Authentication required"}};
  return std::nullopt;
}

std::optional<smtp::Reply> SubmissionPolicy::check_recipient(const smtp::SessionInfo& session, std::string_view address) const {
  if (!trusted(session)) return relaying_denied();
  if (routing::is_reply_address(address, reply_domain_)) {
    if (!session.trusted_network) return replies_from_mail_server_only();
    if (!routing::reply_token(address, reply_domain_)) return no_such_reply_address();
  }
  return std::nullopt;
}

std::shared_ptr<const smtp::RecipientPolicy> make_recipient_policy(const config::Config& config,
                                                                  const config::Listener& listener) {
  if (listener.role == config::ListenerRole::submission) return std::make_shared<SubmissionPolicy>(config.reply_domain());
  return std::make_shared<InboundPolicy>(config, listener);
}

}  // namespace sinetti::server
