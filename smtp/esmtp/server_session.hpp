// Sans-IO ESMTP server session (RFC 5321) with STARTTLS (RFC 3207), SIZE (RFC 1870), PIPELINING
// (RFC 2920), 8BITMIME (RFC 6152), ENHANCEDSTATUSCODES (RFC 2034/3463) and AUTH PLAIN/LOGIN (RFC 4954,
// RFC 4616). Bytes in, reply bytes and events out; no sockets, no clock. Untrusted input: every byte
// a client sends. Every buffer is capped by SessionLimits; hitting a cap gives a protocol reply.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sinetti::smtp {

struct Reply {
  int code = 250;
  std::string enhanced;             // "2.0.0", empty for 220/221 greetings without one
  std::vector<std::string> lines;   // at least one
  std::string wire() const;         // "250-a\r\n250 b\r\n"
};

struct SessionLimits {
  std::size_t max_command_line = 512;        // RFC 5321 §4.5.3.1.4, including CRLF
  std::size_t max_text_line = 1000;          // RFC 5321 §4.5.3.1.6, including CRLF
  std::size_t max_recipients = 100;          // §4.5.3.1.8; more get 452
  std::uint64_t max_message_size = 35ull << 20;
  std::size_t max_header_bytes = 1 << 20;    // the message's header section
  std::size_t max_header_fields = 2000;
  std::size_t max_received = 100;            // §6.3: more Received: fields is a loop
  std::size_t max_errors = 10;               // then 421 and close
  std::size_t max_auth_line = 12288;         // an AUTH response line (RFC 4954 §4: at least 12288)
};

struct SessionPolicy {
  std::string hostname = "localhost";
  bool tls_available = false;   // STARTTLS offered (before TLS only)
  bool require_tls = false;     // MAIL refused before STARTTLS
  bool auth_available = false;  // AUTH offered, only after TLS
  bool require_auth = false;    // MAIL refused before AUTH
};

// What the host must act on. Data arrives dot-unstuffed, in order, in bounded pieces.
struct Event {
  enum class Kind {
    start_tls,    // "220 Ready" is in the output: write it, then do the TLS handshake, then tls_started()
    auth,         // check credentials, then auth_result()
    mail_from,    // a transaction began (sender accepted)
    rcpt_to,      // a recipient was accepted
    data_begin,   // 354 sent; message bytes follow as data events
    data,         // a piece of the message (CRLF line endings, dot-unstuffed)
    data_end,     // the final "." arrived; commit, then data_result()
    data_abort,   // the message was refused while arriving (size, loop, bare LF...): discard what was stored
    reset,        // RSET, or a new EHLO: forget the transaction
    close,        // the output ends with the last reply; close after writing it
  };
  Kind kind;
  std::string text;      // address for mail_from/rcpt_to, bytes for data, user for auth, mechanism reason...
  std::string secret;    // auth: the password (never log it)
};

// Synchronous checks the host answers at once (cheap policy: domains, networks, syntax).
class SessionHandler {
 public:
  virtual ~SessionHandler() = default;
  // nullopt accepts with 250; a reply refuses.
  virtual std::optional<Reply> check_sender(std::string_view address) = 0;
  virtual std::optional<Reply> check_recipient(std::string_view address) = 0;
};

class ServerSession {
 public:
  enum class State { command, auth_plain, auth_login_user, auth_login_pass, data, waiting, closed };

  ServerSession(SessionPolicy policy, SessionLimits limits, SessionHandler& handler);

  // The 220 greeting; call once at connection start.
  void greet();
  // Feeds received bytes; processes as far as possible. While waiting for the host (auth, data_end,
  // start_tls) bytes are kept and processed after the host answers.
  void feed(std::string_view bytes);
  // Host answers.
  void tls_started();                       // after a successful handshake
  void auth_result(bool ok);
  void data_result(const Reply& reply);     // 250 queued / 4xx / 5xx after data_end
  // Deadline passed (command idle or whole session): 421 and close.
  void timeout();
  // The service is stopping: 421 and close (the host calls it between transactions).
  void shutdown();

  std::string take_output();
  std::vector<Event> take_events();

  State state() const { return state_; }
  bool tls_active() const { return tls_active_; }
  bool authenticated() const { return authenticated_; }
  bool in_transaction() const { return in_transaction_; }  // MAIL accepted, not yet ended or reset
  const std::string& sender() const { return sender_; }
  // The client's HELO/EHLO name (untrusted, syntax-checked only), and whether it said EHLO.
  const std::string& helo() const { return helo_; }
  bool esmtp() const { return esmtp_; }
  const std::vector<std::string>& recipients() const { return recipients_; }

 private:
  enum class Waiting { none, tls, auth, data };

  void process();
  void process_input();
  // Drops the DATA lines consumed so far from the front of input_ (one move per process(), not
  // one per line), and empties it.
  void compact_input();
  void clear_input();
  void process_command_line(std::string_view line);
  bool process_data();  // false: needs more input
  void refuse_data(Reply reply);
  void finish_data();
  void reply(const Reply& r);
  void reply(int code, std::string enhanced, std::string text);
  void error(int code, std::string enhanced, std::string text);  // counts towards max_errors
  void emit(Event::Kind kind, std::string text = {}, std::string secret = {});
  void reset_transaction();
  void close_with(int code, std::string enhanced, std::string text);

  void ehlo(std::string_view args, bool extended);
  void cmd_ehlo_extended(std::string_view args);
  void cmd_helo(std::string_view args);
  void cmd_mail(std::string_view args);
  void cmd_rcpt(std::string_view args);
  void cmd_data(std::string_view args);
  void cmd_rset(std::string_view args);
  void cmd_noop(std::string_view args);
  void cmd_quit(std::string_view args);
  void cmd_vrfy(std::string_view args);
  void cmd_starttls(std::string_view args);
  void cmd_auth(std::string_view args);
  void auth_plain_response(std::string_view line);
  void auth_login_response(std::string_view line);

  friend struct VerbTable;

  SessionPolicy policy_;
  SessionLimits limits_;
  SessionHandler& handler_;
  State state_ = State::command;
  std::string input_;
  std::size_t data_pos_ = 0;  // in DATA: input_ before this is consumed
  std::string output_;
  std::vector<Event> events_;
  std::size_t errors_ = 0;
  bool greeted_ = false;        // EHLO/HELO seen since connect or TLS
  std::string helo_;
  bool esmtp_ = false;
  bool tls_active_ = false;
  bool authenticated_ = false;
  std::string auth_user_;
  // Transaction.
  bool in_transaction_ = false;
  std::string sender_;
  std::vector<std::string> recipients_;
  std::optional<std::uint64_t> declared_size_;
  // DATA.
  std::uint64_t data_size_ = 0;
  bool in_headers_ = true;
  std::size_t header_bytes_ = 0;
  std::size_t header_fields_ = 0;
  std::size_t received_fields_ = 0;
  std::optional<Reply> data_refusal_;  // decided while arriving; sent after the final "."
  std::string pending_data_;           // unstuffed bytes not yet emitted
  bool line_start_ = true;             // the next byte starts a line (not the tail of an overlong one)
  bool previous_crlf_ = true;          // the previous line ended with CRLF
  Waiting waiting_for_ = Waiting::none;
  bool discarding_ = false;            // inside an overlong command line
};

}  // namespace sinetti::smtp
