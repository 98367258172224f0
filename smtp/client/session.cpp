#include "smtp/client/session.hpp"

#include <algorithm>
#include <cctype>
#include <utility>

#include "smtp/encoding.hpp"

namespace sinetti::smtp::client {

const char* to_string(Outcome o) {
  switch (o) {
    case Outcome::delivered: return "delivered";
    case Outcome::deferred: return "deferred";
    case Outcome::failed: return "failed";
  }
  return "deferred";
}

const char* to_string(TlsPolicy p) {
  switch (p) {
    case TlsPolicy::require: return "require";
    case TlsPolicy::opportunistic: return "opportunistic";
    case TlsPolicy::none: return "none";
  }
  return "require";
}

bool DeliveryResult::all(Outcome o) const {
  return std::all_of(recipients.begin(), recipients.end(), [o](const RecipientOutcome& r) { return r.outcome == o; });
}

namespace {

bool is_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// An address we can put between angle brackets in MAIL/RCPT without changing the command's meaning:
// RFC 5321 §4.5.3.1.3 path length, no controls, no brackets, a space only inside a quoted local
// part, and local@domain (or the bare "postmaster" RCPT TO allows, §4.1.1.3).
bool valid_address(std::string_view a) {
  if (a.empty() || a.size() > 254) return false;
  for (unsigned char c : a) {
    if (c < 0x20 || c == 0x7f || c == '<' || c == '>') return false;
  }
  const auto at = a.rfind('@');
  if (at == std::string_view::npos) {
    std::string lower(a);
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return lower == "postmaster";
  }
  const auto local = a.substr(0, at);
  const auto domain = a.substr(at + 1);
  if (local.empty() || domain.empty() || local.size() > 64) return false;
  if (domain.find(' ') != std::string_view::npos) return false;
  if (local.find(' ') != std::string_view::npos && !(local.size() >= 2 && local.front() == '"' && local.back() == '"')) {
    return false;
  }
  return true;
}

const char* stage_name(ClientSession::Stage s) {
  using S = ClientSession::Stage;
  switch (s) {
    case S::greeting: return "the greeting";
    case S::helo: return "the EHLO/HELO reply";
    case S::starttls: return "STARTTLS";
    case S::auth: return "the AUTH reply";
    case S::rset: return "the RSET reply";
    case S::mail: return "the MAIL FROM reply";
    case S::rcpt: return "the RCPT TO reply";
    case S::data_init: return "the DATA reply";
    case S::data_block: return "sending the message";
    case S::data_end: return "the reply to the end of data";
    case S::quit: return "the QUIT reply";
    case S::done: return "nothing";
  }
  return "the server";
}

}  // namespace

ClientSession::ClientSession(SessionOptions options, Envelope envelope)
    : options_(std::move(options)), envelope_(std::move(envelope)), parser_(options_.reply_limits) {
  rcpt_.assign(envelope_.recipients.size(), Rcpt::pending);
  for (const auto& r : envelope_.recipients) {
    result_.recipients.push_back(RecipientOutcome{r, Outcome::deferred, "4.4.2", 0, "not attempted"});
  }
  if (!envelope_.sender.empty() && !valid_address(envelope_.sender)) {
    decide_open(Outcome::failed, "5.1.7", 0, "bad sender address syntax");
  }
  for (std::size_t i = 0; i < rcpt_.size(); ++i) {
    if (!valid_address(envelope_.recipients[i])) decide(i, Outcome::failed, "5.1.3", 0, "bad recipient address syntax");
  }
  if (std::none_of(rcpt_.begin(), rcpt_.end(), [](Rcpt r) { return r == Rcpt::pending; })) state_ = State::done;
}

ClientSession::ClientSession(SessionOptions options, Envelope envelope, const Resumed& resumed)
    : ClientSession(std::move(options), std::move(envelope)) {
  caps_ = resumed.capabilities;
  tls_active_ = resumed.tls_active;
  tls_verified_ = resumed.tls_verified;
  authenticated_ = resumed.authenticated;
  if (state_ == State::done) {
    reusable_ = true;  // refused locally: the connection was not touched
    return;
  }
  // RFC 5321 §4.1.1.5: a clean transaction state whatever the last one left, and a cheap check
  // that the connection still answers before any of the message is committed to it.
  send("RSET");
  state_ = State::rset;
}

ClientSession::Want ClientSession::want() const {
  switch (state_) {
    case State::done: return Want::done;
    case State::tls: return Want::tls_handshake;
    case State::body: return Want::body;
    default: return Want::read;
  }
}

ClientSession::Stage ClientSession::stage() const {
  switch (state_) {
    case State::greeting: return Stage::greeting;
    case State::ehlo:
    case State::helo: return Stage::helo;
    case State::starttls:
    case State::tls: return Stage::starttls;
    case State::auth_plain:
    case State::auth_login:
    case State::auth_login_user:
    case State::auth_login_pass: return Stage::auth;
    case State::rset: return Stage::rset;
    case State::transaction:
      if (pending_.empty() || pending_.front().kind == Pending::Kind::mail) return Stage::mail;
      return pending_.front().kind == Pending::Kind::rcpt ? Stage::rcpt : Stage::data_init;
    case State::body: return Stage::data_block;
    case State::data_end: return Stage::data_end;
    case State::quit: return Stage::quit;
    case State::done: return Stage::done;
  }
  return Stage::done;
}

std::string ClientSession::take_output() { return std::exchange(output_, std::string()); }

void ClientSession::send(std::string command) {
  output_ += command;
  output_ += "\r\n";
}

namespace {
constexpr const char* injected_before_tls = "bytes after the STARTTLS reply, before the TLS handshake";
}  // namespace

void ClientSession::feed(std::string_view bytes) {
  std::string_view in = bytes;
  while (!in.empty() && state_ != State::done) {
    if (state_ == State::tls) {
      protocol_error(injected_before_tls);
      return;
    }
    if (state_ == State::body) {
      protocol_error("the server sent data while the message was being sent");
      return;
    }
    const auto status = parser_.parse(in);
    if (status == ReplyParser::Status::need_more) return;
    if (status == ReplyParser::Status::error) {
      protocol_error(parser_.error());
      return;
    }
    on_reply(parser_.take_reply());
    // A connection left open must be as quiet as a fresh one: bytes after the last reply are
    // something we do not understand, so it carries no more messages.
    if (state_ == State::done && reusable_ && (!in.empty() || !parser_.idle())) reusable_ = false;
    // RFC 3207 §4.2 and §6: nothing may follow the 220 to STARTTLS in the clear; bytes that do were
    // injected in front of the TLS session (or are an attack on us). Never act on them.
    if (state_ == State::tls && (!in.empty() || !parser_.idle())) {
      protocol_error(injected_before_tls);
      return;
    }
  }
}

void ClientSession::on_reply(const ServerReply& reply) {
  switch (state_) {
    case State::greeting: on_greeting(reply); break;
    case State::ehlo: on_ehlo(reply); break;
    case State::helo: on_helo(reply); break;
    case State::starttls: on_starttls(reply); break;
    case State::auth_plain:
    case State::auth_login:
    case State::auth_login_user:
    case State::auth_login_pass: on_auth(reply); break;
    case State::rset: on_rset(reply); break;
    case State::transaction: on_transaction(reply); break;
    case State::data_end: on_data_end(reply); break;
    case State::quit: close(); break;
    case State::tls:
    case State::body:
    case State::done: break;
  }
}

void ClientSession::on_greeting(const ServerReply& reply) {
  if (reply.code != 220) {
    defer_and_quit(reply);
    return;
  }
  send("EHLO " + options_.helo_name);
  state_ = State::ehlo;
}

void ClientSession::on_ehlo(const ServerReply& reply) {
  if (reply.kind() == 2) {
    caps_ = parse_ehlo(reply);
    after_hello();
  } else if (reply.kind() == 5 && !tls_active_) {
    // RFC 5321 §3.2: a server that does not know EHLO may still know HELO. Not after STARTTLS: a
    // server that took TLS speaks ESMTP, and falling back there would only lose capabilities.
    send("HELO " + options_.helo_name);
    state_ = State::helo;
  } else {
    defer_and_quit(reply);
  }
}

void ClientSession::on_helo(const ServerReply& reply) {
  if (reply.kind() != 2) {
    defer_and_quit(reply);
    return;
  }
  caps_ = Capabilities{};
  after_hello();
}

void ClientSession::after_hello() {
  if (!tls_active_ && options_.tls != TlsPolicy::none) {
    if (caps_.starttls) {
      send("STARTTLS");
      state_ = State::starttls;
      return;
    }
    if (options_.tls == TlsPolicy::require) {
      // Never fall back to the clear when TLS is required (RFC 3207 §4.1 leaves it to policy).
      defer_and_quit("4.7.4", 0, "TLS is required, but the server does not offer STARTTLS");
      return;
    }
  }
  if (options_.credentials && !authenticated_) {
    start_auth();
    return;
  }
  start_transaction();
}

void ClientSession::on_starttls(const ServerReply& reply) {
  if (reply.code == 220) {
    state_ = State::tls;
    return;
  }
  if (options_.tls == TlsPolicy::require) {
    defer_and_quit(reply);
    return;
  }
  // Opportunistic: the server offered STARTTLS but will not do it now; go on in the clear.
  caps_.starttls = false;
  if (options_.credentials && !authenticated_) {
    start_auth();
    return;
  }
  start_transaction();
}

void ClientSession::tls_started(bool verified) {
  if (state_ != State::tls) return;
  tls_active_ = true;
  tls_verified_ = verified;
  if (options_.tls == TlsPolicy::require && !verified) {
    decide_open(Outcome::deferred, "4.7.5", 0, "TLS is required, but the server's certificate was not verified");
    close();
    return;
  }
  // RFC 3207 §4.2: forget everything learnt before TLS and ask again.
  caps_ = Capabilities{};
  send("EHLO " + options_.helo_name);
  state_ = State::ehlo;
}

void ClientSession::tls_failed(const std::string& reason) {
  if (state_ == State::done) return;
  decide_open(Outcome::deferred, "4.7.5", 0, "TLS handshake failed: " + reason);
  close();
}

void ClientSession::start_auth() {
  const bool safe = (tls_active_ && tls_verified_) || options_.peer_is_loopback;
  if (!safe) {
    defer_and_quit("4.7.0", 0,
                   tls_active_ ? "not sending credentials over TLS whose certificate was not verified (use tls: require)"
                               : "not sending credentials without TLS to a server that is not on loopback");
    return;
  }
  const auto& c = *options_.credentials;
  if (caps_.offers_auth("PLAIN")) {
    // RFC 4616: authorization identity (empty), NUL, user, NUL, password, as the initial response.
    std::string message;
    message += '\0';
    message += c.username;
    message += '\0';
    message += c.password;
    send("AUTH PLAIN " + base64_encode(message));
    state_ = State::auth_plain;
  } else if (caps_.offers_auth("LOGIN")) {
    send("AUTH LOGIN");
    state_ = State::auth_login;
  } else {
    defer_and_quit("4.7.0", 0, "credentials are configured, but the server offers neither AUTH PLAIN nor AUTH LOGIN");
  }
}

void ClientSession::on_auth(const ServerReply& reply) {
  const auto& c = *options_.credentials;
  if (reply.kind() == 4 || reply.kind() == 5) {
    defer_and_quit(reply);
    return;
  }
  switch (state_) {
    case State::auth_plain:
    case State::auth_login_pass:
      if (reply.code != 235) {
        protocol_error("unexpected reply " + std::to_string(reply.code) + " to AUTH");
        return;
      }
      authenticated_ = true;
      start_transaction();
      return;
    case State::auth_login:
    case State::auth_login_user:
      if (reply.code != 334) {
        protocol_error("unexpected reply " + std::to_string(reply.code) + " to AUTH LOGIN");
        return;
      }
      if (state_ == State::auth_login) {
        send(base64_encode(c.username));
        state_ = State::auth_login_user;
      } else {
        send(base64_encode(c.password));
        state_ = State::auth_login_pass;
      }
      return;
    default: return;
  }
}

void ClientSession::on_rset(const ServerReply& reply) {
  if (reply.kind() == 2) {
    start_transaction();
    return;
  }
  probe_failed_ = true;
  if (reply.kind() == 4 || reply.kind() == 5) defer_and_quit(reply);
  else protocol_error("unexpected reply " + std::to_string(reply.code) + " to RSET");
}

void ClientSession::start_transaction() {
  const bool utf8_sender = !is_ascii(envelope_.sender);
  if (utf8_sender && !caps_.smtputf8) {
    decide_open(Outcome::failed, "5.6.7", 0, "the sender address needs SMTPUTF8, which the server does not offer");
    quit();
    return;
  }
  for (std::size_t i = 0; i < rcpt_.size(); ++i) {
    if (rcpt_[i] == Rcpt::pending && !is_ascii(envelope_.recipients[i]) && !caps_.smtputf8) {
      decide(i, Outcome::failed, "5.6.7", 0, "the recipient address needs SMTPUTF8, which the server does not offer");
    }
  }
  if (envelope_.size && caps_.max_size > 0 && *envelope_.size > caps_.max_size) {
    // RFC 1870 §6: do not send what the server said it would refuse.
    decide_open(Outcome::failed, "5.3.4", 0,
                "message size " + std::to_string(*envelope_.size) + " exceeds the server's limit of " +
                    std::to_string(caps_.max_size) + " bytes");
  }
  if (std::none_of(rcpt_.begin(), rcpt_.end(), [](Rcpt r) { return r == Rcpt::pending; })) {
    quit();
    return;
  }
  state_ = State::transaction;
  pump();
}

void ClientSession::pump() {
  const bool pipelining = caps_.pipelining && options_.use_pipelining;
  const std::size_t window = pipelining ? std::max<std::size_t>(1, options_.max_pipelined) : 1;
  if (!mail_sent_) {
    std::string mail = "MAIL FROM:<" + envelope_.sender + ">";
    if (caps_.size && envelope_.size) mail += " SIZE=" + std::to_string(*envelope_.size);
    if (caps_.eight_bit_mime && envelope_.eight_bit) mail += " BODY=8BITMIME";
    const bool utf8 = !is_ascii(envelope_.sender) ||
                      std::any_of(envelope_.recipients.begin(), envelope_.recipients.end(),
                                  [](const std::string& r) { return !is_ascii(r); });
    if (utf8 && caps_.smtputf8) mail += " SMTPUTF8";
    send(std::move(mail));
    pending_.push_back(Pending{Pending::Kind::mail, 0});
    mail_sent_ = true;
  }
  if (mail_refused_) return;
  while (next_rcpt_ < rcpt_.size() && pending_.size() < window) {
    const std::size_t i = next_rcpt_++;
    if (rcpt_[i] != Rcpt::pending) continue;  // refused locally (syntax, SMTPUTF8, size)
    send("RCPT TO:<" + envelope_.recipients[i] + ">");
    pending_.push_back(Pending{Pending::Kind::rcpt, i});
  }
  if (next_rcpt_ < rcpt_.size() || data_sent_ || pending_.size() >= window) return;
  // Without pipelining every RCPT reply is in: DATA only if one was accepted. With pipelining DATA
  // goes last in the group (RFC 2920 §3.1) and its reply tells what the server made of them.
  if (pending_.empty() && accepted_count() == 0) {
    end_transaction();
    return;
  }
  send("DATA");
  pending_.push_back(Pending{Pending::Kind::data, 0});
  data_sent_ = true;
}

void ClientSession::on_transaction(const ServerReply& reply) {
  if (pending_.empty()) {
    protocol_error("a reply nobody asked for");
    return;
  }
  const Pending p = pending_.front();
  pending_.pop_front();
  if (reply.code == 421) server_closing_ = true;
  switch (p.kind) {
    case Pending::Kind::mail:
      if (reply.kind() == 2) {
        mail_ok_ = true;
      } else if (reply.kind() == 4 || reply.kind() == 5) {
        mail_refused_ = true;
        decide_open(reply, reply.kind() == 5 ? Outcome::failed : Outcome::deferred);
      } else {
        protocol_error("unexpected reply " + std::to_string(reply.code) + " to MAIL FROM");
        return;
      }
      break;
    case Pending::Kind::rcpt:
      if (mail_refused_) break;  // pipelined after a refused MAIL: the MAIL reply decided
      if (reply.kind() == 2) {
        rcpt_[p.index] = Rcpt::accepted;
      } else if (reply.kind() == 4 || reply.kind() == 5) {
        // RFC 5321 §4.5.3.1.10: 452 "too many recipients" is transient; those go in a later attempt.
        decide(p.index, reply.kind() == 5 ? Outcome::failed : Outcome::deferred, reply.status(), reply.code,
               reply.diagnostic());
      } else {
        protocol_error("unexpected reply " + std::to_string(reply.code) + " to RCPT TO");
        return;
      }
      break;
    case Pending::Kind::data:
      if (reply.code == 354) {
        if (mail_refused_ || accepted_count() == 0) {
          // RFC 2920 §3.1: the server wants a message nobody will get; end it at once.
          body_discarded_ = true;
          output_ += ".\r\n";
          state_ = State::data_end;
        } else {
          state_ = State::body;
        }
        return;
      }
      if (reply.kind() == 4 || reply.kind() == 5) {
        if (!mail_refused_) decide_open(reply, reply.kind() == 5 ? Outcome::failed : Outcome::deferred);
        end_transaction();
        return;
      }
      protocol_error("unexpected reply " + std::to_string(reply.code) + " to DATA");
      return;
  }
  if (mail_refused_) {
    if (pending_.empty()) end_transaction();
    return;
  }
  pump();
}

void ClientSession::body(std::string_view piece) {
  if (state_ != State::body) return;
  encoder_.encode(piece, output_);
}

void ClientSession::end_body() {
  if (state_ != State::body) return;
  encoder_.finish(output_);
  state_ = State::data_end;
}

void ClientSession::body_failed(const std::string& reason) {
  if (state_ == State::done) return;
  // No "." — the connection is dropped so the server discards the partial message (RFC 5321 §6.1).
  output_.clear();
  decide_open(Outcome::deferred, "4.3.0", 0, "reading the message failed: " + reason);
  close();
}

void ClientSession::on_data_end(const ServerReply& reply) {
  if (!body_discarded_) {
    if (reply.kind() == 2) {
      decide_open(reply, Outcome::delivered);
    } else if (reply.kind() == 4 || reply.kind() == 5) {
      decide_open(reply, reply.kind() == 5 ? Outcome::failed : Outcome::deferred);
    } else {
      protocol_error("unexpected reply " + std::to_string(reply.code) + " to the end of data");
      return;
    }
  }
  // 421: the server is closing the connection (RFC 5321 §3.8); say goodbye as usual.
  if (options_.keep_open && reply.code != 421) {
    reusable_ = true;
    state_ = State::done;
    return;
  }
  quit();
}

void ClientSession::connection_lost(const std::string& reason) {
  if (state_ == State::done) return;
  if (state_ == State::rset) probe_failed_ = true;
  if (state_ != State::quit) {
    decide_open(Outcome::deferred, "4.4.2", 0, "connection lost while waiting for " + std::string(stage_name(stage())) +
                                                   ": " + reason);
  }
  close();
}

void ClientSession::timed_out() {
  if (state_ == State::done) return;
  if (state_ == State::rset) probe_failed_ = true;
  if (state_ != State::quit) {
    decide_open(Outcome::deferred, "4.4.2", 0, "timeout while waiting for " + std::string(stage_name(stage())));
  }
  close();
}

void ClientSession::end_transaction() {
  // The server refused the message (MAIL, every RCPT, or DATA) but not the session: with keep_open
  // the connection carries the next message, whose session starts with RSET, rather than being
  // closed and opened again. 421 means the server is closing (RFC 5321 §3.8): QUIT as usual.
  if (options_.keep_open && !server_closing_) {
    reusable_ = true;
    state_ = State::done;
    return;
  }
  quit();
}

void ClientSession::quit() {
  send("QUIT");
  state_ = State::quit;
}

void ClientSession::close() {
  decide_open(Outcome::deferred, "4.4.2", 0, "the session ended before delivery");
  state_ = State::done;
}

void ClientSession::protocol_error(const std::string& why) {
  if (state_ == State::rset) probe_failed_ = true;
  if (state_ != State::quit) decide_open(Outcome::deferred, "4.5.0", 0, "protocol error: " + why);
  close();
}

void ClientSession::defer_and_quit(std::string status, int code, std::string diagnostic) {
  decide_open(Outcome::deferred, std::move(status), code, std::move(diagnostic));
  quit();
}

void ClientSession::defer_and_quit(const ServerReply& reply) {
  // Session-level replies defer even when permanent (see the header comment); keep the server's
  // words and code but report a transient status.
  std::string status = reply.status();
  status[0] = '4';
  defer_and_quit(std::move(status), reply.code, reply.diagnostic());
}

void ClientSession::decide_open(Outcome outcome, std::string status, int code, std::string diagnostic) {
  for (std::size_t i = 0; i < rcpt_.size(); ++i) {
    if (rcpt_[i] != Rcpt::decided) decide(i, outcome, status, code, diagnostic);
  }
}

void ClientSession::decide_open(const ServerReply& reply, Outcome outcome) {
  decide_open(outcome, reply.status(), reply.code, reply.diagnostic());
}

void ClientSession::decide(std::size_t index, Outcome outcome, std::string status, int code, std::string diagnostic) {
  if (rcpt_[index] == Rcpt::decided) return;
  rcpt_[index] = Rcpt::decided;
  auto& r = result_.recipients[index];
  r.outcome = outcome;
  r.status = std::move(status);
  r.reply_code = code;
  r.diagnostic = std::move(diagnostic);
}

std::size_t ClientSession::accepted_count() const {
  return static_cast<std::size_t>(std::count(rcpt_.begin(), rcpt_.end(), Rcpt::accepted));
}

}  // namespace sinetti::smtp::client
