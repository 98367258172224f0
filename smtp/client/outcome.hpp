// Delivery outcomes: what the queue asks for (an Envelope) and what it gets back (an outcome per
// recipient), shared by the sans-IO client session, the transports and the DSN writer. No I/O here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sinetti::smtp::client {

struct Envelope {
  std::string sender;                   // empty: the null sender <> (DSNs, RFC 5321 §4.5.5)
  std::vector<std::string> recipients;  // at least one; addresses without angle brackets
  std::optional<std::uint64_t> size;    // message size in bytes when known: SIZE= (RFC 1870)
  bool eight_bit = true;                // declare BODY=8BITMIME (RFC 6152) when the server offers it
};

enum class Outcome {
  delivered,  // the server took responsibility (2xx after the final "."), or the Maildir file is durable
  deferred,   // try again later: 4xx, connection, TLS, timeout, local disk trouble
  failed,     // permanent: 5xx for this recipient or the message; bounce it
};
const char* to_string(Outcome o);

struct RecipientOutcome {
  std::string recipient;
  Outcome outcome = Outcome::deferred;
  std::string status;      // RFC 3463 enhanced status: the server's, or one we chose ("4.4.1")
  int reply_code = 0;      // the server reply that decided it; 0 when none did (local reason)
  std::string diagnostic;  // reply_code != 0: the server's reply ("550 5.1.1 No such user"),
                           // else our reason ("connect to 192.0.2.1:25: Connection refused")
};

struct DeliveryResult {
  std::vector<RecipientOutcome> recipients;  // in Envelope::recipients order
  std::string remote;                        // "host[address]:port", or the Maildir path
  std::string tls;                           // "TLSv1.3 verified", "TLSv1.3 unverified" or "none"

  bool all(Outcome o) const;
};

}  // namespace sinetti::smtp::client
