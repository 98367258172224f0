// The delivery API the queue uses: an Envelope and a streamed body go into a Transport (SMTP relay
// or Maildir), one DeliveryResult with an outcome per recipient comes back. Failures of peers,
// networks and disks are outcomes, never exceptions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sinetti/result.hpp"
#include "smtp/asio.hpp"

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

// The message, in pieces, as RFC 5322 text (line ends CRLF or bare LF; the SMTP client normalises
// them and dot-stuffs). Each view stays valid until the next call. An error stops the delivery
// without ending the DATA phase, so a truncated message is never handed over; the recipients are
// deferred with the error's text. next() is awaited on the delivery's own strand.
class BodySource {
 public:
  virtual ~BodySource() = default;
  // The next piece, or nullopt at the end of the message.
  virtual asio::awaitable<Result<std::optional<std::string_view>>> next() = 0;
};

// A body held in memory (notifications, DSNs), handed out in pieces of at most piece_size bytes.
class StringBodySource final : public BodySource {
 public:
  explicit StringBodySource(std::string body, std::size_t piece_size = 64 * 1024)
      : body_(std::move(body)), piece_(piece_size == 0 ? 1 : piece_size) {}
  asio::awaitable<Result<std::optional<std::string_view>>> next() override;

 private:
  std::string body_;
  std::size_t piece_;
  std::size_t offset_ = 0;
};

// One delivery attempt of one message to every recipient. Implementations: SmtpTransport
// (smtp/client/smtp_transport.hpp), MaildirTransport (smtp/client/maildir.hpp).
class Transport {
 public:
  virtual ~Transport() = default;
  // Runs on a strand of its own, whatever the caller's executor; safe to call concurrently.
  // Returns when the outcome of every recipient is known; never throws for peer or I/O failures.
  virtual asio::awaitable<DeliveryResult> deliver(const Envelope& envelope, BodySource& body) = 0;
};

}  // namespace sinetti::smtp::client
