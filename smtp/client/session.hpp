// Sans-IO SMTP client session (RFC 5321 client side) with EHLO/HELO, STARTTLS (RFC 3207), AUTH
// PLAIN/LOGIN (RFC 4954, RFC 4616), SIZE (RFC 1870), 8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531),
// PIPELINING (RFC 2920) and enhanced status codes (RFC 2034/3463). Server reply bytes in, command
// bytes out; no sockets, no clock — the transport does the I/O, the TLS handshake and the
// deadlines. Untrusted input: every byte the server sends, parsed under ReplyLimits.
//
// One session delivers one message: greeting, EHLO, STARTTLS and EHLO again, AUTH, MAIL, RCPT...,
// DATA, the body, QUIT. With keep_open the session ends without QUIT after the reply that ends the
// transaction (to the end of data, or the refusal of MAIL, of every RCPT or of DATA), and
// reusable() says whether the connection may carry another message: a session resumed on
// it (the Resumed constructor) starts with RSET, and a refused or lost RSET is a failed probe — the
// transport takes another connection, nothing of this message has been sent. Outcomes per recipient follow the reply that decided them (2xx delivered,
// 4xx deferred, 5xx failed). Replies that concern the connection rather than the message — the
// greeting, EHLO/HELO, STARTTLS, AUTH — defer every recipient whatever their class: they describe the
// relay's set-up, which an operator can fix within the queue lifetime, and the queue bounces once
// the lifetime is over. So does everything without a reply: lost connection, timeout, TLS failure.
//
// Credentials (decided here, not by the caller): the password is sent only over TLS whose
// certificate was verified (policy require), or to a loopback peer. Unverified TLS lets an active
// attacker in the path read it, so `opportunistic` to a remote relay with credentials defers with
// 4.7.0 instead of authenticating; it never sends the password.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/client/data_encoder.hpp"
#include "smtp/client/outcome.hpp"
#include "smtp/client/reply.hpp"

namespace sinetti::smtp::client {

enum class TlsPolicy {
  require,        // STARTTLS or defer; the transport verifies the chain and the host name
  opportunistic,  // STARTTLS when offered, certificate not verified
  none,           // never STARTTLS
};
const char* to_string(TlsPolicy p);

struct Credentials {
  std::string username;
  std::string password;  // never logged
};

struct SessionOptions {
  std::string helo_name = "localhost";     // our name in EHLO/HELO
  TlsPolicy tls = TlsPolicy::require;
  std::optional<Credentials> credentials;  // AUTH when set (see the header comment for when)
  bool peer_is_loopback = false;           // the transport sets it from the connected address
  bool use_pipelining = true;              // pipeline MAIL/RCPT/DATA when PIPELINING is offered
  std::size_t max_pipelined = 100;         // commands in flight at once when pipelining
  bool keep_open = false;                  // no QUIT after the message: see reusable()
  ReplyLimits reply_limits;
};

// What a connection that has delivered a message knows about its server, to deliver another.
struct Resumed {
  Capabilities capabilities;  // from the last EHLO (after STARTTLS, if any)
  bool tls_active = false;
  bool tls_verified = false;
  bool authenticated = false;
};

class ClientSession {
 public:
  // What the transport should do next, after writing take_output() (always first).
  enum class Want {
    read,           // read server bytes and feed() them (deadline: stage())
    tls_handshake,  // do the TLS client handshake, then tls_started() or tls_failed()
    body,           // stream the message: body() for each piece, then end_body()
    done,           // close the connection, writing nothing more; result() is final
  };

  // What the session waits for; the transport picks its deadline by it (RFC 5321 §4.5.3.2).
  enum class Stage { greeting, helo, starttls, auth, rset, mail, rcpt, data_init, data_block, data_end, quit, done };

  ClientSession(SessionOptions options, Envelope envelope);
  // On a connection a finished session left open (reusable()): RSET, then MAIL with what `resumed`
  // says the connection already has (capabilities, TLS, authentication).
  ClientSession(SessionOptions options, Envelope envelope, const Resumed& resumed);

  Want want() const;
  Stage stage() const;
  std::string take_output();

  // Transport events.
  void feed(std::string_view bytes);
  void tls_started(bool verified);                  // handshake done (verified: chain and name checked)
  void tls_failed(const std::string& reason);       // handshake or verification failed
  void body(std::string_view piece);                // only while want() == body
  void end_body();                                  // only while want() == body
  void body_failed(const std::string& reason);      // the source failed: abort without "."
  void connection_lost(const std::string& reason);  // EOF, reset, write error
  void timed_out();                                 // the deadline of stage() passed

  // Valid when want() == done; until then recipients not yet decided read as deferred.
  const DeliveryResult& result() const { return result_; }
  const Capabilities& capabilities() const { return caps_; }
  bool tls_active() const { return tls_active_; }
  bool tls_verified() const { return tls_verified_; }
  bool authenticated() const { return authenticated_; }
  Resumed resumed() const { return Resumed{caps_, tls_active_, tls_verified_, authenticated_}; }

  // When done: the connection is in a state to carry another message (keep_open, the transaction
  // ended with a reply other than 421 and nothing followed it; or a resumed session whose every
  // recipient was refused before anything was sent).
  bool reusable() const { return state_ == State::done && reusable_; }
  // When done: a resumed session's RSET was refused, timed out or lost the connection, so nothing
  // of the message was sent and its result says nothing about it; deliver it on another connection.
  bool probe_failed() const { return state_ == State::done && probe_failed_; }

 private:
  enum class State {
    greeting, ehlo, helo, starttls, tls, auth_plain, auth_login, auth_login_user, auth_login_pass,
    rset, transaction, body, data_end, quit, done,
  };
  enum class Rcpt { pending, accepted, decided };
  struct Pending {
    enum class Kind { mail, rcpt, data } kind;
    std::size_t index = 0;  // rcpt: recipient index
  };

  void on_reply(const ServerReply& reply);
  void on_greeting(const ServerReply& reply);
  void on_ehlo(const ServerReply& reply);
  void on_helo(const ServerReply& reply);
  void on_starttls(const ServerReply& reply);
  void on_auth(const ServerReply& reply);
  void on_rset(const ServerReply& reply);
  void on_transaction(const ServerReply& reply);
  void on_data_end(const ServerReply& reply);

  void after_hello();
  void start_auth();
  void start_transaction();
  void pump();
  void send(std::string command);
  void end_transaction();  // the message was refused: QUIT, or with keep_open leave it reusable
  void quit();
  void close();

  // Decides every recipient still open (pending or accepted).
  void decide_open(Outcome outcome, std::string status, int code, std::string diagnostic);
  void decide_open(const ServerReply& reply, Outcome outcome);
  void decide(std::size_t index, Outcome outcome, std::string status, int code, std::string diagnostic);
  // Session-level failure: defer everything still open, then QUIT.
  void defer_and_quit(std::string status, int code, std::string diagnostic);
  void defer_and_quit(const ServerReply& reply);
  void protocol_error(const std::string& why);
  std::size_t accepted_count() const;

  SessionOptions options_;
  Envelope envelope_;
  ReplyParser parser_;
  State state_ = State::greeting;
  std::string output_;
  Capabilities caps_;
  bool tls_active_ = false;
  bool tls_verified_ = false;
  bool authenticated_ = false;
  bool reusable_ = false;
  bool probe_failed_ = false;
  // Transaction.
  std::vector<Rcpt> rcpt_;
  std::deque<Pending> pending_;
  bool mail_sent_ = false;
  bool mail_ok_ = false;
  bool mail_refused_ = false;
  bool server_closing_ = false;  // a transaction reply was 421
  bool data_sent_ = false;
  bool body_discarded_ = false;  // 354 without accepted recipients: send only "."
  std::size_t next_rcpt_ = 0;
  DataEncoder encoder_;
  DeliveryResult result_;
};

}  // namespace sinetti::smtp::client
