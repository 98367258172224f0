// Delivery status notifications (RFC 3464 in an RFC 6522 multipart/report): a short human-readable
// part in Finnish and English, the machine-readable message/delivery-status part, and the original
// message's header section as text/rfc822-headers. Never the original body: it may be confidential
// (protected mail, personal data) and the DSN goes to an address we have not verified. Sent with the
// null sender <> so that it is never bounced itself (RFC 5321 §4.5.5); a DSN for a message whose own
// sender was <> is refused. Input: delivery outcomes, whose text came from remote servers (already
// reduced to printable ASCII by the reply parser), and the original headers (untrusted, capped).
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sinetti/result.hpp"
#include "smtp/client/outcome.hpp"

namespace sinetti::smtp {

enum class DsnAction { failed, delayed };  // RFC 3464 §2.3.3 (delivered/relayed/expanded: not sent)

struct DsnRecipient {
  std::string recipient;                     // Final-Recipient: rfc822; ADDRESS
  DsnAction action = DsnAction::failed;
  std::string status;                        // RFC 3463 "5.1.1"
  std::string remote_mta;                    // Remote-MTA: dns; NAME — when a server answered
  std::string diagnostic;                    // the server's reply or our reason
  bool diagnostic_from_server = false;       // "smtp; ..." rather than "X-Sinetti; ..."
  std::chrono::system_clock::time_point last_attempt;
  std::optional<std::chrono::system_clock::time_point> will_retry_until;  // delayed only
};

// The recipients of one attempt that a DSN reports: failed ones always; deferred ones as delayed
// (with Will-Retry-Until) when `retry_until` is given, or as failed when the queue has given up
// (`retry_until` empty, the lifetime is over). Delivered recipients are left out.
std::vector<DsnRecipient> dsn_recipients(const client::DeliveryResult& attempt,
                                         std::chrono::system_clock::time_point attempted,
                                         std::optional<std::chrono::system_clock::time_point> retry_until);

struct DsnRequest {
  std::string reporting_mta;      // this gateway's host name: Reporting-MTA: dns; NAME
  std::string from;               // From: address, e.g. "postmaster@gw.example.fi"
  std::string original_sender;    // the original envelope sender: the DSN's only recipient
  std::string original_envelope_id;                     // ENVID (RFC 3461 §4.4) if one was given
  std::chrono::system_clock::time_point arrival_date;   // when the original was received
  std::chrono::system_clock::time_point date;           // now: the DSN's Date
  std::vector<DsnRecipient> recipients;                 // at least one
  // The start of the original message; the header section is taken from it (up to the first empty
  // line, at most max_original_headers bytes, cut at a line end). The body is never used.
  std::string_view original_message;
  // Header fields (names, case-insensitive) left out of the original headers: e.g. the Reply-To of
  // a notification, which carries the team's reply token and must not reach the sender.
  std::vector<std::string> omit_fields;

  static constexpr std::size_t max_original_headers = 64 * 1024;
};

struct Dsn {
  client::Envelope envelope;  // sender <>, the one recipient original_sender, size, 7-bit
  std::string message;        // RFC 5322 text with CRLF line ends, 7-bit
};

// Errors: original_sender empty (nothing is ever bounced to <>), no recipients, or an address or
// name that contains line breaks or control characters.
Result<Dsn> build_dsn(const DsnRequest& request);

}  // namespace sinetti::smtp
