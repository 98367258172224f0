// SmtpTransport: delivers a message to the organisation's mail server over SMTP — resolve, connect,
// drive the sans-IO ClientSession (smtp/client/session.hpp), STARTTLS per policy, stream the body.
// Asio C++20 coroutines on a strand of its own per connection; a deadline on the connect and on every
// read and write (RFC 5321 §4.5.3.2 defaults); every failure is an outcome, never an exception.
// Untrusted input: the server's replies and certificate.
//
// Connections are reused (RelayReuse): after a message the connection is parked instead of closed,
// and the next delivery starts there with RSET — no connect, greeting, EHLO, STARTTLS handshake or
// AUTH per message, as Postfix's connection cache does. A parked connection is closed with QUIT when
// it has been idle for `idle`; none carries more than `messages` messages or is used after
// `lifetime`. A parked connection that fails its RSET is dropped with every other parked one (the
// server has most likely restarted) and the message goes out on a new connection.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "sinetti/result.hpp"
#include "smtp/client/delivery.hpp"
#include "smtp/client/session.hpp"

namespace sinetti::smtp::client {

// RFC 5321 §4.5.3.2 client timeouts. The connect deadline is not in the RFC (Postfix: 30 s); it
// covers TCP connection set-up to every resolved address. Name resolution is bounded by the
// system resolver's own timeouts.
struct SmtpTimeouts {
  std::chrono::milliseconds connect = std::chrono::seconds(30);
  std::chrono::milliseconds greeting = std::chrono::minutes(5);    // §4.5.3.2.1 initial 220
  std::chrono::milliseconds command = std::chrono::minutes(5);     // EHLO, STARTTLS and the handshake,
                                                                   // AUTH, MAIL (§4.5.3.2.2), RCPT
                                                                   // (§4.5.3.2.3), QUIT; every write
  std::chrono::milliseconds data_init = std::chrono::minutes(2);   // §4.5.3.2.4 354 to DATA
  std::chrono::milliseconds data_block = std::chrono::minutes(3);  // §4.5.3.2.5 each body write
  std::chrono::milliseconds data_end = std::chrono::minutes(10);   // §4.5.3.2.6 reply to "."
  std::chrono::milliseconds rset = std::chrono::seconds(20);       // RSET on a reused connection (not
                                                                   // in the RFC; Postfix: 20 s)
};

struct RelayReuse {
  std::chrono::milliseconds idle = std::chrono::seconds(2);         // parked this long unused: QUIT
  std::uint32_t messages = 100;                                     // per connection at most; 1: no reuse
  std::chrono::milliseconds lifetime = std::chrono::minutes(5);     // no new message on an older one
  std::size_t connections = 16;                                     // parked at once at most
};

struct SmtpRelay {
  std::string host;                               // DNS name or IP address
  std::uint16_t port = 25;
  TlsPolicy tls = TlsPolicy::require;             // require verifies the chain and the host name
  std::optional<std::filesystem::path> ca_file;   // trust anchors for require; default the system's
  std::optional<Credentials> credentials;         // AUTH PLAIN/LOGIN (see session.hpp for when)
  std::string helo_name;                          // empty: this machine's host name
  SmtpTimeouts timeouts;
  ReplyLimits reply_limits;
  bool pipelining = true;
  RelayReuse reuse;
};

class SmtpTransport final : public Transport {
 public:
  // Builds the TLS client context (reads the CA bundle: blocking, at start-up or reload). Errors:
  // no host, a CA bundle that cannot be loaded.
  static Result<std::unique_ptr<SmtpTransport>> create(SmtpRelay relay);
  ~SmtpTransport() override;

  // On a parked connection if one is there, else on a new one. With `opportunistic`, a failed TLS
  // handshake is followed by one more connection in the clear (the body has not been read at that
  // point), as an MTA does; that connection is not reused.
  asio::awaitable<DeliveryResult> deliver(const Envelope& envelope, BodySource& body) override;
  // QUIT on every parked connection and park no more (shutdown); deliveries still work, each on a
  // connection of its own.
  void close_idle() override;

  const SmtpRelay& relay() const;

 private:
  struct Impl;
  explicit SmtpTransport(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The relay settings from the configuration (delivery.relay); reads the AUTH password from its
// secret file or variable.
Result<SmtpRelay> relay_from_config(const config::Relay& relay);

}  // namespace sinetti::smtp::client
