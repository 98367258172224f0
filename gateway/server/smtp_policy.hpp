// Who may send what through an SMTP listener, by its role (DESIGN "Configuration keys"):
//  - inbound: recipients only at the listener's `domains` or a team's public address
//    (teams[].address), also with a protection suffix `.s` / `.PHONE.s` (routing/marks.hpp); any
//    other recipient gets 550 5.7.1 — never an open relay. Any sender.
//  - submission: any recipient, but only from clients in allowed_networks or authenticated ones
//    (the listener demands AUTH from everyone else when `auth` is configured).
//  - per-thread reply addresses (reply+TOKEN@notifications.reply_domain, routing/reply_address.hpp)
//    are staff replies: accepted only on a submission listener and only from its allowed_networks
//    (the organisation's mail server; an authenticated client elsewhere is not it), 550 5.7.1
//    otherwise; a malformed token is 550 5.1.1 at once. Whether the token names a live thread is a
//    store lookup, so ingest answers that after DATA (RecipientPolicy does no I/O).
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
  std::string reply_domain_;
};

class SubmissionPolicy final : public smtp::RecipientPolicy {
 public:
  explicit SubmissionPolicy(std::string reply_domain) : reply_domain_(std::move(reply_domain)) {}
  std::optional<smtp::Reply> check_sender(const smtp::SessionInfo& session, std::string_view address) const override;
  std::optional<smtp::Reply> check_recipient(const smtp::SessionInfo& session, std::string_view address) const override;

 private:
  std::string reply_domain_;
};

std::shared_ptr<const smtp::RecipientPolicy> make_recipient_policy(const config::Config& config,
                                                                  const config::Listener& listener);

}  // namespace sinetti::server
