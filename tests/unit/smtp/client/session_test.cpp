// The sans-IO SMTP client session: golden transcripts (tests/data/smtp_client/NAME.in -> NAME.ref)
// whose server bytes are fed whole, split at every byte offset and byte by byte, all giving the same
// client bytes and outcomes; plus targeted cases for what transcripts cannot express.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>

#include "smtp/client/session.hpp"

using namespace sinetti::smtp::client;
namespace fs = std::filesystem;

namespace {

const fs::path data_dir = fs::path(SINETTI_TEST_DATA_DIR) / "smtp_client";

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// What the transport does at a marker between server segments.
enum class Marker { tls, tls_unverified, tls_fail, body, body_fail };

struct Transcript {
  SessionOptions options;
  Envelope envelope;
  std::string body = "Subject: test\n\n.leading dot\nbare LF\nCRLF\r\n..two dots";
  std::vector<std::string> segments;  // server bytes between markers
  std::vector<Marker> markers;        // markers[i] sits between segments[i] and segments[i + 1]
};

std::vector<std::string> split_list(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string item; std::getline(in, item, sep);) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

std::string unescape(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      const char c = s[++i];
      out += c == 'n' ? '\n' : c == 'r' ? '\r' : c;
    } else {
      out += s[i];
    }
  }
  return out;
}

// .in files are written with LF line ends for readability; every LF becomes CRLF on the wire.
// Header lines:  # options: key[=value],...   # envelope: from=A;to=B;to=C;size=N;7bit   # body: TEXT
// (from=<> is the null sender; without from= the sender is sender@example.fi). Markers <<<TLS>>>,
// <<<TLS-UNVERIFIED>>>, <<<TLS-FAIL>>>, <<<BODY>>>, <<<BODY-FAIL>>> stand where the transport acts.
Transcript load(const std::string& name) {
  Transcript t;
  t.options.helo_name = "gw.example.fi";
  t.options.tls = TlsPolicy::none;
  std::istringstream in(read_file(data_dir / (name + ".in")));
  std::string server;
  bool sender_given = false;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("# options: ")) {
      for (const auto& opt : split_list(line.substr(11), ',')) {
        if (opt == "tls=require") t.options.tls = TlsPolicy::require;
        else if (opt == "tls=opportunistic") t.options.tls = TlsPolicy::opportunistic;
        else if (opt == "tls=none") t.options.tls = TlsPolicy::none;
        else if (opt == "loopback") t.options.peer_is_loopback = true;
        else if (opt == "no_pipelining") t.options.use_pipelining = false;
        else if (opt.starts_with("max_pipelined=")) t.options.max_pipelined = std::stoul(opt.substr(14));
        else if (opt.starts_with("auth=")) {
          const auto colon = opt.find(':');
          t.options.credentials = Credentials{opt.substr(5, colon - 5), opt.substr(colon + 1)};
        } else if (opt.starts_with("max_line=")) t.options.reply_limits.max_line = std::stoul(opt.substr(9));
        else if (opt.starts_with("max_lines=")) t.options.reply_limits.max_lines = std::stoul(opt.substr(10));
        else BOOST_FAIL(name + ": unknown option " + opt);
      }
    } else if (line.starts_with("# envelope: ")) {
      for (const auto& item : split_list(line.substr(12), ';')) {
        if (item.starts_with("from=")) {
          t.envelope.sender = item == "from=<>" ? "" : item.substr(5);
          sender_given = true;
        }
        else if (item.starts_with("to=")) t.envelope.recipients.push_back(item.substr(3));
        else if (item.starts_with("size=")) t.envelope.size = std::stoull(item.substr(5));
        else if (item == "7bit") t.envelope.eight_bit = false;
        else BOOST_FAIL(name + ": unknown envelope item " + item);
      }
    } else if (line.starts_with("# body: ")) {
      t.body = unescape(line.substr(8));
    } else if (line.starts_with("#")) {
      continue;  // a comment
    } else if (line.starts_with("<<<") && line.ends_with(">>>")) {
      const std::string m = line.substr(3, line.size() - 6);
      if (m == "TLS") t.markers.push_back(Marker::tls);
      else if (m == "TLS-UNVERIFIED") t.markers.push_back(Marker::tls_unverified);
      else if (m == "TLS-FAIL") t.markers.push_back(Marker::tls_fail);
      else if (m == "BODY") t.markers.push_back(Marker::body);
      else if (m == "BODY-FAIL") t.markers.push_back(Marker::body_fail);
      else BOOST_FAIL(name + ": unknown marker " + m);
      t.segments.push_back(std::exchange(server, {}));
    } else {
      server += line + "\r\n";
    }
  }
  t.segments.push_back(server);
  if (t.envelope.recipients.empty()) t.envelope.recipients.push_back("rcpt@example.com");
  if (!sender_given) t.envelope.sender = "sender@example.fi";
  return t;
}

struct Run {
  // The client's bytes between the transport's actions, and the actions ("TLS", "BODY", "EOF").
  std::vector<std::pair<std::string, std::string>> log;  // {bytes, action after them}
  std::string output;                                     // all client bytes
  DeliveryResult result;
};

// Feeds each segment in the pieces `split` gives; at each marker does what a transport does when the
// session wants it. Body pieces: 7 bytes each, so CRLF pairs and leading dots fall across pieces.
Run run(const Transcript& t, const std::function<std::vector<std::string>(const std::string&)>& split) {
  ClientSession s(t.options, t.envelope);
  Run r;
  using Want = ClientSession::Want;
  std::string chunk;
  auto drain = [&] { chunk += s.take_output(); };
  auto action = [&](const std::string& what) {
    r.output += chunk;
    r.log.emplace_back(std::exchange(chunk, {}), what);
  };
  drain();
  for (std::size_t seg = 0; seg < t.segments.size() && s.want() != Want::done; ++seg) {
    for (const auto& piece : split(t.segments[seg])) {
      if (s.want() == Want::done) break;
      s.feed(piece);
      drain();
    }
    if (seg >= t.markers.size() || s.want() == Want::done) continue;
    switch (t.markers[seg]) {
      case Marker::tls:
      case Marker::tls_unverified:
      case Marker::tls_fail:
        if (s.want() != Want::tls_handshake) {
          action("!! expected a TLS handshake");
          break;
        }
        action(t.markers[seg] == Marker::tls_fail ? "TLS handshake fails" : "TLS");
        if (t.markers[seg] == Marker::tls_fail) s.tls_failed("certificate verify failed");
        else s.tls_started(t.markers[seg] == Marker::tls);
        break;
      case Marker::body:
      case Marker::body_fail:
        if (s.want() != Want::body) {
          action("!! expected the body");
          break;
        }
        action(t.markers[seg] == Marker::body_fail ? "BODY (the source fails)" : "BODY");
        if (t.markers[seg] == Marker::body_fail) {
          s.body(t.body.substr(0, 10));
          s.body_failed("authentication tag mismatch");
        } else {
          for (std::size_t i = 0; i < t.body.size(); i += 7) s.body(t.body.substr(i, 7));
          s.end_body();
        }
        break;
    }
    drain();
  }
  if (s.want() != ClientSession::Want::done) {
    action("EOF");
    s.connection_lost("end of transcript");
    drain();
  }
  action("");
  r.result = s.result();
  return r;
}

// The client's bytes as readable lines: "C: " per CRLF-terminated line; a stray CR or LF is shown.
std::string render(const Run& r) {
  std::string out;
  for (const auto& [bytes, what] : r.log) {
    std::size_t pos = 0;
    while (pos < bytes.size()) {
      auto eol = bytes.find("\r\n", pos);
      std::string line = bytes.substr(pos, eol == std::string::npos ? std::string::npos : eol - pos);
      std::string shown;
      for (char c : line) shown += c == '\r' ? std::string("<CR>") : c == '\n' ? std::string("<LF>") : std::string(1, c);
      out += "C: " + shown + (eol == std::string::npos ? " <no CRLF>" : "") + "\n";
      if (eol == std::string::npos) break;
      pos = eol + 2;
    }
    if (!what.empty()) out += "-- " + what + "\n";
  }
  for (const auto& rc : r.result.recipients) {
    out += "=> " + rc.recipient + " " + to_string(rc.outcome) + " " + rc.status + " " + std::to_string(rc.reply_code) +
           " " + rc.diagnostic + "\n";
  }
  return out;
}

std::vector<std::string> whole(const std::string& s) { return {s}; }

std::vector<std::string> golden_names() {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(data_dir)) {
    if (e.path().extension() == ".in") names.push_back(e.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(smtp_client_session)

BOOST_AUTO_TEST_CASE(golden_transcripts) {
  const auto names = golden_names();
  BOOST_TEST(names.size() >= 20u);
  for (const auto& name : names) {
    const std::string got = render(run(load(name), whole));
    const auto ref_path = data_dir / (name + ".ref");
    if (std::getenv("SINETTI_UPDATE_GOLDEN")) std::ofstream(ref_path, std::ios::binary) << got;
    BOOST_TEST(got == read_file(ref_path), name);
  }
}

BOOST_AUTO_TEST_CASE(every_split_gives_the_same_commands_and_outcomes) {
  for (const auto& name : golden_names()) {
    const auto t = load(name);
    const std::string expected = render(run(t, whole));
    for (std::size_t seg = 0; seg < t.segments.size(); ++seg) {
      for (std::size_t cut = 0; cut <= t.segments[seg].size(); ++cut) {
        std::size_t index = 0;
        const auto got = render(run(t, [&](const std::string& s) {
          const bool this_one = index++ == seg;
          return this_one ? std::vector<std::string>{s.substr(0, cut), s.substr(cut)} : std::vector<std::string>{s};
        }));
        if (got != expected) {
          BOOST_ERROR(name << ": differs when segment " << seg << " is split at " << cut);
          break;
        }
      }
    }
    const auto bytes = render(run(t, [](const std::string& s) {
      std::vector<std::string> out;
      for (char c : s) out.emplace_back(1, c);
      return out;
    }));
    BOOST_TEST(bytes == expected, name);
  }
}

namespace {

Envelope envelope_to(std::vector<std::string> rcpts) {
  Envelope e;
  e.sender = "sender@example.fi";
  e.recipients = std::move(rcpts);
  return e;
}

SessionOptions plain_options() {
  SessionOptions o;
  o.helo_name = "gw.example.fi";
  o.tls = TlsPolicy::none;
  return o;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_timeout_in_each_stage_defers_and_names_the_stage) {
  struct Step {
    const char* server;
    ClientSession::Stage stage;
    const char* named;
  };
  const std::vector<Step> steps{
      {"", ClientSession::Stage::greeting, "the greeting"},
      {"220 mx\r\n", ClientSession::Stage::helo, "EHLO"},
      {"220 mx\r\n250 mx\r\n", ClientSession::Stage::mail, "MAIL FROM"},
      {"220 mx\r\n250 mx\r\n250 ok\r\n", ClientSession::Stage::rcpt, "RCPT TO"},
      {"220 mx\r\n250 mx\r\n250 ok\r\n250 ok\r\n", ClientSession::Stage::data_init, "DATA"},
  };
  for (const auto& step : steps) {
    ClientSession s(plain_options(), envelope_to({"a@example.com"}));
    s.feed(step.server);
    (void)s.take_output();
    BOOST_TEST((s.stage() == step.stage), step.named);
    s.timed_out();
    BOOST_TEST((s.want() == ClientSession::Want::done));
    BOOST_TEST(s.take_output().empty());  // no QUIT into a connection that stopped answering
    const auto& r = s.result().recipients.at(0);
    BOOST_TEST((r.outcome == Outcome::deferred));
    BOOST_TEST(r.status == "4.4.2");
    BOOST_TEST(r.reply_code == 0);
    BOOST_TEST(r.diagnostic.find(step.named) != std::string::npos, r.diagnostic);
  }
}

BOOST_AUTO_TEST_CASE(timeout_after_the_final_dot_defers) {
  ClientSession s(plain_options(), envelope_to({"a@example.com"}));
  s.feed("220 mx\r\n250 mx\r\n250 ok\r\n250 ok\r\n354 go\r\n");
  BOOST_REQUIRE((s.want() == ClientSession::Want::body));
  s.body("Subject: x\r\n\r\nhello\r\n");
  s.end_body();
  BOOST_TEST((s.stage() == ClientSession::Stage::data_end));
  BOOST_TEST(s.take_output().ends_with("hello\r\n.\r\n"));
  s.timed_out();
  BOOST_TEST((s.result().recipients.at(0).outcome == Outcome::deferred));
}

BOOST_AUTO_TEST_CASE(body_failure_never_sends_the_final_dot) {
  ClientSession s(plain_options(), envelope_to({"a@example.com"}));
  s.feed("220 mx\r\n250 mx\r\n250 ok\r\n250 ok\r\n354 go\r\n");
  (void)s.take_output();
  s.body("Subject: x\r\n\r\npart of it");
  s.body_failed("authentication tag mismatch");
  BOOST_TEST(s.take_output().empty());
  BOOST_TEST((s.want() == ClientSession::Want::done));
  const auto& r = s.result().recipients.at(0);
  BOOST_TEST((r.outcome == Outcome::deferred));
  BOOST_TEST(r.diagnostic.find("authentication tag mismatch") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(quit_reply_loss_keeps_the_outcome) {
  ClientSession s(plain_options(), envelope_to({"a@example.com"}));
  s.feed("220 mx\r\n250 mx\r\n250 ok\r\n250 ok\r\n354 go\r\n");
  s.body("x\r\n");
  s.end_body();
  s.feed("250 2.0.0 queued\r\n");
  BOOST_TEST((s.stage() == ClientSession::Stage::quit));
  s.connection_lost("reset by peer");
  const auto& r = s.result().recipients.at(0);
  BOOST_TEST((r.outcome == Outcome::delivered));
  BOOST_TEST(r.diagnostic == "250 2.0.0 queued");
}

BOOST_AUTO_TEST_CASE(unverified_tls_under_require_defers) {
  SessionOptions o = plain_options();
  o.tls = TlsPolicy::require;
  ClientSession s(o, envelope_to({"a@example.com"}));
  s.feed("220 mx\r\n250-mx\r\n250 STARTTLS\r\n220 go\r\n");
  BOOST_REQUIRE((s.want() == ClientSession::Want::tls_handshake));
  (void)s.take_output();
  s.tls_started(false);
  BOOST_TEST(s.take_output().empty());
  BOOST_TEST((s.want() == ClientSession::Want::done));
  BOOST_TEST(s.result().recipients.at(0).status == "4.7.5");
}

BOOST_AUTO_TEST_CASE(addresses_that_would_change_the_command_are_refused_locally) {
  const std::vector<std::string> bad{"a@example.com>\r\nRCPT TO:<b@example.com", "a b@example.com", "<a@example.com>",
                                     "", "noatsign", std::string(65, 'x') + "@example.com"};
  for (const auto& address : bad) {
    ClientSession s(plain_options(), envelope_to({address, "ok@example.com"}));
    s.feed("220 mx\r\n250 mx\r\n250 ok\r\n250 ok\r\n");
    const std::string out = s.take_output();
    BOOST_TEST(out.find("RCPT TO:<ok@example.com>") != std::string::npos);
    BOOST_TEST(std::count(out.begin(), out.end(), '\n') == 4);  // EHLO, MAIL, one RCPT, DATA
    BOOST_TEST((s.result().recipients.at(0).outcome == Outcome::failed), address);
    BOOST_TEST(s.result().recipients.at(0).status == "5.1.3");
  }
  Envelope e = envelope_to({"ok@example.com"});
  e.sender = "evil@example.com> SIZE=1";
  ClientSession s(plain_options(), e);
  BOOST_TEST((s.want() == ClientSession::Want::done));
  BOOST_TEST((s.result().recipients.at(0).outcome == Outcome::failed));
  BOOST_TEST(s.result().recipients.at(0).status == "5.1.7");
  ClientSession postmaster(plain_options(), envelope_to({"Postmaster"}));
  BOOST_TEST((postmaster.want() == ClientSession::Want::read));
}

BOOST_AUTO_TEST_CASE(pipelining_window_bounds_commands_in_flight) {
  SessionOptions o = plain_options();
  o.max_pipelined = 3;
  std::vector<std::string> rcpts;
  for (int i = 0; i < 7; ++i) rcpts.push_back("r" + std::to_string(i) + "@example.com");
  ClientSession s(o, envelope_to(rcpts));
  s.feed("220 mx\r\n250-mx\r\n250 PIPELINING\r\n");
  std::string out = s.take_output();
  BOOST_TEST(out == "EHLO gw.example.fi\r\nMAIL FROM:<sender@example.fi>\r\nRCPT TO:<r0@example.com>\r\nRCPT TO:<r1@example.com>\r\n");
  s.feed("250 ok\r\n");
  BOOST_TEST(s.take_output() == "RCPT TO:<r2@example.com>\r\n");
  s.feed("250 ok\r\n250 ok\r\n250 ok\r\n");
  BOOST_TEST(s.take_output() == "RCPT TO:<r3@example.com>\r\nRCPT TO:<r4@example.com>\r\nRCPT TO:<r5@example.com>\r\n");
  s.feed("250 ok\r\n");
  BOOST_TEST(s.take_output() == "RCPT TO:<r6@example.com>\r\n");
  s.feed("250 ok\r\n");
  BOOST_TEST(s.take_output() == "DATA\r\n");
}

// ---- connection reuse -----------------------------------------------------------------------------

namespace {

SessionOptions keep_open_options() {
  SessionOptions o = plain_options();
  o.keep_open = true;
  return o;
}

// Delivers one message on a fresh session up to the reply to the end of data.
void deliver_up_to_data_end(ClientSession& s, const std::string& end_reply) {
  s.feed("220 mx\r\n250-mx\r\n250 PIPELINING\r\n250 ok\r\n250 ok\r\n354 go\r\n");
  BOOST_REQUIRE((s.want() == ClientSession::Want::body));
  s.body("Subject: x\r\n\r\nhello\r\n");
  s.end_body();
  (void)s.take_output();
  s.feed(end_reply);
}

}  // namespace

BOOST_AUTO_TEST_CASE(keep_open_ends_after_the_data_reply_without_quit) {
  ClientSession s(keep_open_options(), envelope_to({"a@example.com"}));
  deliver_up_to_data_end(s, "250 2.0.0 queued\r\n");
  BOOST_TEST((s.want() == ClientSession::Want::done));
  BOOST_TEST(s.take_output().empty());
  BOOST_TEST(s.reusable());
  BOOST_TEST(!s.probe_failed());
  BOOST_TEST((s.result().recipients.at(0).outcome == Outcome::delivered));
  BOOST_TEST(s.resumed().capabilities.pipelining);
}

BOOST_AUTO_TEST_CASE(keep_open_after_a_refused_message_still_reuses_but_not_after_421_or_stray_bytes) {
  {
    ClientSession s(keep_open_options(), envelope_to({"a@example.com"}));
    deliver_up_to_data_end(s, "554 5.7.1 spam\r\n");
    BOOST_TEST(s.reusable());
    BOOST_TEST((s.result().recipients.at(0).outcome == Outcome::failed));
  }
  {
    ClientSession s(keep_open_options(), envelope_to({"a@example.com"}));
    deliver_up_to_data_end(s, "421 4.3.2 shutting down\r\n");
    BOOST_TEST(!s.reusable());
    BOOST_TEST(s.take_output() == "QUIT\r\n");
    BOOST_TEST((s.result().recipients.at(0).outcome == Outcome::deferred));
  }
  {
    ClientSession s(keep_open_options(), envelope_to({"a@example.com"}));
    deliver_up_to_data_end(s, "250 ok\r\n250 nobody asked\r\n");
    BOOST_TEST((s.want() == ClientSession::Want::done));
    BOOST_TEST(!s.reusable());
    BOOST_TEST((s.result().recipients.at(0).outcome == Outcome::delivered));
  }
  {
    ClientSession s(plain_options(), envelope_to({"a@example.com"}));  // keep_open off: QUIT as before
    deliver_up_to_data_end(s, "250 ok\r\n");
    BOOST_TEST(s.take_output() == "QUIT\r\n");
    s.feed("221 bye\r\n");
    BOOST_TEST(!s.reusable());
  }
}

// A refused transaction leaves the connection as clean as a delivered one: with keep_open it ends
// without QUIT once every pipelined reply is in, and the next message's RSET starts afresh.
BOOST_AUTO_TEST_CASE(keep_open_after_a_refused_mail_rcpt_or_data_reuses_the_connection) {
  const std::string handshake = "220 mx\r\n250-mx\r\n250 PIPELINING\r\n";
  {  // MAIL refused; the pipelined RCPT and DATA are answered too, then the session ends
    ClientSession s(keep_open_options(), envelope_to({"a@example.com"}));
    s.feed(handshake);
    (void)s.take_output();
    s.feed("550 5.7.1 sender refused\r\n503 5.5.1 no MAIL\r\n");
    BOOST_TEST((s.want() != ClientSession::Want::done));  // the reply to DATA is still to come
    s.feed("503 5.5.1 no valid recipients\r\n");
    BOOST_TEST((s.want() == ClientSession::Want::done));
    BOOST_TEST(s.take_output().empty());
    BOOST_TEST(s.reusable());
    BOOST_TEST((s.result().recipients.at(0).outcome == Outcome::failed));
  }
  {  // every RCPT refused, DATA refused
    ClientSession s(keep_open_options(), envelope_to({"a@example.com", "b@example.com"}));
    s.feed(handshake);
    (void)s.take_output();
    s.feed("250 ok\r\n550 5.1.1 no such user\r\n452 4.2.2 mailbox full\r\n554 5.5.1 no valid recipients\r\n");
    BOOST_TEST((s.want() == ClientSession::Want::done));
    BOOST_TEST(s.take_output().empty());
    BOOST_TEST(s.reusable());
    BOOST_TEST((s.result().recipients.at(0).outcome == Outcome::failed));
    BOOST_TEST((s.result().recipients.at(1).outcome == Outcome::deferred));
  }
  {  // without pipelining: the RCPT refused, no DATA sent
    ClientSession s(keep_open_options(), envelope_to({"a@example.com"}));
    s.feed("220 mx\r\n250 mx\r\n");
    BOOST_TEST(s.take_output() == "EHLO gw.example.fi\r\nMAIL FROM:<sender@example.fi>\r\n");
    s.feed("250 ok\r\n");
    BOOST_TEST(s.take_output() == "RCPT TO:<a@example.com>\r\n");
    s.feed("550 5.1.1 no such user\r\n");
    BOOST_TEST((s.want() == ClientSession::Want::done));
    BOOST_TEST(s.take_output().empty());
    BOOST_TEST(s.reusable());
  }
  {  // 421 to MAIL: the server is closing, so QUIT and no reuse
    ClientSession s(keep_open_options(), envelope_to({"a@example.com"}));
    s.feed(handshake);
    (void)s.take_output();
    s.feed("421 4.3.2 shutting down\r\n503 no MAIL\r\n503 no recipients\r\n");
    BOOST_TEST(s.take_output() == "QUIT\r\n");
    BOOST_TEST(!s.reusable());
    BOOST_TEST((s.result().recipients.at(0).outcome == Outcome::deferred));
  }
  {  // keep_open off: QUIT as before
    ClientSession s(plain_options(), envelope_to({"a@example.com"}));
    s.feed(handshake);
    (void)s.take_output();
    s.feed("250 ok\r\n550 5.1.1 no such user\r\n554 5.5.1 no valid recipients\r\n");
    BOOST_TEST(s.take_output() == "QUIT\r\n");
  }
}

BOOST_AUTO_TEST_CASE(a_resumed_session_starts_with_rset_and_keeps_what_the_connection_has) {
  Resumed r;
  r.capabilities.pipelining = true;
  r.capabilities.size = true;
  r.tls_active = true;
  r.tls_verified = true;
  r.authenticated = true;
  SessionOptions o = keep_open_options();
  o.tls = TlsPolicy::require;
  o.credentials = Credentials{"gw", "secret"};
  Envelope e = envelope_to({"a@example.com", "b@example.com"});
  e.size = 42;
  ClientSession s(o, e, r);
  BOOST_TEST((s.stage() == ClientSession::Stage::rset));
  BOOST_TEST(s.take_output() == "RSET\r\n");
  s.feed("250 2.0.0 ok\r\n");
  // No EHLO, STARTTLS or AUTH again; MAIL with SIZE, pipelined with the RCPTs and DATA.
  BOOST_TEST(s.take_output() ==
             "MAIL FROM:<sender@example.fi> SIZE=42\r\nRCPT TO:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n");
  s.feed("250 ok\r\n250 ok\r\n550 5.1.1 no such user\r\n354 go\r\n");
  BOOST_REQUIRE((s.want() == ClientSession::Want::body));
  s.body("x\r\n");
  s.end_body();
  BOOST_TEST(s.take_output() == "x\r\n.\r\n");
  s.feed("250 queued\r\n");
  BOOST_TEST(s.reusable());
  BOOST_TEST(s.tls_active());
  BOOST_TEST(s.authenticated());
  BOOST_TEST((s.result().recipients.at(0).outcome == Outcome::delivered));
  BOOST_TEST((s.result().recipients.at(1).outcome == Outcome::failed));
}

BOOST_AUTO_TEST_CASE(a_failed_rset_is_a_failed_probe) {
  Resumed r;
  {
    ClientSession s(keep_open_options(), envelope_to({"a@example.com"}), r);
    (void)s.take_output();
    s.connection_lost("connection closed by the server");
    BOOST_TEST(s.probe_failed());
    BOOST_TEST(!s.reusable());
  }
  {
    ClientSession s(keep_open_options(), envelope_to({"a@example.com"}), r);
    (void)s.take_output();
    s.timed_out();
    BOOST_TEST(s.probe_failed());
  }
  {
    ClientSession s(keep_open_options(), envelope_to({"a@example.com"}), r);
    (void)s.take_output();
    s.feed("421 4.4.2 idle too long\r\n");
    BOOST_TEST(s.take_output() == "QUIT\r\n");
    s.connection_lost("connection closed by the server");
    BOOST_TEST(s.probe_failed());
  }
  {
    ClientSession s(keep_open_options(), envelope_to({"a@example.com"}), r);
    (void)s.take_output();
    s.feed("garbage\r\n");
    BOOST_TEST((s.want() == ClientSession::Want::done));
    BOOST_TEST(s.probe_failed());
  }
}

BOOST_AUTO_TEST_CASE(a_failure_after_rset_is_not_a_failed_probe) {
  ClientSession s(keep_open_options(), envelope_to({"a@example.com"}), Resumed{});
  (void)s.take_output();
  s.feed("250 ok\r\n");
  BOOST_TEST(s.take_output() == "MAIL FROM:<sender@example.fi>\r\n");
  s.connection_lost("reset by peer");
  BOOST_TEST((s.want() == ClientSession::Want::done));
  BOOST_TEST(!s.probe_failed());
  BOOST_TEST(!s.reusable());
  BOOST_TEST(s.result().recipients.at(0).diagnostic.find("MAIL FROM") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_resumed_session_refused_locally_leaves_the_connection_untouched) {
  ClientSession s(keep_open_options(), envelope_to({"not an address"}), Resumed{});
  BOOST_TEST((s.want() == ClientSession::Want::done));
  BOOST_TEST(s.take_output().empty());
  BOOST_TEST(s.reusable());
  BOOST_TEST(!s.probe_failed());
  BOOST_TEST((s.result().recipients.at(0).outcome == Outcome::failed));
}

BOOST_AUTO_TEST_SUITE_END()
