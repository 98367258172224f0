// Who may send what through an SMTP listener, by its role (DESIGN "Configuration keys"):
//  - inbound: recipients only at the listener's `domains` or a team's public address
//    (teams[].address), also with a protection suffix `.s` / `.PHONE.s` (routing/marks.hpp); any
//    other recipient gets 550 5.7.1 — never an open relay. Any sender.
//  - submission: any recipient, but only from clients in allowed_networks or authenticated ones
//    (the listener demands AUTH from everyone else when `auth` is configured).
// Untrusted input: envelope addresses (already syntax-checked by the ESMTP machine).
#pragma once

#include <memory>
#include <set>
#include <string>

#include "config/config.hpp"
#include "smtp/server/recipient_policy.hpp"

namespace sinetti::server {

class InboundPolicy final : public smtp::RecipientPolicy {
 public:
  InboundPolicy(const config::Config& config, const config::Listener& listener);
  std::optional<smtp::Reply> check_sender(const smtp::SessionInfo& session, std::string_view address) const override;
  std::optional<smtp::Reply> check_recipient(const smtp::SessionInfo& session, std::string_view address) const override;

 private:
  std::set<std::string, std::less<>> domains_;    // lower case
  std::set<std::string, std::less<>> addresses_;  // team public addresses, lower case
  config::Marks marks_;
  std::string default_country_;
};

class SubmissionPolicy final : public smtp::RecipientPolicy {
 public:
  std::optional<smtp::Reply> check_sender(const smtp::SessionInfo& session, std::string_view address) const override;
  std::optional<smtp::Reply> check_recipient(const smtp::SessionInfo& session, std::string_view address) const override;
};

std::shared_ptr<const smtp::RecipientPolicy> make_recipient_policy(const config::Config& config,
                                                                  const config::Listener& listener);

}  // namespace sinetti::server
