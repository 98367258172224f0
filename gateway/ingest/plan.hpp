// From routing decisions to what is stored and sent for one accepted message: forwarded copies per
// team mailbox, protected copies per unlock policy (each with a read link and notification per
// recipient), and recipients refused after DATA (bounced with a DSN). Pure; no I/O.
// Untrusted input: the routed message's envelope (via the decisions).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "gateway/routing/table.hpp"

namespace sinetti::ingest {

// One delivery of the message unchanged to a team's shared mailbox.
struct ForwardCopy {
  const config::Team* team = nullptr;
  std::vector<std::string> recipients;  // the envelope recipients it stands for, as received
};

struct ProtectedRecipient {
  std::string address;      // the protection suffix removed: where the notification goes
  std::string as_received;  // the envelope recipient as received
  std::string shown;        // with a phone number masked, for logs
};

// One sealed copy: every recipient in it unlocks the same way.
struct ProtectedCopy {
  config::ProtectionLevel level = config::ProtectionLevel::letter;
  std::optional<std::string> phone;    // level sms: E.164
  bool identity_bound = false;         // level personal: bound to the X-Sinetti-Identity code
  const config::Team* team = nullptr;  // the message is for this team: its mailbox is notified
  std::vector<ProtectedRecipient> recipients;
};

struct RefusedRecipient {
  std::string shown;  // as received, phone masked
  int code = 550;
  std::string text;   // "5.1.1 ..." as the rule or routing gave it
};

struct Plan {
  std::vector<ForwardCopy> forwards;
  std::vector<ProtectedCopy> protects;
  std::vector<RefusedRecipient> refused;
  std::optional<config::Language> language;  // from the marks

  bool accepts() const { return !forwards.empty() || !protects.empty(); }
  // When nothing is accepted: the SMTP reply for the whole message (the first refusal's).
  int reply_code() const { return refused.empty() ? 554 : refused.front().code; }
  std::string reply_text() const { return refused.empty() ? "5.5.0 No valid recipients" : refused.front().text; }
};

Plan make_plan(const routing::Routed& routed);

}  // namespace sinetti::ingest
