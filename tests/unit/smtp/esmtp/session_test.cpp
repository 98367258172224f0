// The sans-IO ESMTP session: golden transcripts (tests/data/esmtp/NAME.in -> NAME.ref) fed whole,
// split at every byte offset and byte by byte, all giving the same replies; plus the events.
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "smtp/esmtp/server_session.hpp"

using namespace sinetti::smtp;
namespace fs = std::filesystem;

namespace {

const fs::path data_dir = fs::path(SINETTI_TEST_DATA_DIR) / "esmtp";

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Accepts mail for example.fi only (like an inbound listener); refuses one sender.
struct FakeHost : SessionHandler {
  std::optional<Reply> check_sender(std::string_view address) override {
    if (address == "blocked@example.com") return Reply{550, "5.7.1", {"Sender refused"}};
    return std::nullopt;
  }
  std::optional<Reply> check_recipient(std::string_view address) override {
    if (address.ends_with("@example.fi")) return std::nullopt;
    if (authenticated) return std::nullopt;  // submission: authenticated users may send anywhere
    return Reply{554, "5.7.1", {"<" + std::string(address) + ">: Relay access denied"}};
  }
  bool authenticated = false;
};

struct Transcript {
  SessionPolicy policy;
  SessionLimits limits;
  std::vector<std::string> segments;  // client bytes between TLS handshakes
};

Transcript load(const std::string& name) {
  Transcript t;
  t.policy.hostname = "gw.example.fi";
  std::string text = read_file(data_dir / (name + ".in"));
  if (text.starts_with("# policy: ")) {
    const auto eol = text.find("\r\n");
    std::istringstream options(text.substr(10, eol - 10));
    for (std::string opt; std::getline(options, opt, ',');) {
      if (opt == "tls") t.policy.tls_available = true;
      else if (opt == "require_tls") t.policy.require_tls = true;
      else if (opt == "auth") t.policy.auth_available = true;
      else if (opt == "require_auth") t.policy.require_auth = true;
      else if (opt.starts_with("max_message_size=")) t.limits.max_message_size = std::stoull(opt.substr(17));
      else if (opt.starts_with("max_errors=")) t.limits.max_errors = std::stoull(opt.substr(11));
      else BOOST_FAIL("unknown policy option " + opt);
    }
    text.erase(0, eol + 2);
  }
  const std::string marker = "<<<TLS>>>\r\n";
  for (std::size_t pos; (pos = text.find(marker)) != std::string::npos;) {
    t.segments.push_back(text.substr(0, pos));
    text.erase(0, pos + marker.size());
  }
  t.segments.push_back(text);
  return t;
}

struct Run {
  std::string output;
  std::vector<Event> events;
  std::string data;  // message bytes received through data events
};

// Feeds each segment in the pieces `split` gives, answering the host's events as a real adapter
// would; between segments the TLS handshake happens.
template <typename Split>
Run run(const Transcript& t, Split split) {
  FakeHost host;
  ServerSession session(t.policy, t.limits, host);
  Run r;
  int queued = 0;
  auto drain = [&] {
    for (bool again = true; again;) {
      again = false;
      r.output += session.take_output();
      for (auto& e : session.take_events()) {
        switch (e.kind) {
          case Event::Kind::auth:
            host.authenticated = e.text == "alice" && e.secret == "secret";
            session.auth_result(host.authenticated);
            again = true;
            break;
          case Event::Kind::data: r.data += e.text; break;
          case Event::Kind::data_end:
            session.data_result(Reply{250, "2.0.0", {"Ok: queued as T" + std::to_string(++queued)}});
            again = true;
            break;
          default: break;
        }
        r.events.push_back(std::move(e));
      }
    }
  };
  session.greet();
  drain();
  for (std::size_t s = 0; s < t.segments.size(); ++s) {
    if (s > 0) {
      session.tls_started();
      drain();
    }
    for (const auto& piece : split(t.segments[s])) {
      session.feed(piece);
      drain();
    }
  }
  return r;
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

BOOST_AUTO_TEST_SUITE(esmtp_session)

BOOST_AUTO_TEST_CASE(golden_transcripts) {
  const auto names = golden_names();
  BOOST_TEST(names.size() >= 12u);
  for (const auto& name : names) {
    const auto t = load(name);
    const auto got = run(t, whole).output;
    const auto ref_path = data_dir / (name + ".ref");
    if (std::getenv("SINETTI_UPDATE_GOLDEN")) std::ofstream(ref_path, std::ios::binary) << got;
    BOOST_TEST(got == read_file(ref_path), name);
  }
}

BOOST_AUTO_TEST_CASE(every_split_gives_the_same_replies) {
  for (const auto& name : golden_names()) {
    const auto t = load(name);
    const auto expected = run(t, whole);
    // Two pieces, split at every offset of every segment.
    for (std::size_t seg = 0; seg < t.segments.size(); ++seg) {
      for (std::size_t cut = 0; cut <= t.segments[seg].size(); ++cut) {
        std::size_t index = 0;
        const auto got = run(t, [&](const std::string& s) {
          const bool this_one = index++ == seg;
          return this_one ? std::vector<std::string>{s.substr(0, cut), s.substr(cut)} : std::vector<std::string>{s};
        });
        if (got.output != expected.output || got.data != expected.data) {
          BOOST_ERROR(name << ": differs when segment " << seg << " is split at " << cut);
          break;
        }
      }
    }
    // One byte at a time.
    const auto bytes = run(t, [](const std::string& s) {
      std::vector<std::string> out;
      for (char c : s) out.emplace_back(1, c);
      return out;
    });
    BOOST_TEST(bytes.output == expected.output, name);
    BOOST_TEST(bytes.data == expected.data, name);
  }
}

BOOST_AUTO_TEST_CASE(data_is_unstuffed_and_streamed_as_events) {
  const auto r = run(load("basic"), whole);
  BOOST_TEST(r.data == "Subject: hello\r\n\r\n.a line that started with a dot\r\n");
  std::vector<Event::Kind> kinds;
  for (const auto& e : r.events) kinds.push_back(e.kind);
  const std::vector<Event::Kind> expected{Event::Kind::mail_from, Event::Kind::rcpt_to, Event::Kind::data_begin,
                                          Event::Kind::data, Event::Kind::data_end, Event::Kind::close};
  BOOST_TEST((kinds == expected));
  BOOST_TEST(r.events[0].text == "sender@example.com");
  BOOST_TEST(r.events[1].text == "neuvonta@example.fi");
}

BOOST_AUTO_TEST_CASE(refused_data_is_aborted_not_committed) {
  for (const char* name : {"bare_lf", "size_limits", "mail_loop", "long_lines"}) {
    const auto r = run(load(name), whole);
    bool aborted = false, ended = false;
    for (const auto& e : r.events) {
      aborted = aborted || e.kind == Event::Kind::data_abort;
      ended = ended || e.kind == Event::Kind::data_end;
    }
    BOOST_TEST(aborted, name);
    BOOST_TEST(!ended, name);
  }
}

BOOST_AUTO_TEST_CASE(starttls_discards_pipelined_plaintext) {
  const auto r = run(load("starttls_injection"), whole);
  for (const auto& e : r.events) BOOST_TEST(e.text.find("attacker") == std::string::npos);
  BOOST_TEST(r.output.find("attacker") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(large_message_streams_in_bounded_events) {
  Transcript t;
  t.limits.max_message_size = 8u << 20;
  std::string in = "EHLO c\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<x@example.fi>\r\nDATA\r\nSubject: big\r\n\r\n";
  const std::string line(998, 'z');
  for (int i = 0; i < 5000; ++i) in += line + "\r\n";
  in += ".\r\nQUIT\r\n";
  t.segments = {in};
  const auto r = run(t, [](const std::string& s) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < s.size(); i += 4096) out.push_back(s.substr(i, 4096));
    return out;
  });
  BOOST_TEST(r.output.find("250 2.0.0 Ok: queued as T1") != std::string::npos);
  BOOST_TEST(r.data.size() == std::string("Subject: big\r\n\r\n").size() + 5000u * 1000);
  std::size_t biggest = 0;
  for (const auto& e : r.events) {
    if (e.kind == Event::Kind::data) biggest = std::max(biggest, e.text.size());
  }
  BOOST_TEST(biggest <= 64u * 1024 + 1000);
}

BOOST_AUTO_TEST_CASE(timeout_closes_with_421) {
  FakeHost host;
  ServerSession s(SessionPolicy{}, SessionLimits{}, host);
  s.greet();
  s.feed("EHLO c\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<x@example.fi>\r\nDATA\r\nSubject: x\r\n");
  (void)s.take_output();
  (void)s.take_events();
  s.timeout();
  BOOST_TEST(s.take_output() == "421 4.4.2 localhost Error: timeout exceeded\r\n");
  const auto events = s.take_events();
  BOOST_REQUIRE_EQUAL(events.size(), 2u);
  BOOST_TEST((events[0].kind == Event::Kind::data_abort));
  BOOST_TEST((events[1].kind == Event::Kind::close));
  BOOST_TEST((s.state() == ServerSession::State::closed));
  s.feed("QUIT\r\n");
  BOOST_TEST(s.take_output().empty());
}

BOOST_AUTO_TEST_CASE(shutdown_closes_with_421_and_transaction_state_is_visible) {
  FakeHost host;
  ServerSession s(SessionPolicy{}, SessionLimits{}, host);
  s.greet();
  s.feed("EHLO c\r\n");
  BOOST_TEST(!s.in_transaction());
  s.feed("MAIL FROM:<a@example.com>\r\n");
  BOOST_TEST(s.in_transaction());
  s.feed("RSET\r\n");
  BOOST_TEST(!s.in_transaction());
  s.feed("MAIL FROM:<a@example.com>\r\nRCPT TO:<x@example.fi>\r\nDATA\r\nx\r\n.\r\n");
  BOOST_TEST(s.in_transaction());  // waiting for the host's data_result
  s.data_result(Reply{250, "2.0.0", {"Ok"}});
  BOOST_TEST(!s.in_transaction());
  (void)s.take_output();
  (void)s.take_events();
  s.shutdown();
  BOOST_TEST(s.take_output() == "421 4.3.2 localhost Service shutting down, try again later\r\n");
  const auto events = s.take_events();
  BOOST_REQUIRE_EQUAL(events.size(), 1u);
  BOOST_TEST((events[0].kind == Event::Kind::close));
  BOOST_TEST((s.state() == ServerSession::State::closed));
  s.shutdown();
  BOOST_TEST(s.take_output().empty());
}

BOOST_AUTO_TEST_CASE(too_many_recipients_get_452) {
  FakeHost host;
  SessionLimits limits;
  limits.max_recipients = 100;
  ServerSession s(SessionPolicy{}, limits, host);
  s.feed("EHLO c\r\nMAIL FROM:<a@example.com>\r\n");
  for (int i = 0; i < 101; ++i) s.feed("RCPT TO:<r" + std::to_string(i) + "@example.fi>\r\n");
  const std::string out = s.take_output();
  BOOST_TEST(s.recipients().size() == 100u);
  BOOST_TEST(out.ends_with("452 4.5.3 Error: too many recipients\r\n"));
}

BOOST_AUTO_TEST_SUITE_END()
