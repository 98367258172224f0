// The portal's request handling without sockets, on a real SqliteStore and key ring: landing pages
// that change nothing (robots), the same answer for unknown, expired and revoked links, PIN unlock
// with CSRF, session rotation and limits, the sealed letter's single device, reading, downloads,
// security headers on everything, and logs without secrets.
#include <boost/test/unit_test.hpp>

#include <mutex>
#include <regex>

#include "../store/store_fixture.hpp"
#include "portal_test_support.hpp"
#include "crypto/key_ring.hpp"
#include "crypto/primitives.hpp"
#include "crypto/sealed_stream.hpp"
#include "crypto/tokens.hpp"
#include "gateway/i18n/templates.hpp"
#include "gateway/log.hpp"
#include "gateway/auth/jose.hpp"
#include "gateway/portal/handler.hpp"
#include "gateway/portal/html_sanitizer.hpp"
#include "gateway/portal/phone_tails.hpp"
#include "gateway/portal/session.hpp"
#include "gateway/sealed/sealed_content.hpp"
#include "smtp/mime/message.hpp"

using namespace sinetti;
using namespace sinetti::portal;
using namespace store_test;
using namespace portal_test;

namespace {

const std::string config_text = R"(instance:
  name: "Kaupungin työllisyyspalvelut"
  public_url: "https://turvaposti.example.fi"
  languages: [fi, sv, en]
  default_language: fi
listeners:
  - {name: inbound, address: "127.0.0.1:2525", role: inbound}
portal:
  address: "127.0.0.1:8443"
  tls: {cert_file: c.pem, key_file: k.pem}
delivery:
  transport: "maildir:var/mail"
teams:
  - {id: neuvonta, name: {fi: Neuvonta, sv: Rådgivning, en: Advice}, address: neuvonta@tyollisyys.example.fi,
     mailbox: neuvonta-tiimi@intra.example.fi}
routing:
  rules:
    - {name: rest, action: {reject: {code: 550, text: "5.1.1 No"}}}
unlock:
  pin: {length: 6, ttl: 10m, max_attempts: 3, max_per_hour: 3, max_failures: 5}
)";

class FakeSms final : public sms::SmsSender {
 public:
  sms::SmsResult send(const sms::SmsMessage& m) override {
    std::lock_guard lock(mutex);
    sent.push_back(m);
    if (fail) return sms::SmsFailed{"provider down", true};
    return sms::SmsAccepted{};
  }
  std::string_view name() const override { return "fake"; }
  std::mutex mutex;
  std::vector<sms::SmsMessage> sent;
  bool fail = false;
};

// Binary content that crosses several 64 KiB chunks.
std::string binary(std::size_t n) {
  std::string s(n, '\0');
  std::uint32_t x = 12345;
  for (auto& c : s) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 16);
  }
  return s;
}

std::string base64(std::string_view in) {
  static constexpr char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t line = 0;
  for (std::size_t i = 0; i < in.size(); i += 3) {
    const std::uint32_t b0 = static_cast<unsigned char>(in[i]);
    const std::uint32_t b1 = i + 1 < in.size() ? static_cast<unsigned char>(in[i + 1]) : 0;
    const std::uint32_t b2 = i + 2 < in.size() ? static_cast<unsigned char>(in[i + 2]) : 0;
    const std::uint32_t v = (b0 << 16) | (b1 << 8) | b2;
    out += a[(v >> 18) & 63];
    out += a[(v >> 12) & 63];
    out += i + 1 < in.size() ? a[(v >> 6) & 63] : '=';
    out += i + 2 < in.size() ? a[v & 63] : '=';
    if (++line == 19) {
      out += "\r\n";
      line = 0;
    }
  }
  return out + "\r\n";
}

const std::string attachment_bytes = binary(200'000);

std::string message_text() {
  return "From: Neuvonta <neuvonta-tiimi@intra.example.fi>\r\n"
         "To: client@example.com\r\n"
         "Subject: [suojattu] Päätös <tärkeä>\r\n"
         "MIME-Version: 1.0\r\n"
         "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
         "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
         "Hei <b>asiakas</b>, katso https://example.fi/ohje?a=1&b=2.\r\n"
         "--b1\r\nContent-Type: application/pdf; name=\"paatos.pdf\"\r\n"
         "Content-Disposition: attachment; filename=\"paatos.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
         base64(attachment_bytes) + "--b1--\r\n";
}

struct PortalFixture : Fixture {
  std::filesystem::path keys = dir.path() / "keys";
  std::shared_ptr<const config::Config> cfg;
  std::unique_ptr<SqliteStore> st;
  std::optional<crypto::KeyRing> ring;
  std::shared_ptr<const i18n::Templates> templates;
  FakeSms sms;
  std::mutex log_mutex;
  std::vector<std::string> log_lines;
  log::Logger logger{[this](std::string_view line) {
                       std::lock_guard lock(log_mutex);
                       log_lines.emplace_back(line);
                     },
                     &clock, log::Level::debug};
  const std::string phone = "+358401234567";
  Bytes personal_key = Bytes(32, 7);  // the identity key level personal messages get from put()
  auth::Providers* oidc = nullptr;    // strong identification, when a test sets it up
  PhoneTails* phone_tails = nullptr;  // the listener's landing-page cache, when a test sets it up

  PortalFixture() {
    BOOST_REQUIRE(crypto::KeyRing::init(keys, clock).ok());
    auto r = crypto::KeyRing::load(keys, crypto::Access::open);
    BOOST_REQUIRE(r.ok());
    ring.emplace(std::move(*r));
    auto loaded = config::load_string(config_text, "t.yaml", config::LoadOptions{false});
    for (const auto& e : loaded.errors) BOOST_TEST_MESSAGE(e.str());
    BOOST_REQUIRE(loaded.config);
    cfg = loaded.config;
    st = open();
    auto t = i18n::Templates::load(std::nullopt);
    BOOST_REQUIRE_MESSAGE(t.ok(), (t.ok() ? "" : t.error().message));
    templates = *t;
  }

  // A protected message with one read link per recipient; returns the tokens.
  std::vector<std::string> put(const MessageId& id, UnlockKind kind, std::size_t recipients = 1,
                               std::chrono::hours link_ttl = std::chrono::hours(24), const std::string& raw = message_text()) {
    auto key = crypto::DataKey::generate();
    MessageMeta m;
    m.id = id;
    m.kind = MessageKind::protected_message;
    m.protection = kind == UnlockKind::phone ? ProtectionLevel::sms
                   : kind == UnlockKind::device ? ProtectionLevel::letter
                                                : ProtectionLevel::personal;
    m.unlock.kind = kind;
    if (kind == UnlockKind::phone) m.unlock.sealed_phone = crypto::seal_message(key, id + ".phone", crypto::as_bytes(phone));
    if (kind == UnlockKind::identity) m.unlock.identity_hash = personal_key;
    m.sender = "neuvonta-tiimi@intra.example.fi";
    for (std::size_t i = 0; i < recipients; ++i) m.recipients.push_back("client" + std::to_string(i) + "@example.com");
    m.language = "fi";
    m.size = raw.size();
    m.wrapped_key = ring->wrap(key, id);
    m.kek_id = ring->active_kek();
    CommitBatch b;
    b.messages.push_back(MessageCommit{id, m, sealed::seal_pieces(key, id, raw), raw.size()});
    std::vector<std::string> tokens;
    for (std::size_t i = 0; i < recipients; ++i) {
      tokens.push_back(crypto::generate_token());
      b.tokens.push_back(token(hash_of_token(tokens.back()), id, m.recipients[i], now() + link_ttl, TokenPurpose::read,
                               static_cast<std::uint32_t>(i)));
    }
    BOOST_REQUIRE(st->commit(b).ok());
    return tokens;
  }

  Response call(const std::string& method, const std::string& target, Jar& jar, const std::string& body = {},
                std::vector<std::pair<std::string, std::string>> extra = {}) {
    Request r;
    r.method = method;
    r.target = target;
    r.headers = std::move(extra);
    if (!jar.cookies.empty()) r.headers.emplace_back("cookie", jar.header());
    if (method == "POST") r.headers.emplace_back("content-type", "application/x-www-form-urlencoded");
    r.body = body;
    PortalContext c{*cfg, *templates, *st, *ring, &sms, clock, logger, oidc, phone_tails};
    auto res = handle(r, c);
    jar.take(res);
    return res;
  }
  Response get(const std::string& target, Jar& jar) { return call("GET", target, jar); }
  Response post(const std::string& target, Jar& jar, const std::string& body) { return call("POST", target, jar, body); }

  std::size_t sms_count() {
    std::lock_guard lock(sms.mutex);
    return sms.sent.size();
  }
  std::string last_pin() {
    std::lock_guard lock(sms.mutex);
    const std::regex re("([0-9]{6})");
    std::smatch m;
    BOOST_REQUIRE(!sms.sent.empty());
    BOOST_REQUIRE(std::regex_search(sms.sent.back().text, m, re));
    return m[1];
  }
  std::int64_t pin_challenges() {
    RawDb db(db_path);
    return db.integer("SELECT count(*) FROM pin_challenges");
  }
  std::vector<AuditRecord> audit() {
    std::vector<AuditRecord> out;
    BOOST_REQUIRE(st->export_audit(0, [&](const AuditRecord& r) {
      out.push_back(r);
      return true;
    }).ok());
    return out;
  }
  std::size_t audits(const std::string& event, const std::string& outcome) {
    std::size_t n = 0;
    for (const auto& r : audit()) n += r.event == event && r.outcome == outcome;
    return n;
  }
  // The sender notices queued so far, as mail text.
  std::vector<std::string> notices() {
    std::vector<std::string> out;
    auto entries = st->list_queue(QueueFilter{});
    BOOST_REQUIRE(entries.ok());
    for (const auto& e : *entries) {
      if (e.kind != DeliveryKind::notification) continue;
      BOOST_TEST(e.recipient == "neuvonta-tiimi@intra.example.fi");
      BOOST_TEST(e.sender == "");
      auto m = st->find_message(e.message_id);
      BOOST_REQUIRE(m.ok() && m->has_value());
      auto reader = sealed::ContentReader::open(*st, **m, *ring);
      BOOST_REQUIRE(reader.ok());
      std::string text;
      for (;;) {
        auto piece = (*reader)->next();
        BOOST_REQUIRE(piece.ok());
        if (piece->empty()) break;
        text.append(*piece);
      }
      auto parsed = mime::read_message(text);
      BOOST_REQUIRE(parsed.ok() && !parsed->texts.empty());
      std::string to(parsed->header("To").value_or(""));
      out.push_back("Subject: " + parsed->subject + "\nTo: " + to + "\n\n" + parsed->texts.front().text);
    }
    return out;
  }
  std::string logs() {
    std::lock_guard lock(log_mutex);
    std::string all;
    for (const auto& l : log_lines) all += l;
    return all;
  }

  // Landing, then a PIN ordered with the page's CSRF token.
  std::string order_pin(const std::string& token, Jar& jar) {
    auto landing = get("/m/" + token, jar);
    BOOST_REQUIRE(landing.status == 200);
    const auto csrf = field(landing.body, "csrf");
    BOOST_REQUIRE(!csrf.empty());
    auto sent = post("/m/" + token + "/pin?lang=en", jar, "csrf=" + csrf);
    BOOST_REQUIRE_EQUAL(sent.status, 200);
    return field(sent.body, "csrf");
  }
};

bool has_security_headers(const Response& r) {
  return r.header("Strict-Transport-Security") && r.header("Content-Security-Policy") &&
         *r.header("X-Content-Type-Options") == "nosniff" && *r.header("Referrer-Policy") == "no-referrer" &&
         r.header("Cache-Control");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(portal_handler)

BOOST_FIXTURE_TEST_CASE(unknown_expired_and_revoked_links_look_the_same, PortalFixture) {
  const auto live = put("M1", UnlockKind::phone);
  const auto expired = put("M2", UnlockKind::phone, 1, std::chrono::hours(1));
  const auto revoked = put("M3", UnlockKind::phone);
  BOOST_REQUIRE(st->revoke_token(hash_of_token(revoked[0]), {}).ok());
  clock.advance(std::chrono::hours(2));
  Jar a, b, c, d;
  const std::string unknown = crypto::generate_token();
  const auto unknown_page = get("/m/" + unknown, a);
  const auto expired_page = get("/m/" + expired[0], b);
  const auto revoked_page = get("/m/" + revoked[0], c);
  const auto short_page = get("/m/abc", d);
  BOOST_TEST(unknown_page.status == 404);
  BOOST_TEST(expired_page.status == 404);
  BOOST_TEST(revoked_page.status == 404);
  BOOST_TEST(short_page.status == 404);
  // The same page but for the language switch, which links to the page's own path.
  const auto same = [](const Response& r, const std::string& token) {
    std::string body = r.body;
    for (auto at = body.find(token); at != std::string::npos; at = body.find(token, at)) body.replace(at, token.size(), "T");
    return body;
  };
  BOOST_TEST(same(unknown_page, unknown) == same(expired_page, expired[0]));
  BOOST_TEST(same(unknown_page, unknown) == same(revoked_page, revoked[0]));
  BOOST_TEST(same(unknown_page, unknown) == same(short_page, "abc"));
  BOOST_TEST(unknown_page.body.find("Linkki ei toimi") != std::string::npos);
  BOOST_TEST(has_security_headers(unknown_page));
  // The live one still opens its landing page.
  Jar e;
  BOOST_TEST(get("/m/" + live[0], e).status == 200);
}

BOOST_FIXTURE_TEST_CASE(landing_pages_change_nothing_and_show_only_the_phone_tail, PortalFixture) {
  const auto tokens = put("M1", UnlockKind::phone);
  const auto before = audit().size();
  Jar jar;
  for (int i = 0; i < 3; ++i) {
    const auto r = get("/m/" + tokens[0], jar);
    BOOST_TEST(r.status == 200);
    BOOST_TEST(r.body.find("<strong>67</strong>") != std::string::npos);
    BOOST_TEST(r.body.find("401234567") == std::string::npos);
    BOOST_TEST(r.body.find("<html lang=\"fi\">") != std::string::npos);
    BOOST_TEST(r.body.find("Neuvonta") != std::string::npos);
    BOOST_TEST(r.body.find("<script") == std::string::npos);
    BOOST_TEST(*r.header("Cache-Control") == "no-store");
  }
  // A scanner that follows the POST paths with GET is refused and changes nothing either.
  BOOST_TEST(get("/m/" + tokens[0] + "/pin", jar).status == 405);
  BOOST_TEST(get("/m/" + tokens[0] + "/unlock", jar).status == 405);
  BOOST_TEST(get("/m/" + tokens[0] + "/read", jar).status == 303);
  BOOST_TEST(sms_count() == 0u);
  BOOST_TEST(pin_challenges() == 0);
  BOOST_TEST(audit().size() == before);
  // One session was created by the first GET and reused afterwards.
  RawDb db(db_path);
  BOOST_TEST(db.integer("SELECT count(*) FROM portal_sessions") == 1);
}

BOOST_FIXTURE_TEST_CASE(the_session_cookie_has_every_attribute, PortalFixture) {
  const auto tokens = put("M1", UnlockKind::phone);
  Jar jar;
  const auto r = get("/m/" + tokens[0], jar);
  std::string cookie;
  for (const auto& [n, v] : r.headers) {
    if (n == "Set-Cookie") cookie = v;
  }
  BOOST_TEST(cookie.starts_with("__Host-sinetti="));
  for (const char* attr : {"; Secure", "; HttpOnly", "; SameSite=Strict", "; Path=/"}) {
    BOOST_TEST(cookie.find(attr) != std::string::npos, attr);
  }
  BOOST_TEST(cookie.find("Domain") == std::string::npos);
  BOOST_TEST(jar.cookies["__Host-sinetti"].size() == 43u);  // 256 bits
  // The store holds only its hash.
  RawDb db(db_path);
  BOOST_TEST(db.integer("SELECT count(*) FROM portal_sessions WHERE id_hash = x'" + hex(hash_of_token(jar.cookies["__Host-sinetti"])) + "'") == 1);
}

BOOST_FIXTURE_TEST_CASE(posts_need_the_session_and_its_csrf_token, PortalFixture) {
  const auto tokens = put("M1", UnlockKind::phone);
  Jar jar;
  const auto landing = get("/m/" + tokens[0], jar);
  const auto csrf = field(landing.body, "csrf");
  BOOST_TEST_REQUIRE(!csrf.empty());
  Jar none;
  BOOST_TEST(post("/m/" + tokens[0] + "/pin", none, "csrf=" + csrf).status == 403);  // no cookie
  BOOST_TEST(post("/m/" + tokens[0] + "/pin", jar, "").status == 403);              // no token
  BOOST_TEST(post("/m/" + tokens[0] + "/pin", jar, "csrf=" + csrf.substr(1)).status == 403);
  Jar other;
  const auto other_csrf = field(get("/m/" + tokens[0], other).body, "csrf");
  BOOST_TEST(post("/m/" + tokens[0] + "/pin", jar, "csrf=" + other_csrf).status == 403);  // another session's
  BOOST_TEST(call("POST", "/m/" + tokens[0] + "/pin", jar, "csrf=" + csrf,
                  {{"content-type", "text/plain"}}).status != 200);
  BOOST_TEST(sms_count() == 0u);
  BOOST_TEST(pin_challenges() == 0);
  BOOST_TEST(post("/m/" + tokens[0] + "/pin", jar, "csrf=" + csrf).status == 200);
  BOOST_TEST(sms_count() == 1u);
}

BOOST_FIXTURE_TEST_CASE(landing_pages_take_the_phone_tail_from_the_listeners_cache, PortalFixture) {
  const auto tokens = put("M1", UnlockKind::phone);
  const auto owner = std::make_shared<int>(0);
  const std::shared_ptr<const crypto::KeyRing> current(owner, &*ring);  // the listener's snapshot
  PhoneTails tails;
  tails.bind(current);
  phone_tails = &tails;
  Jar jar;
  BOOST_TEST(get("/m/" + tokens[0], jar).body.find("<strong>67</strong>") != std::string::npos);
  BOOST_TEST(tails.find(*ring, "M1").value_or("") == "67");  // opened once, remembered
  BOOST_TEST(tails.size() == 1u);
  // Later views take it from the cache: what the cache holds is what the page shows.
  tails.remember(*ring, "M1", "00");
  BOOST_TEST(get("/m/" + tokens[0], jar).body.find("<strong>00</strong>") != std::string::npos);
  // Another ring bound (SIGHUP): the cache is emptied, and a request still on the old ring opens
  // the sealed number again and keeps nothing.
  auto reloaded = crypto::KeyRing::load(keys, crypto::Access::open);
  BOOST_TEST_REQUIRE(reloaded.ok());
  const auto other = std::make_shared<const crypto::KeyRing>(std::move(*reloaded));
  tails.bind(other);
  BOOST_TEST(tails.size() == 0u);
  BOOST_TEST(get("/m/" + tokens[0], jar).body.find("<strong>67</strong>") != std::string::npos);
  BOOST_TEST(tails.size() == 0u);
  // An unknown link asks for no tail.
  tails.bind(current);
  BOOST_TEST(get("/m/" + crypto::generate_token(), jar).status == 404);
  BOOST_TEST(tails.size() == 0u);
}

BOOST_FIXTURE_TEST_CASE(a_pin_by_sms_unlocks_and_rotates_the_session, PortalFixture) {
  const auto tokens = put("M1", UnlockKind::phone);
  Jar jar;
  const auto csrf = order_pin(tokens[0], jar);
  {
    std::lock_guard lock(sms.mutex);
    BOOST_TEST(sms.sent.back().to == phone);
    BOOST_TEST(sms.sent.back().text.find("Kaupungin työllisyyspalvelut") != std::string::npos);
  }
  const std::string pin = last_pin();
  BOOST_TEST(audits("unlock.pin_issued", "issued") == 1u);
  BOOST_TEST(audits("unlock.sms", "ok") == 1u);

  // A wrong PIN: the error is tied to the field, tries are counted.
  const std::string wrong = pin == "000000" ? "111111" : "000000";
  auto r = post("/m/" + tokens[0] + "/unlock?lang=en", jar, "csrf=" + csrf + "&pin=" + wrong);
  BOOST_TEST(r.status == 422);
  BOOST_TEST(r.body.find("aria-describedby=\"pin-hint pin-error\"") != std::string::npos);
  BOOST_TEST(r.body.find("id=\"pin-error\"") != std::string::npos);
  BOOST_TEST(r.body.find("Tries left with this code: 2") != std::string::npos);
  BOOST_TEST(r.body.find("<label for=\"pin\">") != std::string::npos);
  BOOST_TEST(r.body.find("<html lang=\"en\">") != std::string::npos);
  r = post("/m/" + tokens[0] + "/unlock?lang=en", jar, "csrf=" + csrf + "&pin=12ab");
  BOOST_TEST(r.status == 422);
  BOOST_TEST(r.body.find("Type the 6 digits") != std::string::npos);

  // Not yet unlocked: reading sends back to the landing page.
  BOOST_TEST(get("/m/" + tokens[0] + "/read", jar).status == 303);

  const std::string old_session = jar.cookies["__Host-sinetti"];
  r = post("/m/" + tokens[0] + "/unlock?lang=en", jar, "csrf=" + csrf + "&pin=" + pin.substr(0, 3) + "+" + pin.substr(3));
  BOOST_TEST_REQUIRE(r.status == 303);
  BOOST_TEST(*r.header("Location") == "/m/" + tokens[0] + "/read?lang=en");
  BOOST_TEST(jar.cookies["__Host-sinetti"] != old_session);
  BOOST_TEST(audits("unlock.pin", "accepted") == 1u);
  BOOST_TEST(audits("unlock.pin", "wrong") == 1u);

  // The old session id is gone; the new one reads.
  Jar stale;
  stale.cookies["__Host-sinetti"] = old_session;
  BOOST_TEST(get("/m/" + tokens[0] + "/read", stale).status == 303);
  r = get("/m/" + tokens[0] + "/read", jar);
  BOOST_TEST_REQUIRE(r.status == 200);
  BOOST_TEST(r.body.find("<h1>Päätös &lt;tärkeä&gt;</h1>") != std::string::npos);
  BOOST_TEST(r.body.find("[suojattu]") == std::string::npos);
  BOOST_TEST(r.body.find("Hei &lt;b&gt;asiakas&lt;/b&gt;") != std::string::npos);
  BOOST_TEST(r.body.find("<a href=\"https://example.fi/ohje?a=1&amp;b=2\" rel=\"noopener noreferrer nofollow\">") !=
             std::string::npos);
  BOOST_TEST(r.body.find("href=\"/m/" + tokens[0] + "/attachment/0\"") != std::string::npos);
  BOOST_TEST(r.body.find("paatos.pdf") != std::string::npos);
  BOOST_TEST(*r.header("Cache-Control") == "no-store");
  BOOST_TEST(audits("message.viewed", "ok") == 1u);

  // The PIN was single use.
  Jar again;
  const auto csrf2 = field(get("/m/" + tokens[0], again).body, "csrf");
  BOOST_TEST(post("/m/" + tokens[0] + "/unlock", again, "csrf=" + csrf2 + "&pin=" + pin).status == 422);

  // Nothing secret reached the log.
  const auto all = logs();
  BOOST_TEST(all.find(pin) == std::string::npos);
  BOOST_TEST(all.find(tokens[0]) == std::string::npos);
  BOOST_TEST(all.find("401234567") == std::string::npos);
  BOOST_TEST(all.find(old_session) == std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(a_pin_is_bound_to_the_session_that_ordered_it, PortalFixture) {
  const auto tokens = put("M1", UnlockKind::phone);
  Jar jar;
  order_pin(tokens[0], jar);
  const std::string pin = last_pin();
  Jar other;
  const auto csrf = field(get("/m/" + tokens[0], other).body, "csrf");
  const auto r = post("/m/" + tokens[0] + "/unlock", other, "csrf=" + csrf + "&pin=" + pin);
  BOOST_TEST(r.status == 422);
  BOOST_TEST(get("/m/" + tokens[0] + "/read", other).status == 303);
  BOOST_TEST(audits("unlock.pin", "accepted") == 0u);
}

BOOST_FIXTURE_TEST_CASE(a_new_pin_voids_the_old_and_pins_are_rate_limited, PortalFixture) {
  const auto tokens = put("M1", UnlockKind::phone);
  Jar jar;
  auto csrf = order_pin(tokens[0], jar);
  const std::string first = last_pin();
  BOOST_TEST(post("/m/" + tokens[0] + "/pin", jar, "csrf=" + csrf).status == 200);
  BOOST_TEST(post("/m/" + tokens[0] + "/pin", jar, "csrf=" + csrf).status == 200);
  const std::string third = last_pin();
  // max_per_hour is 3 here.
  const auto limited = post("/m/" + tokens[0] + "/pin?lang=en", jar, "csrf=" + csrf);
  BOOST_TEST(limited.status == 429);
  BOOST_TEST(limited.body.find("Too many codes") != std::string::npos);
  BOOST_TEST(sms_count() == 3u);
  if (first != third) {
    BOOST_TEST(post("/m/" + tokens[0] + "/unlock", jar, "csrf=" + csrf + "&pin=" + first).status == 422);
  }
  BOOST_TEST(post("/m/" + tokens[0] + "/unlock", jar, "csrf=" + csrf + "&pin=" + third).status == 303);
}

BOOST_FIXTURE_TEST_CASE(wrong_pins_exhaust_the_code_then_lock_the_message, PortalFixture) {
  const auto tokens = put("M1", UnlockKind::phone);
  Jar jar;
  auto csrf = order_pin(tokens[0], jar);
  std::string pin = last_pin();
  const std::string wrong = pin == "000000" ? "111111" : "000000";
  // max_attempts 3: the third wrong try voids the code.
  BOOST_TEST(post("/m/" + tokens[0] + "/unlock", jar, "csrf=" + csrf + "&pin=" + wrong).status == 422);
  BOOST_TEST(post("/m/" + tokens[0] + "/unlock", jar, "csrf=" + csrf + "&pin=" + wrong).status == 422);
  auto r = post("/m/" + tokens[0] + "/unlock?lang=en", jar, "csrf=" + csrf + "&pin=" + wrong);
  BOOST_TEST(r.status == 422);
  BOOST_TEST(r.body.find("no longer valid") != std::string::npos);
  BOOST_TEST(post("/m/" + tokens[0] + "/unlock", jar, "csrf=" + csrf + "&pin=" + pin).status == 422);
  // max_failures 5: two more wrong tries on a new code lock the message.
  clock.advance(std::chrono::minutes(61));
  csrf = order_pin(tokens[0], jar);
  pin = last_pin();
  const std::string wrong2 = pin == "000000" ? "111111" : "000000";
  BOOST_TEST(post("/m/" + tokens[0] + "/unlock", jar, "csrf=" + csrf + "&pin=" + wrong2).status == 422);
  r = post("/m/" + tokens[0] + "/unlock?lang=en", jar, "csrf=" + csrf + "&pin=" + wrong2);
  BOOST_TEST(r.status == 403);
  BOOST_TEST(r.body.find("This message is locked") != std::string::npos);
  auto m = st->find_message("M1");
  BOOST_TEST(((*m)->state == MessageState::locked));
  // The sender is told, once.
  const auto n = notices();
  BOOST_TEST_REQUIRE(n.size() == 1u);
  BOOST_TEST(n[0].find("Suojattu viesti M1 on lukittu") != std::string::npos, n[0]);
  BOOST_TEST(post("/m/" + tokens[0] + "/unlock", jar, "csrf=" + csrf + "&pin=" + pin).status == 403);
  const auto before = sms_count();
  BOOST_TEST(post("/m/" + tokens[0] + "/pin", jar, "csrf=" + csrf).status == 403);
  BOOST_TEST(sms_count() == before);
  BOOST_TEST(notices().size() == 1u);
}

BOOST_FIXTURE_TEST_CASE(i_did_not_get_the_pin_tells_the_sender_once, PortalFixture) {
  const auto tokens = put("M1", UnlockKind::phone);
  Jar jar;
  auto landing = get("/m/" + tokens[0], jar);
  auto csrf = field(landing.body, "csrf");
  // Only after a code was ordered in this session.
  BOOST_TEST(post("/m/" + tokens[0] + "/no-pin", jar, "csrf=" + csrf).status == 409);
  BOOST_TEST(notices().empty());
  csrf = order_pin(tokens[0], jar);
  auto sent = post("/m/" + tokens[0] + "/pin?lang=en", jar, "csrf=" + csrf);
  BOOST_TEST(sent.body.find("I did not get the code") != std::string::npos);
  const auto r = post("/m/" + tokens[0] + "/no-pin?lang=en", jar, "csrf=" + csrf);
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body.find("We have told the sender") != std::string::npos);
  BOOST_TEST(r.body.find("I did not get the code") == std::string::npos);
  BOOST_TEST(post("/m/" + tokens[0] + "/no-pin", jar, "csrf=" + csrf).status == 200);
  const auto n = notices();
  BOOST_TEST_REQUIRE(n.size() == 1u);
  BOOST_TEST(n[0].find("Subject: Koodi ei tullut perille: suojattu viesti M1") != std::string::npos, n[0]);
  BOOST_TEST(n[0].find("client0@example.com") != std::string::npos);
  BOOST_TEST(n[0].find("To: neuvonta-tiimi@intra.example.fi") != std::string::npos);
  BOOST_TEST(n[0].find(last_pin()) == std::string::npos);
  BOOST_TEST(n[0].find("Päätös") == std::string::npos);  // nothing of the message
  BOOST_TEST(n[0].find("401234567") == std::string::npos);
  // A scanner's GET of the path does nothing.
  BOOST_TEST(get("/m/" + tokens[0] + "/no-pin", jar).status == 405);
  BOOST_TEST(notices().size() == 1u);
}

BOOST_FIXTURE_TEST_CASE(a_failed_sms_says_so_and_is_audited, PortalFixture) {
  const auto tokens = put("M1", UnlockKind::phone);
  sms.fail = true;
  Jar jar;
  const auto csrf = field(get("/m/" + tokens[0], jar).body, "csrf");
  const auto r = post("/m/" + tokens[0] + "/pin?lang=sv", jar, "csrf=" + csrf);
  BOOST_TEST(r.status == 502);
  BOOST_TEST(r.body.find("Sms:et kunde inte skickas") != std::string::npos);
  BOOST_TEST(audits("unlock.sms", "failed") == 1u);
}

BOOST_FIXTURE_TEST_CASE(a_reply_goes_sealed_to_the_sender_in_the_same_thread, PortalFixture) {
  const auto tokens = put("M1", UnlockKind::phone);
  Jar jar;
  const auto csrf = order_pin(tokens[0], jar);
  BOOST_TEST_REQUIRE(post("/m/" + tokens[0] + "/unlock", jar, "csrf=" + csrf + "&pin=" + last_pin()).status == 303);
  auto page = get("/m/" + tokens[0] + "/read?lang=en", jar);
  BOOST_TEST(page.body.find("enctype=\"multipart/form-data\"") != std::string::npos);
  BOOST_TEST(page.body.find("<label for=\"reply-text\">") != std::string::npos);
  const auto read_csrf = field(page.body, "csrf");
  BOOST_TEST_REQUIRE(!read_csrf.empty());
  const auto multipart = [&](const std::string& token, const std::string& text, int files) {
    std::string b = "--B\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n" + token + "\r\n"
                    "--B\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n" + text + "\r\n";
    for (int i = 0; i < files; ++i) {
      b += "--B\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"C:\\docs\\liite " + std::to_string(i) +
           ".pdf\"\r\nContent-Type: application/pdf\r\n\r\n" + attachment_bytes.substr(0, 5000) + "\r\n";
    }
    return b + "--B--\r\n";
  };
  const auto send = [&](const std::string& body) {
    return call("POST", "/m/" + tokens[0] + "/reply?lang=en", jar, body, {{"content-type", "multipart/form-data; boundary=B"}});
  };
  // Errors are tied to their fields and nothing is queued.
  auto r = send(multipart(read_csrf, "   ", 0));
  BOOST_TEST(r.status == 422);
  BOOST_TEST(r.body.find("aria-describedby=\"reply-hint reply-error\"") != std::string::npos);
  BOOST_TEST(r.body.find("Write your message.") != std::string::npos);
  r = send(multipart(read_csrf, "Kiitos", 11));
  BOOST_TEST(r.status == 422);
  BOOST_TEST(r.body.find("id=\"files-error\"") != std::string::npos);
  BOOST_TEST(r.body.find(">Kiitos</textarea>") != std::string::npos);  // the text is kept
  BOOST_TEST(send(multipart("wrong", "Kiitos", 0)).status == 403);
  BOOST_TEST(st->list_queue(QueueFilter{})->empty());

  r = send(multipart(read_csrf, "Kiitos <b>viestistä</b>.\r\nTerveisin asiakas", 2));
  BOOST_TEST_REQUIRE(r.status == 303);
  BOOST_TEST(*r.header("Location") == "/m/" + tokens[0] + "/read?lang=en&replied=1");
  BOOST_TEST(get(std::string(*r.header("Location")), jar).body.find("Your reply has been sent securely") != std::string::npos);
  auto entries = st->list_queue(QueueFilter{});
  BOOST_TEST_REQUIRE(entries->size() == 1u);
  const auto& e = entries->front();
  BOOST_TEST((e.kind == DeliveryKind::reply));
  BOOST_TEST(e.recipient == "neuvonta-tiimi@intra.example.fi");
  BOOST_TEST(e.sender == "");
  auto m = st->find_message(e.message_id);
  BOOST_TEST_REQUIRE(m->has_value());
  BOOST_TEST(((*m)->kind == MessageKind::spool));
  BOOST_TEST((*m)->thread_id == "M1");
  auto reader = sealed::ContentReader::open(*st, **m, *ring);
  BOOST_TEST_REQUIRE(reader.ok());
  auto reply = mime::read_message_source(*reader);
  BOOST_TEST_REQUIRE(reply.ok());
  BOOST_TEST(reply->subject == "Re: Päätös <tärkeä>");
  BOOST_TEST(std::string(reply->header("To").value_or("")) == "neuvonta-tiimi@intra.example.fi");
  BOOST_TEST(std::string(reply->header("X-Sinetti-Reply").value_or("")) == "M1");
  BOOST_TEST(reply->texts.front().text.find("Kiitos <b>viestistä</b>.") != std::string::npos);
  BOOST_TEST_REQUIRE(reply->attachments.size() == 2u);
  BOOST_TEST(reply->attachments[0].part.filename == "liite 0.pdf");
  BOOST_TEST(reply->attachments[0].part.decoded_size == 5000u);
  BOOST_TEST(audits("message.replied", "ok") == 1u);

  // Another session that has not unlocked the link cannot reply.
  Jar other;
  const auto other_csrf = field(get("/m/" + tokens[0], other).body, "csrf");
  r = call("POST", "/m/" + tokens[0] + "/reply", other, multipart(other_csrf, "x", 0),
           {{"content-type", "multipart/form-data; boundary=B"}});
  BOOST_TEST(r.status == 303);
  BOOST_TEST(st->list_queue(QueueFilter{})->size() == 1u);
}

BOOST_FIXTURE_TEST_CASE(one_recipients_unlock_does_not_open_anothers_link, PortalFixture) {
  const auto tokens = put("M1", UnlockKind::phone, 2);
  Jar jar;
  const auto csrf = order_pin(tokens[0], jar);
  BOOST_TEST_REQUIRE(post("/m/" + tokens[0] + "/unlock", jar, "csrf=" + csrf + "&pin=" + last_pin()).status == 303);
  BOOST_TEST(get("/m/" + tokens[0] + "/read", jar).status == 200);
  BOOST_TEST(get("/m/" + tokens[1] + "/read", jar).status == 303);
  BOOST_TEST(get("/m/" + tokens[1] + "/attachment/0", jar).status == 303);
}

BOOST_FIXTURE_TEST_CASE(sessions_end_after_the_idle_timeout, PortalFixture) {
  const auto tokens = put("M1", UnlockKind::phone);
  Jar jar;
  const auto csrf = order_pin(tokens[0], jar);
  const std::string pin = last_pin();
  clock.advance(std::chrono::minutes(16));  // portal.session_idle defaults to 15m
  const auto r = post("/m/" + tokens[0] + "/unlock?lang=en", jar, "csrf=" + csrf + "&pin=" + pin);
  BOOST_TEST(r.status == 403);
  BOOST_TEST(r.body.find("The page has expired") != std::string::npos);
  BOOST_TEST(audits("unlock.pin", "accepted") == 0u);
}

BOOST_FIXTURE_TEST_CASE(attachments_stream_byte_for_byte_with_safe_headers, PortalFixture) {
  const auto tokens = put("M1", UnlockKind::phone);
  Jar jar;
  const auto csrf = order_pin(tokens[0], jar);
  BOOST_TEST_REQUIRE(post("/m/" + tokens[0] + "/unlock", jar, "csrf=" + csrf + "&pin=" + last_pin()).status == 303);
  const auto r = get("/m/" + tokens[0] + "/attachment/0", jar);
  BOOST_TEST_REQUIRE(r.status == 200);
  BOOST_TEST_REQUIRE(r.stream != nullptr);
  BOOST_TEST(*r.header("Content-Type") == "application/pdf");
  BOOST_TEST(*r.header("Content-Disposition") == "attachment; filename=\"paatos.pdf\"; filename*=UTF-8''paatos.pdf");
  BOOST_TEST(has_security_headers(r));
  std::string body;
  std::size_t largest = 0;
  BOOST_TEST(r.stream->produce([&](std::string_view piece) {
    body.append(piece);
    largest = std::max(largest, piece.size());
    return true;
  }).ok());
  BOOST_TEST(body.size() == attachment_bytes.size());
  BOOST_TEST((body == attachment_bytes));
  BOOST_TEST(largest <= 64u * 1024u);
  BOOST_TEST(get("/m/" + tokens[0] + "/attachment/1", jar).status == 404);
  BOOST_TEST(audits("message.downloaded", "ok") == 1u);
  // A consumer that goes away stops the producer.
  std::size_t pieces = 0;
  BOOST_TEST(get("/m/" + tokens[0] + "/attachment/0", jar).stream->produce([&](std::string_view) {
    ++pieces;
    return false;
  }).ok());
  BOOST_TEST(pieces == 1u);
}

BOOST_FIXTURE_TEST_CASE(html_bodies_are_sanitised_into_a_sandboxed_frame, PortalFixture) {
  const std::string png = "\x89PNG\r\n\x1a\nfake-image-bytes";
  const std::string raw =
      "From: neuvonta-tiimi@intra.example.fi\r\nTo: client@example.com\r\nSubject: Kirje\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/related; boundary=\"r\"\r\n\r\n"
      "--r\r\nContent-Type: multipart/alternative; boundary=\"a\"\r\n\r\n"
      "--a\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nplain version\r\n"
      "--a\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
      "<html><head><style>p{color:red}</style></head><body><p onclick=\"steal()\">Hei <b>asiakas</b></p>"
      "<script>alert(1)</script><img src=\"cid:logo@example.fi\" alt=\"Logo\"><img src=\"https://tracker.example/p.gif\">"
      "<a href=\"https://example.fi/ohje\">ohje</a></body></html>\r\n--a--\r\n"
      "--r\r\nContent-Type: image/png\r\nContent-ID: <logo@example.fi>\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
      base64(png) + "--r--\r\n";
  const auto tokens = put("H1", UnlockKind::device, 1, std::chrono::hours(24), raw);
  Jar jar;
  const auto landing = get("/m/" + tokens[0], jar);
  BOOST_TEST_REQUIRE(post("/m/" + tokens[0] + "/unlock", jar, "csrf=" + field(landing.body, "csrf")).status == 303);
  const auto r = get("/m/" + tokens[0] + "/read?lang=en", jar);
  BOOST_TEST_REQUIRE(r.status == 200);
  BOOST_TEST(r.body.find("<iframe class=\"html-body\" title=\"Message content\" "
                         "sandbox=\"allow-popups allow-popups-to-escape-sandbox\" srcdoc=\"") != std::string::npos);
  const auto from = r.body.find("srcdoc=\"");
  const auto srcdoc = r.body.substr(from, r.body.find('"', from + 8) - from);
  BOOST_TEST(srcdoc.find("&lt;b&gt;asiakas&lt;/b&gt;") != std::string::npos);
  BOOST_TEST(srcdoc.find("script") == std::string::npos);
  BOOST_TEST(srcdoc.find("steal") == std::string::npos);
  BOOST_TEST(srcdoc.find("tracker.example") == std::string::npos);
  BOOST_TEST(srcdoc.find("color:red") == std::string::npos);
  BOOST_TEST(srcdoc.find("src=&quot;data:image/png;base64," + base64(png).substr(0, 20)) != std::string::npos);
  BOOST_TEST(srcdoc.find("default-src &#39;none&#39;; style-src &#39;unsafe-inline&#39;; img-src data:") != std::string::npos);
  BOOST_TEST(r.body.find("Images from the internet are not shown") != std::string::npos);
  BOOST_TEST(r.body.find("plain version") == std::string::npos);
  BOOST_TEST(r.body.find("<script") == std::string::npos);
  BOOST_TEST(r.body.find("/attachment/0") == std::string::npos);  // the inline image is in the text, not a download
  BOOST_TEST(*r.header("Content-Security-Policy") == framed_page_csp);
}

BOOST_FIXTURE_TEST_CASE(a_letter_opens_on_the_first_device_only, PortalFixture) {
  const auto tokens = put("L1", UnlockKind::device);
  Jar first;
  auto landing = get("/m/" + tokens[0] + "?lang=en", first);
  BOOST_TEST(landing.body.find("Open on this device") != std::string::npos);
  BOOST_TEST(landing.body.find("name=\"pin\"") == std::string::npos);
  RawDb db(db_path);
  BOOST_TEST(db.integer("SELECT count(*) FROM device_bindings") == 0);  // a GET confirms nothing
  auto r = post("/m/" + tokens[0] + "/unlock", first, "csrf=" + field(landing.body, "csrf"));
  BOOST_TEST_REQUIRE(r.status == 303);
  bool device_cookie = false;
  for (const auto& [n, v] : r.headers) {
    if (n == "Set-Cookie" && v.starts_with("__Host-sinetti-device=")) {
      device_cookie = v.find("Max-Age=") != std::string::npos && v.find("HttpOnly") != std::string::npos &&
                      v.find("Secure") != std::string::npos;
    }
  }
  BOOST_TEST(device_cookie);
  BOOST_TEST(get("/m/" + tokens[0] + "/read", first).status == 200);
  BOOST_TEST(db.integer("SELECT count(*) FROM device_bindings") == 1);
  BOOST_TEST(audits("unlock.device", "ok") == 1u);

  // The same device in a new browser session opens it again with its device cookie.
  Jar later;
  later.cookies["__Host-sinetti-device"] = first.cookies["__Host-sinetti-device"];
  BOOST_TEST(get("/m/" + tokens[0] + "/read", later).status == 200);

  // Another device cannot.
  Jar second;
  landing = get("/m/" + tokens[0] + "?lang=en", second);
  r = post("/m/" + tokens[0] + "/unlock?lang=en", second, "csrf=" + field(landing.body, "csrf"));
  BOOST_TEST(r.status == 403);
  BOOST_TEST(r.body.find("already been opened on another device") != std::string::npos);
  BOOST_TEST(get("/m/" + tokens[0] + "/read", second).status == 303);
  BOOST_TEST(audits("unlock.device", "denied") == 1u);
}

BOOST_FIXTURE_TEST_CASE(personal_messages_are_not_available_yet, PortalFixture) {
  const auto tokens = put("P1", UnlockKind::identity);
  Jar jar;
  const auto landing = get("/m/" + tokens[0] + "?lang=en", jar);
  BOOST_TEST(landing.status == 200);
  BOOST_TEST(landing.body.find("not yet available") != std::string::npos);
  BOOST_TEST(landing.body.find("<form") == std::string::npos);
  BOOST_TEST(get("/m/" + tokens[0] + "/read", jar).status == 303);
  // A POST anyway (with this session's token, from another message's page) opens nothing and is
  // recorded as an attempt.
  const auto other = put("M2", UnlockKind::phone);
  const auto csrf = field(get("/m/" + other[0], jar).body, "csrf");
  BOOST_TEST(post("/m/" + tokens[0] + "/unlock", jar, "csrf=" + csrf).status == 403);
  BOOST_TEST(get("/m/" + tokens[0] + "/read", jar).status == 303);
  BOOST_TEST(audits("unlock.identity", "unavailable") == 1u);
}

BOOST_FIXTURE_TEST_CASE(pages_switch_language_and_state_it, PortalFixture) {
  const auto tokens = put("M1", UnlockKind::phone);
  Jar jar;
  const auto sv = get("/m/" + tokens[0] + "?lang=sv", jar);
  BOOST_TEST(sv.body.find("<html lang=\"sv\">") != std::string::npos);
  BOOST_TEST(sv.body.find("Skyddat meddelande") != std::string::npos);
  BOOST_TEST(sv.body.find("<a href=\"/m/" + tokens[0] + "?lang=fi\" lang=\"fi\" hreflang=\"fi\">suomi</a>") !=
             std::string::npos);
  BOOST_TEST(sv.body.find("<span aria-current=\"true\" lang=\"sv\">svenska</span>") != std::string::npos);
  const auto en = call("GET", "/m/" + tokens[0], jar, {}, {{"accept-language", "en-GB,en;q=0.9"}});
  BOOST_TEST(en.body.find("<html lang=\"en\">") != std::string::npos);
  const auto statement = get("/accessibility?lang=en", jar);
  BOOST_TEST(statement.status == 200);
  BOOST_TEST(statement.body.find("WCAG") != std::string::npos);
  const auto css = get("/static/portal.css", jar);
  BOOST_TEST(css.status == 200);
  BOOST_TEST(*css.header("Content-Type") == "text/css; charset=utf-8");
  BOOST_TEST(has_security_headers(css));
  BOOST_TEST(get("/nothing", jar).status == 404);
  BOOST_TEST(has_security_headers(get("/nothing", jar)));
}

BOOST_AUTO_TEST_SUITE_END()

// ---- strong identification ------------------------------------------------------------------------

namespace {

const std::string idp = "https://idp.example";

// The identity provider's side: discovery, JWKS and a token endpoint that answers with the ID
// token the test put there.
class FakeIdp final : public auth::HttpClient {
 public:
  auth::Jwk key = *auth::Jwk::generate("RSA", "idp-1");
  std::string id_token;
  int token_calls = 0;
  Result<auth::HttpReply> get(const std::string& url) override {
    if (url == idp + "/.well-known/openid-configuration") {
      return auth::HttpReply{200, nlohmann::json{{"issuer", idp}, {"authorization_endpoint", idp + "/auth"},
                                                 {"token_endpoint", idp + "/token"}, {"jwks_uri", idp + "/jwks"}}.dump()};
    }
    if (url == idp + "/jwks") {
      auto pub = key.public_json();
      pub["use"] = "sig";
      return auth::HttpReply{200, nlohmann::json{{"keys", {pub}}}.dump()};
    }
    return auth::HttpReply{404, ""};
  }
  Result<auth::HttpReply> post_form(const std::string& url, const std::vector<std::pair<std::string, std::string>>&,
                                    const std::string&) override {
    if (url != idp + "/token") return auth::HttpReply{404, ""};
    ++token_calls;
    return auth::HttpReply{200, nlohmann::json{{"id_token", id_token}}.dump()};
  }
};

std::string query_value(const std::string& url, const std::string& name) {
  const std::regex re("[?&]" + name + "=([^&]*)");
  std::smatch m;
  return std::regex_search(url, m, re) ? std::string(m[1]) : std::string();
}

struct IdentifyFixture : PortalFixture {
  std::shared_ptr<FakeIdp> idp_http = std::make_shared<FakeIdp>();
  std::shared_ptr<config::Config> oidc_cfg;
  std::unique_ptr<auth::Providers> providers;
  const std::string hetu = "010594Y9032";

  IdentifyFixture() {
    ::setenv("SINETTI_TEST_IDP_SECRET", "s3cret", 1);
    auto c = std::make_shared<config::Config>(*cfg);
    config::OidcProvider p;
    p.id = "ftn";
    p.kind = config::ProviderKind::citizen;
    p.issuer = idp;
    p.client_id = "portal";
    p.client_auth = config::ClientAuth::client_secret_basic;
    p.client_secret = config::Secret{config::Secret::Source::env, "SINETTI_TEST_IDP_SECRET", {}};
    p.scopes = {"openid"};
    p.acr_values = {"http://ftn.ficora.fi/2017/loa2"};
    p.identity_claim = "hetu";
    p.name = {{config::Language::fi, "Pankkitunnukset"}};
    c->oidc_providers = {p};
    oidc_cfg = c;
    cfg = c;
    auto loaded = auth::Providers::load(*c, idp_http, clock);
    BOOST_REQUIRE_MESSAGE(loaded.ok(), (loaded.ok() ? "" : loaded.error().message));
    providers = std::move(*loaded);
    oidc = providers.get();
    auto secret = ring->server_secret("identity");
    BOOST_REQUIRE(secret.ok());
    const auto key = crypto::identity_key(*secret, hetu);
    personal_key.assign(key.begin(), key.end());
  }

  // Start at the landing page's identify link; returns the provider URL.
  std::string start(const std::string& token, Jar& jar) {
    auto landing = get("/m/" + token, jar);
    BOOST_TEST_REQUIRE(landing.status == 200);
    const std::string href = "/auth/ftn/start?m=" + token + "&amp;lang=fi";
    BOOST_TEST_REQUIRE(landing.body.find(href) != std::string::npos);
    auto res = get("/auth/ftn/start?m=" + token + "&lang=fi", jar);
    BOOST_TEST_REQUIRE(res.status == 303);
    return std::string(res.header("Location").value_or(""));
  }

  void issue(const std::string& nonce, const std::string& code_hetu) {
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(clock.now().time_since_epoch()).count();
    nlohmann::json c = {{"iss", idp}, {"aud", "portal"}, {"sub", "s-1"}, {"iat", now}, {"exp", now + 300},
                        {"nonce", nonce}, {"acr", "http://ftn.ficora.fi/2017/loa2"}, {"hetu", code_hetu}};
    idp_http->id_token = *auth::sign_compact(idp_http->key, "RS256", c);
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(portal_identification)

BOOST_FIXTURE_TEST_CASE(identification_opens_a_personal_message_for_the_right_citizen_only, IdentifyFixture) {
  const auto tokens = put("P2", UnlockKind::identity, 2);
  Jar jar;
  const auto before = audit().size();
  const std::string url = start(tokens[0], jar);
  BOOST_TEST(url.starts_with(idp + "/auth?response_type=code&client_id=portal"));
  BOOST_TEST(query_value(url, "code_challenge_method") == "S256");
  BOOST_TEST(audit().size() == before);  // starting changes no message
  const auto session_before = jar.cookies[std::string(session_cookie)];

  issue(query_value(url, "nonce"), hetu);
  auto cb = get("/auth/ftn/callback?code=c-1&state=" + query_value(url, "state"), jar);
  BOOST_TEST_REQUIRE(cb.status == 303);
  BOOST_TEST(cb.header("Location").value_or("") == "/m/" + tokens[0] + "/read?lang=fi");
  BOOST_TEST(jar.cookies[std::string(session_cookie)] != session_before);  // a new session id
  auto read = get("/m/" + tokens[0] + "/read", jar);
  BOOST_TEST(read.status == 200);
  BOOST_TEST(audits("unlock.identity", "ok") == 1u);
  for (const auto& line : log_lines) BOOST_TEST(line.find(hetu) == std::string::npos);

  // The same callback again: the sign-in is gone from the session, the code is not redeemed twice.
  auto again = get("/auth/ftn/callback?code=c-1&state=" + query_value(url, "state"), jar);
  BOOST_TEST(again.status == 403);
  BOOST_TEST(idp_http->token_calls == 1);

  // Another citizen on the second recipient's link: refused neutrally and audited.
  Jar other;
  const std::string url2 = start(tokens[1], other);
  issue(query_value(url2, "nonce"), "131052-308T");
  auto refused = get("/auth/ftn/callback?code=c-2&state=" + query_value(url2, "state"), other);
  BOOST_TEST(refused.status == 403);
  BOOST_TEST(refused.body.find("role=\"alert\"") != std::string::npos);
  BOOST_TEST(audits("unlock.identity", "mismatch") == 1u);
  BOOST_TEST(get("/m/" + tokens[1] + "/read", other).status == 303);
}

BOOST_FIXTURE_TEST_CASE(a_callback_with_the_wrong_state_is_refused_and_audited, IdentifyFixture) {
  const auto tokens = put("P3", UnlockKind::identity);
  Jar jar;
  const std::string url = start(tokens[0], jar);
  issue(query_value(url, "nonce"), hetu);
  auto cb = get("/auth/ftn/callback?code=c-9&state=not-the-state", jar);
  BOOST_TEST(cb.status == 403);
  BOOST_TEST(idp_http->token_calls == 0);
  BOOST_TEST(audits("unlock.identity", "refused") == 1u);
  BOOST_TEST(get("/m/" + tokens[0] + "/read", jar).status == 303);
}

BOOST_FIXTURE_TEST_CASE(the_jwks_path_publishes_no_private_key, IdentifyFixture) {
  Jar jar;
  auto res = get("/auth/jwks.json", jar);
  BOOST_TEST(res.status == 200);
  BOOST_TEST(res.body.find("\"keys\"") != std::string::npos);
  BOOST_TEST(res.body.find("\"d\"") == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
