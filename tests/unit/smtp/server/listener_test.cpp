// The SMTP listener over real loopback sockets in one process (port 0): the greeting, EHLO and
// pipelining, STARTTLS with a real handshake and the discarding of plaintext injected after it, AUTH
// only over TLS, deadlines (command, session, write), max_connections, allowed_networks, drain and
// cancel, and a 30 MB message streamed through the sink in bounded pieces.
#include <boost/test/unit_test.hpp>

#include "support.hpp"

using namespace sinetti;
using namespace sinetti::smtp;
using namespace sinetti::smtp::test;

namespace {

bool starts(const std::string& reply, std::string_view prefix) { return reply.starts_with(prefix); }

config::IpNetwork network(const std::string& text) {
  config::IpNetwork n;
  n.text = text;
  const auto slash = text.find('/');
  const auto addr = asio::ip::make_address(text.substr(0, slash));
  n.v6 = addr.is_v6();
  if (n.v6) {
    const auto b = addr.to_v6().to_bytes();
    std::copy(b.begin(), b.end(), n.address.begin());
  } else {
    const auto b = addr.to_v4().to_bytes();
    std::copy(b.begin(), b.end(), n.address.begin());
  }
  n.prefix = static_cast<unsigned>(std::stoi(text.substr(slash + 1)));
  return n;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(smtp_listener)

BOOST_AUTO_TEST_CASE(greeting_ehlo_pipelining_and_a_message) {
  Harness h;
  Client c(h.port());
  BOOST_REQUIRE(c.connected());
  BOOST_TEST(c.reply() == "220 gw.example.fi ESMTP Sinetti\r\n");
  const auto ehlo = c.command("EHLO client.example.com");
  BOOST_TEST(starts(ehlo, "250-gw.example.fi\r\n"));
  BOOST_TEST(ehlo.find("250-PIPELINING\r\n") != std::string::npos);
  BOOST_TEST(ehlo.find("STARTTLS") != std::string::npos);
  BOOST_TEST(ehlo.find("AUTH") == std::string::npos);

  // One write, four commands: four replies in order (RFC 2920).
  BOOST_REQUIRE(c.send("MAIL FROM:<sender@example.com>\r\nRCPT TO:<neuvonta@example.fi>\r\n"
                       "RCPT TO:<someone@elsewhere.example>\r\nDATA\r\n"));
  BOOST_TEST(c.reply() == "250 2.1.0 Ok\r\n");
  BOOST_TEST(c.reply() == "250 2.1.5 Ok\r\n");
  BOOST_TEST(c.reply() == "550 5.7.1 Relaying denied\r\n");
  BOOST_TEST(starts(c.reply(), "354 "));
  BOOST_REQUIRE(c.send("Subject: hello\r\n\r\n..dot\r\nbody\r\n.\r\nQUIT\r\n"));
  BOOST_TEST(c.reply() == "250 2.0.0 Ok: queued as TEST\r\n");
  BOOST_TEST(c.reply() == "221 2.0.0 Bye\r\n");
  BOOST_TEST(c.closed_by_server());

  const auto records = h.sinks->records();
  BOOST_REQUIRE_EQUAL(records.size(), 1u);
  BOOST_TEST(records[0].data == "Subject: hello\r\n\r\n.dot\r\nbody\r\n");
  BOOST_TEST(records[0].envelope.sender == "sender@example.com");
  BOOST_TEST(records[0].envelope.recipients == std::vector<std::string>{"neuvonta@example.fi"});
  BOOST_TEST(records[0].ended);
  BOOST_TEST(!records[0].aborted);
  BOOST_TEST(records[0].info.listener == "test");
  BOOST_TEST(!records[0].info.tls);
  BOOST_TEST(records[0].info.peer.address().to_string() == "127.0.0.1");
  BOOST_TEST(records[0].info.id.size() == 12u);

  BOOST_REQUIRE(eventually([&] { return h.observer.ended_count() == 1; }));
  BOOST_TEST((h.observer.end_reasons() == std::vector<SessionEnd>{SessionEnd::quit}));
  h.observer.with([](const FakeObserver& o) {
    BOOST_REQUIRE_EQUAL(o.messages.size(), 1u);
    BOOST_TEST(o.messages[0].code == 250);
    BOOST_TEST(o.messages[0].bytes == std::string("Subject: hello\r\n\r\n.dot\r\nbody\r\n").size());
    BOOST_TEST(o.ended[0].summary.messages_accepted == 1u);
    return 0;
  });
}

BOOST_AUTO_TEST_CASE(session_ids_differ) {
  Harness h;
  for (int i = 0; i < 3; ++i) {
    Client c(h.port());
    BOOST_TEST(starts(c.reply(), "220 "));
    BOOST_TEST(starts(c.command("QUIT"), "221 "));
  }
  BOOST_REQUIRE(eventually([&] { return h.observer.ended_count() == 3; }));
  h.observer.with([](const FakeObserver& o) {
    BOOST_TEST(o.ended[0].info.id != o.ended[1].info.id);
    BOOST_TEST(o.ended[1].info.id != o.ended[2].info.id);
    return 0;
  });
}

BOOST_AUTO_TEST_CASE(starttls_handshake_and_a_message_over_tls) {
  Harness h;
  Client c(h.port());
  BOOST_TEST(starts(c.reply(), "220 "));
  BOOST_TEST(starts(c.command("EHLO c"), "250-"));
  BOOST_TEST(c.command("STARTTLS") == "220 2.0.0 Ready to start TLS\r\n");
  BOOST_REQUIRE(c.start_tls());
  BOOST_TEST(c.tls_version() == "TLSv1.3");
  // State before TLS is forgotten: EHLO again, and STARTTLS is no longer offered.
  BOOST_TEST(c.command("MAIL FROM:<a@example.com>") == "503 5.5.1 Error: send HELO/EHLO first\r\n");
  const auto ehlo = c.command("EHLO c");
  BOOST_TEST(starts(ehlo, "250-gw.example.fi"));
  BOOST_TEST(ehlo.find("STARTTLS") == std::string::npos);
  BOOST_TEST(c.command("MAIL FROM:<a@example.com>") == "250 2.1.0 Ok\r\n");
  BOOST_TEST(c.command("RCPT TO:<x@example.fi>") == "250 2.1.5 Ok\r\n");
  BOOST_TEST(starts(c.command("DATA"), "354 "));
  BOOST_TEST(c.command("Subject: over tls\r\n\r\nhi\r\n.") == "250 2.0.0 Ok: queued as TEST\r\n");
  BOOST_TEST(c.command("QUIT") == "221 2.0.0 Bye\r\n");

  const auto records = h.sinks->records();
  BOOST_REQUIRE_EQUAL(records.size(), 1u);
  BOOST_TEST(records[0].info.tls);
  BOOST_TEST(records[0].info.tls_protocol == "TLSv1.3");
  BOOST_TEST(!records[0].info.tls_cipher.empty());
  BOOST_TEST(records[0].data == "Subject: over tls\r\n\r\nhi\r\n");
  BOOST_REQUIRE(eventually([&] { return h.observer.ended_count() == 1; }));
  BOOST_TEST(h.observer.with([](const FakeObserver& o) { return o.tls.size(); }) == 1u);
}

BOOST_AUTO_TEST_CASE(plaintext_injected_after_starttls_is_discarded) {
  Harness h;
  Client c(h.port());
  BOOST_TEST(starts(c.reply(), "220 "));
  BOOST_TEST(starts(c.command("EHLO c"), "250-"));
  // RFC 3207 §4.2: the RSET sent in the same write as STARTTLS must never be answered — neither in
  // plaintext before the handshake (the handshake would then fail on those bytes) nor after it.
  BOOST_REQUIRE(c.send("STARTTLS\r\nRSET\r\n"));
  BOOST_TEST(c.reply() == "220 2.0.0 Ready to start TLS\r\n");
  BOOST_REQUIRE(c.start_tls());
  BOOST_TEST(starts(c.command("NOOP"), "250 2.0.0 Ok"));  // the first reply over TLS is NOOP's
  BOOST_TEST(c.command("RCPT TO:<x@example.fi>") == "503 5.5.1 Error: need MAIL command\r\n");
  BOOST_TEST(c.command("QUIT") == "221 2.0.0 Bye\r\n");
}

BOOST_AUTO_TEST_CASE(injected_transaction_never_reaches_the_sink) {
  Harness h;
  Client c(h.port());
  BOOST_TEST(starts(c.reply(), "220 "));
  BOOST_TEST(starts(c.command("EHLO c"), "250-"));
  BOOST_REQUIRE(c.send("STARTTLS\r\nMAIL FROM:<attacker@evil.example>\r\nRCPT TO:<x@example.fi>\r\nDATA\r\nevil\r\n.\r\n"));
  BOOST_TEST(c.reply() == "220 2.0.0 Ready to start TLS\r\n");
  BOOST_REQUIRE(c.start_tls());
  BOOST_TEST(starts(c.command("EHLO c"), "250-"));
  BOOST_TEST(c.command("QUIT") == "221 2.0.0 Bye\r\n");
  BOOST_TEST(h.sinks->count() == 0u);
}

BOOST_AUTO_TEST_CASE(a_failed_handshake_ends_the_session) {
  Harness h;
  Client c(h.port());
  BOOST_TEST(starts(c.reply(), "220 "));
  BOOST_TEST(starts(c.command("EHLO c"), "250-"));
  BOOST_TEST(starts(c.command("STARTTLS"), "220 "));
  BOOST_REQUIRE(c.send("this is not a TLS ClientHello\r\n"));
  BOOST_TEST(c.closed_by_server());
  BOOST_REQUIRE(eventually([&] { return h.observer.ended_count() == 1; }));
  BOOST_TEST((h.observer.end_reasons() == std::vector<SessionEnd>{SessionEnd::tls_failed}));
}

BOOST_AUTO_TEST_CASE(auth_only_after_tls) {
  auto settings = test_settings();
  settings.role = config::ListenerRole::submission;
  Harness h(settings, true, true);
  Client c(h.port());
  BOOST_TEST(starts(c.reply(), "220 "));
  const auto plain_ehlo = c.command("EHLO c");
  BOOST_TEST(plain_ehlo.find("AUTH") == std::string::npos);
  BOOST_TEST(c.command("AUTH PLAIN " + plain_auth("alice", "secret")) == "502 5.5.1 Error: authentication not enabled\r\n");
  BOOST_TEST(c.command("MAIL FROM:<alice@example.fi>") == "530 5.7.0 Authentication required\r\n");
  BOOST_TEST(starts(c.command("STARTTLS"), "220 "));
  BOOST_REQUIRE(c.start_tls());
  const auto ehlo = c.command("EHLO c");
  BOOST_TEST(ehlo.find("AUTH PLAIN LOGIN") != std::string::npos);
  BOOST_TEST(c.command("AUTH PLAIN " + plain_auth("alice", "wrong")) == "535 5.7.8 Error: authentication failed\r\n");
  BOOST_TEST(c.command("MAIL FROM:<alice@example.fi>") == "530 5.7.0 Authentication required\r\n");
  // AUTH LOGIN, step by step.
  BOOST_TEST(c.command("AUTH LOGIN") == "334 VXNlcm5hbWU6\r\n");
  BOOST_TEST(c.command(base64("alice")) == "334 UGFzc3dvcmQ6\r\n");
  BOOST_TEST(c.command(base64("secret")) == "235 2.7.0 Authentication successful\r\n");
  BOOST_TEST(c.command("MAIL FROM:<alice@example.fi>") == "250 2.1.0 Ok\r\n");
  BOOST_TEST(c.command("RCPT TO:<client@elsewhere.example>") == "250 2.1.5 Ok\r\n");
  BOOST_TEST(starts(c.command("DATA"), "354 "));
  BOOST_TEST(starts(c.command("Subject: s\r\n\r\nx\r\n."), "250 "));
  BOOST_TEST(starts(c.command("QUIT"), "221 "));

  const auto records = h.sinks->records();
  BOOST_REQUIRE_EQUAL(records.size(), 1u);
  BOOST_TEST(records[0].info.auth_user.value_or("") == "alice");
  h.observer.with([](const FakeObserver& o) {
    BOOST_REQUIRE_EQUAL(o.auths.size(), 2u);
    BOOST_TEST((o.auths[0] == std::pair<std::string, bool>{"alice", false}));
    BOOST_TEST((o.auths[1] == std::pair<std::string, bool>{"alice", true}));
    return 0;
  });
}

BOOST_AUTO_TEST_CASE(command_timeout_gives_421_and_closes) {
  auto settings = test_settings();
  settings.command_timeout = 200ms;
  Harness h(settings);
  Client c(h.port());
  BOOST_TEST(starts(c.reply(), "220 "));
  BOOST_TEST(starts(c.command("EHLO c"), "250-"));
  // Say nothing: the server gives up on us.
  BOOST_TEST(c.reply() == "421 4.4.2 gw.example.fi Error: timeout exceeded\r\n");
  BOOST_TEST(c.closed_by_server());
  BOOST_REQUIRE(eventually([&] { return h.observer.ended_count() == 1; }));
  BOOST_TEST((h.observer.end_reasons() == std::vector<SessionEnd>{SessionEnd::timeout}));
}

BOOST_AUTO_TEST_CASE(timeout_inside_data_aborts_the_message) {
  auto settings = test_settings();
  settings.command_timeout = 200ms;
  Harness h(settings);
  Client c(h.port());
  BOOST_TEST(starts(c.reply(), "220 "));
  BOOST_TEST(starts(c.command("EHLO c"), "250-"));
  BOOST_TEST(starts(c.command("MAIL FROM:<a@example.com>"), "250 "));
  BOOST_TEST(starts(c.command("RCPT TO:<x@example.fi>"), "250 "));
  BOOST_TEST(starts(c.command("DATA"), "354 "));
  BOOST_REQUIRE(c.send("Subject: half a message\r\n"));
  BOOST_TEST(starts(c.reply(), "421 4.4.2 "));
  BOOST_TEST(c.closed_by_server());
  BOOST_REQUIRE(eventually([&] { return h.observer.ended_count() == 1; }));
  const auto records = h.sinks->records();
  BOOST_REQUIRE_EQUAL(records.size(), 1u);
  BOOST_TEST(records[0].aborted);
  BOOST_TEST(!records[0].ended);
}

BOOST_AUTO_TEST_CASE(session_timeout_bounds_a_busy_session) {
  auto settings = test_settings();
  settings.command_timeout = 10s;
  settings.session_timeout = 300ms;
  Harness h(settings);
  Client c(h.port());
  BOOST_TEST(starts(c.reply(), "220 "));
  // Keep the session busy; the total deadline still ends it.
  std::string last;
  BOOST_REQUIRE(eventually([&] {
    last = c.command("NOOP");
    return !starts(last, "250 ");
  }));
  BOOST_TEST(last == "421 4.4.2 gw.example.fi Error: timeout exceeded\r\n");
  BOOST_TEST(c.closed_by_server());
}

BOOST_AUTO_TEST_CASE(write_deadline_ends_a_session_that_does_not_read) {
  auto settings = test_settings();
  settings.command_timeout = 300ms;
  Harness h(settings);
  Client c(h.port(), 1000ms);
  BOOST_TEST(starts(c.reply(), "220 "));
  // Pipeline NOOPs without reading a reply: once the socket buffers are full the server's write
  // cannot finish, and its deadline closes the session.
  const std::string burst = [] {
    std::string s;
    for (int i = 0; i < 10000; ++i) s += "NOOP\r\n";
    return s;
  }();
  BOOST_REQUIRE(eventually([&] { return !c.send(burst) || h.observer.ended_count() == 1; }, 30s));
  BOOST_REQUIRE(eventually([&] { return h.observer.ended_count() == 1; }, 30s));
  BOOST_TEST((h.observer.end_reasons() == std::vector<SessionEnd>{SessionEnd::write_failed}));
}

BOOST_AUTO_TEST_CASE(max_connections_refuses_with_421) {
  auto settings = test_settings();
  settings.max_connections = 2;
  Harness h(settings);
  Client a(h.port()), b(h.port());
  BOOST_TEST(starts(a.reply(), "220 "));
  BOOST_TEST(starts(b.reply(), "220 "));
  Client over(h.port());
  BOOST_TEST(over.reply() == "421 4.7.0 gw.example.fi Error: too many connections, try again later\r\n");
  BOOST_TEST(over.closed_by_server());
  BOOST_TEST(starts(a.command("QUIT"), "221 "));
  BOOST_REQUIRE(eventually([&] { return h.listener->active() == 1; }));
  Client again(h.port());
  BOOST_TEST(starts(again.reply(), "220 "));
  h.observer.with([](const FakeObserver& o) {
    BOOST_TEST((o.refused == std::vector<Refusal>{Refusal::max_connections}));
    return 0;
  });
}

BOOST_AUTO_TEST_CASE(allowed_networks_are_checked_at_accept) {
  {
    auto settings = test_settings();
    settings.allowed_networks = {network("10.0.0.0/8"), network("2001:db8::/32")};
    Harness h(settings);
    Client c(h.port());
    BOOST_TEST(c.reply() == "554 5.7.1 gw.example.fi Access denied\r\n");
    BOOST_TEST(c.closed_by_server());
    BOOST_TEST(h.observer.with([](const FakeObserver& o) { return o.started.size(); }) == 0u);
  }
  {
    auto settings = test_settings();
    settings.allowed_networks = {network("10.0.0.0/8"), network("127.0.0.0/8")};
    Harness h(settings);
    Client c(h.port());
    BOOST_TEST(starts(c.reply(), "220 "));
    BOOST_TEST(starts(c.command("QUIT"), "221 "));
    BOOST_REQUIRE(eventually([&] { return h.observer.ended_count() == 1; }));
    BOOST_TEST(h.observer.with([](const FakeObserver& o) { return o.ended[0].info.trusted_network; }));
  }
  {
    // With AUTH offered, clients outside the networks may connect but must authenticate.
    auto settings = test_settings();
    settings.role = config::ListenerRole::submission;
    settings.allowed_networks = {network("10.0.0.0/8")};
    Harness h(settings, true, true);
    Client c(h.port());
    BOOST_TEST(starts(c.reply(), "220 "));
    BOOST_TEST(starts(c.command("EHLO c"), "250-"));
    BOOST_TEST(c.command("MAIL FROM:<a@example.fi>") == "530 5.7.0 Authentication required\r\n");
  }
  {
    // Inside the networks, a submission listener with AUTH does not demand it.
    auto settings = test_settings();
    settings.role = config::ListenerRole::submission;
    settings.allowed_networks = {network("127.0.0.1/32")};
    Harness h(settings, true, true);
    Client c(h.port());
    BOOST_TEST(starts(c.reply(), "220 "));
    BOOST_TEST(starts(c.command("EHLO c"), "250-"));
    BOOST_TEST(c.command("MAIL FROM:<a@example.fi>") == "250 2.1.0 Ok\r\n");
  }
}

BOOST_AUTO_TEST_CASE(drain_closes_idle_sessions_and_lets_a_transaction_finish) {
  Harness h;
  Client idle(h.port()), busy(h.port());
  BOOST_TEST(starts(idle.reply(), "220 "));
  BOOST_TEST(starts(idle.command("EHLO idle"), "250-"));
  BOOST_TEST(starts(busy.reply(), "220 "));
  BOOST_TEST(starts(busy.command("EHLO busy"), "250-"));
  BOOST_TEST(starts(busy.command("MAIL FROM:<a@example.com>"), "250 "));
  BOOST_TEST(starts(busy.command("RCPT TO:<x@example.fi>"), "250 "));
  BOOST_TEST(starts(busy.command("DATA"), "354 "));
  BOOST_REQUIRE(busy.send("Subject: in flight\r\n\r\nfirst half\r\n"));
  BOOST_REQUIRE(eventually([&] { return h.sinks->count() == 1; }));  // in DATA, so not idle

  h.listener->drain();
  BOOST_TEST(idle.reply() == "421 4.3.2 gw.example.fi Service shutting down, try again later\r\n");
  BOOST_TEST(idle.closed_by_server());
  // No new sessions.
  Client late(h.port(), 2000ms);
  BOOST_TEST((!late.connected() || late.reply().empty()));
  // The transaction in flight completes; then that session is closed too.
  BOOST_TEST(busy.command("second half\r\n.") == "250 2.0.0 Ok: queued as TEST\r\n");
  BOOST_TEST(busy.reply() == "421 4.3.2 gw.example.fi Service shutting down, try again later\r\n");
  BOOST_TEST(busy.closed_by_server());
  BOOST_REQUIRE(eventually([&] { return h.listener->active() == 0; }));
  const auto records = h.sinks->records();
  BOOST_TEST(records[0].data == "Subject: in flight\r\n\r\nfirst half\r\nsecond half\r\n");
  BOOST_TEST(records[0].ended);
  const auto reasons = h.observer.end_reasons();
  BOOST_TEST((reasons == std::vector<SessionEnd>{SessionEnd::shutdown, SessionEnd::shutdown}));
}

BOOST_AUTO_TEST_CASE(cancel_aborts_a_transaction) {
  Harness h;
  Client c(h.port());
  BOOST_TEST(starts(c.reply(), "220 "));
  BOOST_TEST(starts(c.command("EHLO c"), "250-"));
  BOOST_TEST(starts(c.command("MAIL FROM:<a@example.com>"), "250 "));
  BOOST_TEST(starts(c.command("RCPT TO:<x@example.fi>"), "250 "));
  BOOST_TEST(starts(c.command("DATA"), "354 "));
  BOOST_REQUIRE(c.send("Subject: never finished\r\n"));
  BOOST_REQUIRE(eventually([&] { return h.sinks->count() == 1; }));
  h.listener->cancel();
  BOOST_TEST(c.closed_by_server());
  BOOST_REQUIRE(eventually([&] { return h.listener->active() == 0; }));
  const auto records = h.sinks->records();
  BOOST_TEST(records[0].aborted);
  BOOST_TEST(!records[0].ended);
  BOOST_TEST((h.observer.end_reasons() == std::vector<SessionEnd>{SessionEnd::cancelled}));
}

BOOST_AUTO_TEST_CASE(refusals_while_arriving_abort_the_sink) {
  Harness h;
  Client c(h.port());
  BOOST_TEST(starts(c.reply(), "220 "));
  BOOST_TEST(starts(c.command("EHLO c"), "250-"));
  BOOST_TEST(starts(c.command("MAIL FROM:<a@example.com>"), "250 "));
  BOOST_TEST(starts(c.command("RCPT TO:<x@example.fi>"), "250 "));
  BOOST_TEST(starts(c.command("DATA"), "354 "));
  BOOST_TEST(c.command("Subject: x\r\n\r\nbare\nlf\r\n.") ==
             "550 5.5.2 Error: bare <LF> received; lines must end with <CR><LF>\r\n");
  BOOST_TEST(starts(c.command("QUIT"), "221 "));
  const auto records = h.sinks->records();
  BOOST_REQUIRE_EQUAL(records.size(), 1u);
  BOOST_TEST(records[0].aborted);
  BOOST_TEST(!records[0].ended);
  h.observer.with([](const FakeObserver& o) {
    BOOST_REQUIRE_EQUAL(o.messages.size(), 1u);
    BOOST_TEST(o.messages[0].refused_while_arriving);
    return 0;
  });
}

BOOST_AUTO_TEST_CASE(sink_refusal_at_begin_is_the_reply_after_the_dot) {
  Harness h;
  h.sinks->refuse_at_begin = Reply{554, "5.7.1", {"Not for us"}};
  Client c(h.port());
  BOOST_TEST(starts(c.reply(), "220 "));
  BOOST_TEST(starts(c.command("EHLO c"), "250-"));
  BOOST_TEST(starts(c.command("MAIL FROM:<a@example.com>"), "250 "));
  BOOST_TEST(starts(c.command("RCPT TO:<x@example.fi>"), "250 "));
  BOOST_TEST(starts(c.command("DATA"), "354 "));
  BOOST_TEST(c.command("Subject: x\r\n\r\nbody\r\n.") == "554 5.7.1 Not for us\r\n");
  const auto records = h.sinks->records();
  BOOST_TEST(records[0].aborted);
  BOOST_TEST(records[0].bytes == 0u);
}

BOOST_AUTO_TEST_CASE(thirty_megabytes_stream_through_the_sink_in_bounded_pieces) {
  Harness h;
  h.sinks->keep_data = false;
  h.sinks->yield_on_data = true;
  Client c(h.port());
  BOOST_TEST(starts(c.reply(), "220 "));
  BOOST_TEST(starts(c.command("EHLO c"), "250-"));
  BOOST_TEST(starts(c.command("MAIL FROM:<a@example.com> SIZE=31457280"), "250 "));
  BOOST_TEST(starts(c.command("RCPT TO:<x@example.fi>"), "250 "));
  BOOST_TEST(starts(c.command("DATA"), "354 "));
  Fnv sent;
  std::uint64_t sent_bytes = 0;
  const std::string header = "Subject: big\r\n\r\n";
  sent.add(header);
  sent_bytes += header.size();
  BOOST_REQUIRE(c.send(header));
  std::string block;
  for (int line = 0; line < 1024; ++line) {
    std::string text(998, static_cast<char>('a' + line % 26));  // 1000 bytes with CRLF: the limit
    if (line % 7 == 0) text[0] = '.';  // stuffed on the wire, one dot in the message
    block += text + "\r\n";
  }
  const std::string& unstuffed = block;  // the message as the sink must see it
  std::string stuffed;
  for (std::size_t at = 0; at < unstuffed.size();) {
    const auto eol = unstuffed.find("\r\n", at) + 2;
    if (unstuffed[at] == '.') stuffed += '.';
    stuffed.append(unstuffed, at, eol - at);
    at = eol;
  }
  for (int i = 0; i < 30; ++i) {  // 30 blocks of 1 MiB (1024 lines of 1000 bytes) ≈ 30 MB
    BOOST_REQUIRE(c.send(stuffed));
    sent.add(unstuffed);
    sent_bytes += unstuffed.size();
  }
  BOOST_TEST(c.command(".") == "250 2.0.0 Ok: queued as TEST\r\n");
  const auto records = h.sinks->records();
  BOOST_REQUIRE_EQUAL(records.size(), 1u);
  BOOST_TEST(records[0].bytes == sent_bytes);
  BOOST_TEST(records[0].hash.h == sent.h);
  // Pieces stay near the session's 64 KiB event size whatever the message size.
  BOOST_TEST(records[0].biggest_piece <= 64u * 1024 + 1000);
  BOOST_TEST(records[0].pieces >= sent_bytes / (65u * 1024));
}

BOOST_AUTO_TEST_CASE(update_applies_to_new_sessions_only) {
  Harness h;
  Client before(h.port());
  BOOST_TEST(starts(before.reply(), "220 gw.example.fi "));
  auto next = std::make_shared<ListenerSetup>(*h.listener->setup());
  next->settings.hostname = "renamed.example.fi";
  h.listener->update(next);
  Client after(h.port());
  BOOST_TEST(starts(after.reply(), "220 renamed.example.fi "));
  BOOST_TEST(starts(before.command("EHLO c"), "250-gw.example.fi"));
}

BOOST_AUTO_TEST_SUITE_END()
