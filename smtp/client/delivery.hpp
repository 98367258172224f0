// The delivery API the queue uses: an Envelope and a streamed body go into a Transport (SMTP relay
// or Maildir), one DeliveryResult with an outcome per recipient (smtp/client/outcome.hpp) comes
// back. Failures of peers, networks and disks are outcomes, never exceptions. Needs C++20
// coroutines (library sinetti_smtp_delivery); the sans-IO parts of smtp/ do not.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "sinetti/result.hpp"
#include "smtp/asio.hpp"
#include "smtp/client/outcome.hpp"

namespace sinetti::smtp::client {

// The message, in pieces, as RFC 5322 text (line ends CRLF or bare LF; the SMTP client normalises
// them and dot-stuffs). Each view stays valid until the next call. An error stops the delivery
// without ending the DATA phase, so a truncated message is never handed over; the recipients are
// deferred with the error's text. next() is awaited on the strand the delivery runs on.
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
  // Ends what a transport keeps open between deliveries (the queue drains); thread-safe.
  virtual void close_idle() {}
};

}  // namespace sinetti::smtp::client
