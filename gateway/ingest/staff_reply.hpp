// Staff replies by e-mail: a staff member answers a team notification from their mail client; the
// mail reaches the submission listener (from the organisation's mail server only, smtp_policy.hpp)
// addressed to the thread's reply address (routing/reply_address.hpp). It becomes a protected
// message to the thread's client — bound to the client's identity key (level personal) when a
// strongly identified client started the thread, else at level letter — with the quoted
// notification text dropped, plus a notification mail to the client. The original staff mail is
// not kept.
//
// Who may reply: the staff member who claimed the thread's team message in the portal. At claim
// time the portal records the e-mail address the staff IdP gave for that member (its `email`
// claim); the reply's envelope sender must be that address (case-insensitive). Team membership was
// proven by the IdP's groups claim when the message was claimed; the claim's team must be the
// thread's team. Anyone else — another member, or any address if nobody has claimed it — is
// refused (550 5.7.1). An unknown, revoked or expired reply address, or a thread that is closed or
// past its expiry, is refused with 550 5.1.1 (the organisation's server bounces it to the sender).
//
// check_staff_reply does blocking store reads (worker pool); the rest is pure.
// Untrusted input: the envelope and the mail's text.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <vector>

#include "config/config.hpp"
#include "crypto/key_ring.hpp"
#include "gateway/i18n/templates.hpp"
#include "gateway/store/store.hpp"
#include "sinetti/clock.hpp"
#include "smtp/mime/compose.hpp"
#include "smtp/esmtp/server_session.hpp"

namespace sinetti::ingest {

// Everything a valid staff reply needs, as found in the store.
struct StaffReplyTarget {
  store::Thread thread;
  store::Claim claim;
  const config::Team* team = nullptr;
  store::MessageId message_id;  // the team message whose notification was answered
};

// The target, or the SMTP refusal.
using StaffReplyCheck = std::variant<StaffReplyTarget, smtp::Reply>;

// `token`: from routing::reply_token; `sender`: the envelope sender. Storage errors are errors.
Result<StaffReplyCheck> check_staff_reply(store::Store& store, const config::Config& config, const std::string& token,
                                          std::string_view sender, std::chrono::system_clock::time_point now);

// The reply text without the quoted notification: cut at the first quoted line ("> ..."), at a
// forwarded/original-message separator or an Outlook-style "From:" header block, with the
// attribution line before a quote ("On ... wrote:", "... kirjoitti:", "... skrev:") and trailing
// blank lines removed; any remaining line holding a portal link (`link_prefix`, e.g.
// "https://portal.example/m/") is dropped as well so that no read-link token of the team reaches
// the client. CRLF line ends out.
std::string strip_quoted_text(std::string_view text, std::string_view link_prefix);
// The same, dropping lines that hold any of the portal's link prefixes (portal_link_prefixes).
std::string strip_quoted_text(std::string_view text, const std::vector<std::string>& link_prefixes);

// PUBLIC_URL/m/ and PUBLIC_URL/staff/m/: a line holding either is dropped from a staff reply, so
// that no read-link token of the team reaches the client.
std::vector<std::string> portal_link_prefixes(const config::Config& config);
// `text` without the lines that hold one of `link_prefixes` (CRLF line ends out).
std::string drop_link_lines(std::string_view text, const std::vector<std::string>& link_prefixes);

// A staff reply to the thread's client, from mail (the submission listener) or from the portal
// (POST /staff/m/{token}/reply): the same protected message either way — level personal bound to
// the thread's client identity when there is one, else letter — its read link, the notification
// to the client's address and the audit (`thread.reply` by `staff:SUBJECT`, `via`).
struct StaffReplyInput {
  const config::Config& config;
  const i18n::Templates& templates;
  const crypto::KeyRing& ring;  // one snapshot: every wrapped key and KEK id in the batch agree
  const Clock& clock;
  const StaffReplyTarget& target;
  std::string reply_id{};     // ids.hpp new_message_id
  std::string subject{};
  std::string text{};         // what the client reads (quoted notification already dropped)
  std::vector<mime::OutgoingAttachment> attachments{};
  std::string sender{};       // the staff member's address: the reply's sender, bounces go there
  std::string via{};          // "mail" | "portal"
  std::string listener{};     // the submission listener's name; empty: from the portal
};

// The batch to commit. Pure but for key generation; no store access.
Result<store::CommitBatch> build_staff_reply(const StaffReplyInput& input);

}  // namespace sinetti::ingest
