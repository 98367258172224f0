#include "smtp/esmtp/server_session.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <utility>

namespace sinetti::smtp {

std::string Reply::wire() const {
  std::string out;
  const std::string code_text = std::to_string(code);
  const std::vector<std::string> body = lines.empty() ? std::vector<std::string>{""} : lines;
  for (std::size_t i = 0; i < body.size(); ++i) {
    out += code_text;
    out += i + 1 == body.size() ? ' ' : '-';
    if (!enhanced.empty()) out += enhanced + " ";
    out += body[i];
    out += "\r\n";
  }
  return out;
}

namespace {

constexpr std::size_t data_event_bytes = 64 * 1024;

std::string upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

bool iequals_prefix(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(text[i])) != std::toupper(static_cast<unsigned char>(prefix[i]))) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// RFC 4648 base64 (AUTH responses). Returns nullopt on anything malformed.
std::optional<std::string> base64_decode(std::string_view in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (in.size() % 4 != 0) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      const char c = in[i + static_cast<std::size_t>(j)];
      if (c == '=' && i + 4 == in.size() && j >= 2) {
        v[j] = 0;
        ++pad;
      } else if (pad > 0 || (v[j] = value(c)) < 0) {
        return std::nullopt;
      }
    }
    const unsigned n = (static_cast<unsigned>(v[0]) << 18) | (static_cast<unsigned>(v[1]) << 12) |
                       (static_cast<unsigned>(v[2]) << 6) | static_cast<unsigned>(v[3]);
    out += static_cast<char>((n >> 16) & 0xff);
    if (pad < 2) out += static_cast<char>((n >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(n & 0xff);
  }
  return out;
}

struct PathError {
  int code;
  const char* enhanced;
  const char* text;
};

// Parses "<local@domain>" (RFC 5321 §4.1.2 Path, source route dropped) into the address.
// Limits from §4.5.3.1: local-part 64, domain 255, path 256 octets.
std::optional<PathError> parse_path(std::string_view path, bool allow_null, std::string& address) {
  if (path.size() > 256) return PathError{501, "5.1.3", "Path too long"};
  if (path.size() < 2 || path.front() != '<' || path.back() != '>') return PathError{501, "5.1.7", "Bad address syntax"};
  std::string_view inner = path.substr(1, path.size() - 2);
  if (inner.empty()) {
    if (!allow_null) return PathError{501, "5.1.3", "Bad recipient address syntax"};
    address.clear();
    return std::nullopt;
  }
  if (inner.front() == '@') {  // source route: <@a,@b:user@host>
    const auto colon = inner.find(':');
    if (colon == std::string_view::npos) return PathError{501, "5.1.7", "Bad address syntax"};
    inner.remove_prefix(colon + 1);
  }
  for (unsigned char c : inner) {
    if (c >= 0x80) return PathError{553, "5.6.7", "Non-ASCII addresses are not supported (no SMTPUTF8)"};
    if (c < 0x21 || c == 0x7f) {
      if (c != ' ') return PathError{501, "5.1.7", "Bad address syntax"};
    }
  }
  const auto at = inner.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == inner.size()) {
    return PathError{501, "5.1.7", "Bad address syntax"};
  }
  const std::string_view local = inner.substr(0, at);
  const std::string_view domain = inner.substr(at + 1);
  if (local.size() > 64) return PathError{501, "5.1.3", "Local part too long"};
  if (domain.size() > 255) return PathError{501, "5.1.3", "Domain too long"};
  if (!local.starts_with('"') && local.find(' ') != std::string_view::npos) return PathError{501, "5.1.7", "Bad address syntax"};
  for (char c : domain) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '[' || c == ']' || c == ':';
    if (!ok) return PathError{501, "5.1.2", "Bad domain syntax"};
  }
  address = std::string(inner);
  return std::nullopt;
}

}  // namespace

// One table drives the verbs (CONVENTIONS: like Postfix's smtpd command table): what is allowed
// before TLS on a listener that requires it, what needs a greeting first, and which commands end a
// pipelined group (RFC 2920 §3.1); after STARTTLS anything already buffered is discarded (RFC 3207
// §4.2 — command injection).
struct VerbTable {
  struct Verb {
    std::string_view name;
    void (ServerSession::*handler)(std::string_view);
    bool before_tls;   // allowed before STARTTLS when TLS is required
    bool ends_group;   // must be the last command of a pipelined group
  };
  static const Verb* find(std::string_view name) {
    static const std::array<Verb, 11> verbs{{
        {"EHLO", &ServerSession::cmd_ehlo_extended, true, true},
        {"HELO", &ServerSession::cmd_helo, true, true},
        {"MAIL", &ServerSession::cmd_mail, false, false},
        {"RCPT", &ServerSession::cmd_rcpt, false, false},
        {"DATA", &ServerSession::cmd_data, false, true},
        {"RSET", &ServerSession::cmd_rset, true, false},
        {"NOOP", &ServerSession::cmd_noop, true, true},
        {"QUIT", &ServerSession::cmd_quit, true, true},
        {"VRFY", &ServerSession::cmd_vrfy, false, true},
        {"STARTTLS", &ServerSession::cmd_starttls, true, true},
        {"AUTH", &ServerSession::cmd_auth, false, true},
    }};
    for (const auto& v : verbs) {
      if (v.name == name) return &v;
    }
    return nullptr;
  }
};

ServerSession::ServerSession(SessionPolicy policy, SessionLimits limits, SessionHandler& handler)
    : policy_(std::move(policy)), limits_(limits), handler_(handler) {}

void ServerSession::greet() { reply(220, "", policy_.hostname + " ESMTP Sinetti"); }

std::string ServerSession::take_output() { return std::exchange(output_, {}); }
std::vector<Event> ServerSession::take_events() { return std::exchange(events_, {}); }

void ServerSession::reply(const Reply& r) { output_ += r.wire(); }

void ServerSession::reply(int code, std::string enhanced, std::string text) {
  reply(Reply{code, std::move(enhanced), {std::move(text)}});
}

void ServerSession::emit(Event::Kind kind, std::string text, std::string secret) {
  events_.push_back(Event{kind, std::move(text), std::move(secret)});
}

void ServerSession::close_with(int code, std::string enhanced, std::string text) {
  reply(code, std::move(enhanced), std::move(text));
  if (state_ == State::data) emit(Event::Kind::data_abort);
  state_ = State::closed;
  clear_input();
  emit(Event::Kind::close);
}

void ServerSession::error(int code, std::string enhanced, std::string text) {
  if (++errors_ >= limits_.max_errors) {
    close_with(421, "4.7.0", policy_.hostname + " Error: too many errors");
    return;
  }
  reply(code, std::move(enhanced), std::move(text));
}

void ServerSession::reset_transaction() {
  in_transaction_ = false;
  sender_.clear();
  recipients_.clear();
  declared_size_.reset();
}

void ServerSession::feed(std::string_view bytes) {
  if (state_ == State::closed) return;
  if (state_ == State::waiting && waiting_for_ == Waiting::tls) return;  // plaintext during the handshake: dropped
  input_.append(bytes);
  process();
}

void ServerSession::compact_input() {
  input_.erase(0, std::exchange(data_pos_, 0));
}

void ServerSession::clear_input() {
  input_.clear();
  data_pos_ = 0;
}

void ServerSession::process() {
  process_input();
  compact_input();
}

void ServerSession::process_input() {
  while (state_ != State::closed && state_ != State::waiting) {
    if (state_ == State::data) {
      if (!process_data()) return;
      continue;
    }
    compact_input();  // command lines are read from the front
    const auto lf = input_.find('\n');
    if (lf == std::string::npos) {
      const std::size_t cap = state_ == State::command ? limits_.max_command_line : limits_.max_auth_line;
      if (input_.size() > cap) {  // keep nothing of an overlong line; answer when it ends
        discarding_ = true;
        clear_input();
      }
      return;
    }
    std::string line = input_.substr(0, lf);
    input_.erase(0, lf + 1);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (std::exchange(discarding_, false) || line.size() + 2 > (state_ == State::command ? limits_.max_command_line : limits_.max_auth_line)) {
      error(500, "5.5.2", "Error: line too long");
      if (state_ != State::command && state_ != State::closed) state_ = State::command;
      continue;
    }
    switch (state_) {
      case State::command: process_command_line(line); break;
      case State::auth_plain: auth_plain_response(line); break;
      case State::auth_login_user:
      case State::auth_login_pass: auth_login_response(line); break;
      default: break;
    }
  }
}

void ServerSession::process_command_line(std::string_view line) {
  const auto space = line.find(' ');
  const std::string verb = upper(line.substr(0, space));
  const std::string_view args = space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
  const auto* v = VerbTable::find(verb);
  if (v == nullptr) {
    error(500, "5.5.2", "Error: command not recognized");
    return;
  }
  if (policy_.require_tls && !tls_active_ && !v->before_tls) {
    error(530, "5.7.0", "Must issue a STARTTLS command first");
    return;
  }
  (this->*(v->handler))(args);
}

void ServerSession::cmd_helo(std::string_view args) { ehlo(args, false); }
void ServerSession::cmd_ehlo_extended(std::string_view args) { ehlo(args, true); }

void ServerSession::ehlo(std::string_view args, bool extended) {
  const std::string_view domain = trim(args);
  if (domain.empty() || domain.find(' ') != std::string_view::npos) {
    error(501, "5.5.4", std::string("Syntax: ") + (extended ? "EHLO" : "HELO") + " hostname");
    return;
  }
  if (in_transaction_) emit(Event::Kind::reset);
  reset_transaction();
  greeted_ = true;
  esmtp_ = extended;
  helo_ = std::string(domain.substr(0, 255));
  if (!extended) {
    reply(250, "", policy_.hostname);
    return;
  }
  Reply r{250, "", {policy_.hostname, "PIPELINING", "SIZE " + std::to_string(limits_.max_message_size), "8BITMIME",
                    "ENHANCEDSTATUSCODES"}};
  if (policy_.tls_available && !tls_active_) r.lines.push_back("STARTTLS");
  if (policy_.auth_available && tls_active_ && !authenticated_) r.lines.push_back("AUTH PLAIN LOGIN");
  reply(r);
}

void ServerSession::cmd_mail(std::string_view args) {
  if (!greeted_) return error(503, "5.5.1", "Error: send HELO/EHLO first");
  if (in_transaction_) return error(503, "5.5.1", "Error: nested MAIL command");
  if (policy_.require_auth && !authenticated_) return error(530, "5.7.0", "Authentication required");
  if (!iequals_prefix(args, "FROM:")) return error(501, "5.5.4", "Syntax: MAIL FROM:<address>");
  std::string_view rest = trim(args.substr(5));
  const auto end = rest.find('>');
  if (end == std::string_view::npos) return error(501, "5.1.7", "Bad sender address syntax");
  std::string address;
  if (auto e = parse_path(rest.substr(0, end + 1), true, address)) return error(e->code, e->enhanced, e->text);
  std::optional<std::uint64_t> size;
  std::string_view params = trim(rest.substr(end + 1));
  while (!params.empty()) {
    const auto sp = params.find(' ');
    const std::string_view param = params.substr(0, sp);
    params = sp == std::string_view::npos ? std::string_view() : trim(params.substr(sp + 1));
    const auto eq = param.find('=');
    const std::string key = upper(param.substr(0, eq));
    const std::string_view value = eq == std::string_view::npos ? std::string_view() : param.substr(eq + 1);
    if (!esmtp_) return error(555, "5.5.4", "Error: parameters need EHLO");
    if (key == "SIZE") {
      std::uint64_t n = 0;
      const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc{} || p != value.data() + value.size() || value.empty()) return error(501, "5.5.4", "Bad SIZE parameter");
      if (n > limits_.max_message_size) return error(552, "5.3.4", "Message size exceeds fixed limit");
      size = n;
    } else if (key == "BODY") {
      const std::string body = upper(value);
      if (body != "7BIT" && body != "8BITMIME") return error(555, "5.5.4", "Unsupported BODY type");
    } else if (key == "AUTH") {
      // RFC 4954 §5: accepted and ignored; we do not relay the identity.
    } else {
      return error(555, "5.5.4", "Unsupported option: " + key);
    }
  }
  if (auto refused = handler_.check_sender(address)) return reply(*refused);
  in_transaction_ = true;
  sender_ = address;
  declared_size_ = size;
  emit(Event::Kind::mail_from, address);
  reply(250, "2.1.0", "Ok");
}

void ServerSession::cmd_rcpt(std::string_view args) {
  if (!in_transaction_) return error(503, "5.5.1", "Error: need MAIL command");
  if (!iequals_prefix(args, "TO:")) return error(501, "5.5.4", "Syntax: RCPT TO:<address>");
  std::string_view rest = trim(args.substr(3));
  const auto end = rest.find('>');
  if (end == std::string_view::npos) return error(501, "5.1.3", "Bad recipient address syntax");
  if (!trim(rest.substr(end + 1)).empty()) return error(555, "5.5.4", "Unsupported RCPT parameter");
  std::string address;
  if (auto e = parse_path(rest.substr(0, end + 1), false, address)) return error(e->code, e->enhanced, e->text);
  if (recipients_.size() >= limits_.max_recipients) return reply(452, "4.5.3", "Error: too many recipients");
  if (auto refused = handler_.check_recipient(address)) {
    if (refused->code >= 500) ++errors_;
    if (errors_ >= limits_.max_errors) return close_with(421, "4.7.0", policy_.hostname + " Error: too many errors");
    return reply(*refused);
  }
  recipients_.push_back(address);
  emit(Event::Kind::rcpt_to, address);
  reply(250, "2.1.5", "Ok");
}

void ServerSession::cmd_data(std::string_view args) {
  if (!trim(args).empty()) return error(501, "5.5.4", "Syntax: DATA");
  if (!in_transaction_) return error(503, "5.5.1", "Error: need MAIL command");
  if (recipients_.empty()) return error(503, "5.5.1", "Error: need RCPT command");
  state_ = State::data;
  data_size_ = 0;
  in_headers_ = true;
  header_bytes_ = 0;
  header_fields_ = 0;
  received_fields_ = 0;
  data_refusal_.reset();
  pending_data_.clear();
  line_start_ = true;
  previous_crlf_ = true;
  emit(Event::Kind::data_begin);
  reply(354, "", "End data with <CR><LF>.<CR><LF>");
}

void ServerSession::refuse_data(Reply r) {
  if (data_refusal_) return;
  data_refusal_ = std::move(r);
  pending_data_.clear();
  emit(Event::Kind::data_abort);
}

bool ServerSession::process_data() {
  const auto lf = input_.find('\n', data_pos_);
  if (lf == std::string::npos) {
    // A line longer than the limit: refuse the message, keep only a possible trailing CR. The dot
    // added for transparency does not count (RFC 5321 §4.5.3.1.6).
    const std::size_t rest = input_.size() - data_pos_;
    const std::size_t stuffing = line_start_ && rest > 0 && input_[data_pos_] == '.' ? 1 : 0;
    if (rest > limits_.max_text_line + stuffing) {
      refuse_data(Reply{500, "5.5.2", {"Error: message line longer than " + std::to_string(limits_.max_text_line) + " bytes"}});
      data_size_ += rest;
      const bool cr = input_.back() == '\r';
      clear_input();
      if (cr) input_ = "\r";
      line_start_ = false;
    }
    return false;
  }
  std::string_view line(input_.data() + data_pos_, lf - data_pos_);
  const bool crlf = !line.empty() && line.back() == '\r';
  if (crlf) line.remove_suffix(1);
  // End of data is only <CRLF>.<CRLF> (RFC 5321 §4.1.1.4); anything else is message content.
  if (line_start_ && previous_crlf_ && crlf && line == ".") {
    data_pos_ = lf + 1;
    finish_data();
    return true;
  }
  if (!crlf) refuse_data(Reply{550, "5.5.2", {"Error: bare <LF> received; lines must end with <CR><LF>"}});
  if (line.find('\r') != std::string_view::npos) refuse_data(Reply{550, "5.5.2", {"Error: bare <CR> received"}});
  const std::size_t stuffing = line_start_ && line.starts_with('.') ? 1 : 0;  // not counted (§4.5.3.1.6)
  const std::size_t line_bytes = line.size() + 2 - stuffing;
  if (line_start_ && line_bytes > limits_.max_text_line) {
    refuse_data(Reply{500, "5.5.2", {"Error: message line longer than " + std::to_string(limits_.max_text_line) + " bytes"}});
  }
  if (line_start_ && line.starts_with('.')) line.remove_prefix(1);  // dot-unstuffing (§4.5.2)
  data_size_ += line.size() + 2;
  if (data_size_ > limits_.max_message_size) refuse_data(Reply{552, "5.3.4", {"Error: message size exceeds fixed limit"}});
  if (in_headers_ && line_start_) {
    if (line.empty()) {
      in_headers_ = false;
    } else {
      header_bytes_ += line.size() + 2;
      if (line.front() != ' ' && line.front() != '\t') {
        ++header_fields_;
        if (iequals_prefix(line, "Received:")) ++received_fields_;
      }
      if (header_bytes_ > limits_.max_header_bytes || header_fields_ > limits_.max_header_fields) {
        refuse_data(Reply{552, "5.3.4", {"Error: message header section too large"}});
      }
      if (received_fields_ > limits_.max_received) {
        refuse_data(Reply{554, "5.4.6", {"Error: too many hops (mail loop?)"}});  // RFC 5321 §6.3
      }
    }
  }
  if (!data_refusal_) {
    pending_data_.append(line);
    pending_data_ += "\r\n";
    if (pending_data_.size() >= data_event_bytes) emit(Event::Kind::data, std::exchange(pending_data_, {}));
  }
  data_pos_ = lf + 1;
  line_start_ = true;
  previous_crlf_ = crlf;
  return true;
}

void ServerSession::finish_data() {
  if (data_refusal_) {
    reply(*data_refusal_);
    ++errors_;
    data_refusal_.reset();
    reset_transaction();
    state_ = State::command;
    if (errors_ >= limits_.max_errors) close_with(421, "4.7.0", policy_.hostname + " Error: too many errors");
    return;
  }
  if (!pending_data_.empty()) emit(Event::Kind::data, std::exchange(pending_data_, {}));
  emit(Event::Kind::data_end);
  state_ = State::waiting;
  waiting_for_ = Waiting::data;
}

void ServerSession::data_result(const Reply& r) {
  if (state_ != State::waiting || waiting_for_ != Waiting::data) return;
  reply(r);
  reset_transaction();
  state_ = State::command;
  waiting_for_ = Waiting::none;
  process();
}

void ServerSession::cmd_rset(std::string_view args) {
  if (!trim(args).empty()) return error(501, "5.5.4", "Syntax: RSET");
  if (in_transaction_) emit(Event::Kind::reset);
  reset_transaction();
  reply(250, "2.0.0", "Ok");
}

void ServerSession::cmd_noop(std::string_view) { reply(250, "2.0.0", "Ok"); }

void ServerSession::cmd_quit(std::string_view) {
  reply(221, "2.0.0", "Bye");
  state_ = State::closed;
  clear_input();
  emit(Event::Kind::close);
}

void ServerSession::cmd_vrfy(std::string_view args) {
  if (trim(args).empty()) return error(501, "5.5.4", "Syntax: VRFY address");
  reply(252, "2.5.2", "Cannot VRFY user, but will accept message and attempt delivery");
}

void ServerSession::cmd_starttls(std::string_view args) {
  if (!trim(args).empty()) return error(501, "5.5.4", "Syntax: STARTTLS");
  if (!policy_.tls_available || tls_active_) return error(502, "5.5.1", "Error: command not implemented");
  if (in_transaction_) return error(503, "5.5.1", "Error: MAIL transaction in progress");
  reply(220, "2.0.0", "Ready to start TLS");
  clear_input();  // RFC 3207 §4.2: nothing sent before the handshake may be used after it
  state_ = State::waiting;
  waiting_for_ = Waiting::tls;
  emit(Event::Kind::start_tls);
}

void ServerSession::tls_started() {
  if (state_ != State::waiting || waiting_for_ != Waiting::tls) return;
  tls_active_ = true;
  // RFC 3207 §4.2: forget everything learned before TLS; the client must EHLO again.
  greeted_ = false;
  esmtp_ = false;
  authenticated_ = false;
  reset_transaction();
  clear_input();
  state_ = State::command;
  waiting_for_ = Waiting::none;
}

void ServerSession::cmd_auth(std::string_view args) {
  if (!policy_.auth_available || !tls_active_) return error(502, "5.5.1", "Error: authentication not enabled");
  if (!greeted_ || !esmtp_) return error(503, "5.5.1", "Error: send EHLO first");
  if (authenticated_) return error(503, "5.5.1", "Error: already authenticated");
  if (in_transaction_) return error(503, "5.5.1", "Error: MAIL transaction in progress");
  args = trim(args);
  const auto sp = args.find(' ');
  const std::string mechanism = upper(args.substr(0, sp));
  const std::string_view initial = sp == std::string_view::npos ? std::string_view() : trim(args.substr(sp + 1));
  if (mechanism == "PLAIN") {
    if (initial.empty()) {
      state_ = State::auth_plain;
      reply(334, "", "");
      return;
    }
    auth_plain_response(initial);
  } else if (mechanism == "LOGIN") {
    if (initial.empty()) {
      state_ = State::auth_login_user;
      reply(334, "", "VXNlcm5hbWU6");  // "Username:"
      return;
    }
    state_ = State::auth_login_user;
    auth_login_response(initial);
  } else {
    error(504, "5.5.4", "Error: unsupported authentication mechanism");
  }
}

void ServerSession::auth_plain_response(std::string_view line) {
  state_ = State::command;
  if (line == "*") return error(501, "5.7.0", "Authentication cancelled");
  const auto decoded = line == "=" ? std::optional<std::string>("") : base64_decode(line);
  if (!decoded) return error(501, "5.5.2", "Error: cannot decode response");
  // RFC 4616: [authzid] NUL authcid NUL passwd
  const auto first = decoded->find('\0');
  const auto second = first == std::string::npos ? std::string::npos : decoded->find('\0', first + 1);
  if (second == std::string::npos) return error(501, "5.5.2", "Error: malformed PLAIN response");
  std::string user = decoded->substr(first + 1, second - first - 1);
  std::string password = decoded->substr(second + 1);
  if (user.empty()) return error(501, "5.5.2", "Error: malformed PLAIN response");
  auth_user_ = user;
  state_ = State::waiting;
  waiting_for_ = Waiting::auth;
  emit(Event::Kind::auth, std::move(user), std::move(password));
}

void ServerSession::auth_login_response(std::string_view line) {
  if (line == "*") {
    state_ = State::command;
    return error(501, "5.7.0", "Authentication cancelled");
  }
  const auto decoded = base64_decode(line);
  if (!decoded) {
    state_ = State::command;
    return error(501, "5.5.2", "Error: cannot decode response");
  }
  if (state_ == State::auth_login_user) {
    if (decoded->empty()) {
      state_ = State::command;
      return error(501, "5.5.2", "Error: empty user name");
    }
    auth_user_ = *decoded;
    state_ = State::auth_login_pass;
    reply(334, "", "UGFzc3dvcmQ6");  // "Password:"
    return;
  }
  state_ = State::waiting;
  waiting_for_ = Waiting::auth;
  emit(Event::Kind::auth, auth_user_, *decoded);
}

void ServerSession::auth_result(bool ok) {
  if (state_ != State::waiting || waiting_for_ != Waiting::auth) return;
  state_ = State::command;
  waiting_for_ = Waiting::none;
  if (ok) {
    authenticated_ = true;
    reply(235, "2.7.0", "Authentication successful");
  } else {
    auth_user_.clear();
    error(535, "5.7.8", "Error: authentication failed");
  }
  process();
}

void ServerSession::timeout() {
  if (state_ == State::closed) return;
  close_with(421, "4.4.2", policy_.hostname + " Error: timeout exceeded");
}

void ServerSession::shutdown() {
  if (state_ == State::closed) return;
  close_with(421, "4.3.2", policy_.hostname + " Service shutting down, try again later");
}

}  // namespace sinetti::smtp
