// Client-initiated protected messages through the handler, on a real SqliteStore and key ring,
// with a citizen identity bound to the session as the OpenID Connect callback binds it: /new and
// /threads offer identification and change nothing without one; POST /new needs the CSRF token,
// refuses each invalid field with its own error, and stores exactly one thread, one sealed
// message, the team's read and reply links and one queued team notification; /threads shows only
// the identity's own threads, another identity's thread is the same 404 as an unknown one.
#include <boost/test/unit_test.hpp>

#include <regex>

#include "../store/store_fixture.hpp"
#include "portal_test_support.hpp"
#include "crypto/key_ring.hpp"
#include "gateway/i18n/templates.hpp"
#include "gateway/log.hpp"
#include "gateway/portal/client_message.hpp"
#include "gateway/portal/handler.hpp"
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
  max_body_size: 1MiB
delivery:
  transport: "maildir:var/mail"
notifications:
  from: "turvaposti@tyollisyys.example.fi"
teams:
  - {id: neuvonta, name: {fi: Neuvonta, sv: Rådgivning, en: Advice}, address: neuvonta@tyollisyys.example.fi,
     mailbox: neuvonta-tiimi@intra.example.fi}
  - {id: nuoret, name: {fi: Nuorten palvelut, sv: Ungdomstjänster, en: Youth services}, address: nuoret@tyollisyys.example.fi,
     mailbox: nuoret-tiimi@intra.example.fi}
routing:
  rules:
    - {name: rest, action: {reject: {code: 550, text: "5.1.1 No"}}}
)";

const std::string boundary = "----sinettiform";

struct File {
  std::string name;
  std::string type;
  std::string data;
};

std::string multipart(const std::vector<std::pair<std::string, std::string>>& fields, const std::vector<File>& files) {
  std::string body;
  for (const auto& [n, v] : fields) {
    body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + n + "\"\r\n\r\n" + v + "\r\n";
  }
  for (const auto& f : files) {
    body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"" + f.name +
            "\"\r\nContent-Type: " + f.type + "\r\n\r\n" + f.data + "\r\n";
  }
  return body + "--" + boundary + "--\r\n";
}

struct ClientFixture : Fixture {
  std::filesystem::path keys = dir.path() / "keys";
  std::shared_ptr<const config::Config> cfg;
  std::unique_ptr<SqliteStore> st;
  std::optional<crypto::KeyRing> ring;
  std::shared_ptr<const i18n::Templates> templates;
  std::vector<std::string> log_lines;
  log::Logger logger{[this](std::string_view line) { log_lines.emplace_back(line); }, &clock, log::Level::debug};
  const Bytes alice = Bytes(32, 0xa1);
  const Bytes bob = Bytes(32, 0xb2);
  std::string last_csrf;  // the CSRF token of the session identified() made last

  ClientFixture() {
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

  SessionKeeper keeper() {
    auto secret = ring->server_secret("session");
    BOOST_REQUIRE(secret.ok());
    return SessionKeeper(*st, *secret, clock, cfg->portal.session_idle, cfg->portal.session_absolute);
  }

  // A session with a citizen identity bound, as the callback leaves it.
  Jar identified(const Bytes& key, auth::IdentityKind kind = auth::IdentityKind::citizen) {
    auth::Identity id;
    id.kind = kind;
    id.provider = kind == auth::IdentityKind::citizen ? "ftn" : "staff";
    id.verified_at = clock.now();
    if (kind == auth::IdentityKind::citizen) {
      id.identity_key = key;
      id.acr = "http://ftn.ficora.fi/2017/loa2";
    } else {
      id.subject = "s-1";
      id.email = "staff@intra.example.fi";
    }
    auto s = keeper().create({}, id);
    BOOST_REQUIRE(s.ok());
    last_csrf = keeper().csrf_token(*s);
    Jar jar;
    jar.cookies[std::string(session_cookie)] = s->id;
    return jar;
  }

  Response call(const std::string& method, const std::string& target, Jar& jar, const std::string& body = {},
                const std::string& type = {}) {
    Request r;
    r.method = method;
    r.target = target;
    if (!jar.cookies.empty()) r.headers.emplace_back("cookie", jar.header());
    if (method == "POST") {
      r.headers.emplace_back("content-type", type.empty() ? "multipart/form-data; boundary=" + boundary : type);
    }
    r.body = body;
    PortalContext c{*cfg, *templates, *st, *ring, nullptr, clock, logger, nullptr};
    auto res = handle(r, c);
    jar.take(res);
    return res;
  }
  Response get(const std::string& target, Jar& jar) { return call("GET", target, jar); }

  // The form's CSRF token (GET /new as the identified client).
  std::string csrf(Jar& jar) {
    const auto page = get("/new?lang=en", jar);
    BOOST_REQUIRE_EQUAL(page.status, 200);
    const auto token = field(page.body, "csrf");
    BOOST_REQUIRE(!token.empty());
    return token;
  }

  Response send(Jar& jar, const std::string& team, const std::string& subject, const std::string& text,
                const std::vector<File>& files = {}, std::optional<std::string> token = std::nullopt) {
    const std::string t = token ? *token : csrf(jar);
    return call("POST", "/new?lang=en", jar, multipart({{"csrf", t}, {"team", team}, {"subject", subject}, {"text", text}}, files));
  }
  // POST /new with the notification address field.
  Response send_address(Jar& jar, const std::string& address) {
    return call("POST", "/new?lang=en", jar,
                multipart({{"csrf", csrf(jar)}, {"team", "neuvonta"}, {"subject", "Hakemus"}, {"text", "Teksti"}, {"address", address}}, {}));
  }

  std::int64_t count(const std::string& sql) {
    RawDb db(db_path);
    return db.integer(sql);
  }
  std::int64_t threads() { return count("SELECT count(*) FROM threads"); }
  std::int64_t messages() { return count("SELECT count(*) FROM messages"); }
  std::int64_t queued() { return count("SELECT count(*) FROM queue_entries"); }

  std::size_t audits(const std::string& event) {
    std::size_t n = 0;
    BOOST_REQUIRE(st->export_audit(0, [&](const AuditRecord& r) {
      n += r.event == event;
      return true;
    }).ok());
    return n;
  }

  std::string open_text(const MessageMeta& m) {
    auto reader = sealed::ContentReader::open(*st, m, *ring);
    BOOST_REQUIRE(reader.ok());
    std::string text;
    for (;;) {
      auto piece = (*reader)->next();
      BOOST_REQUIRE(piece.ok());
      if (piece->empty()) break;
      text.append(*piece);
    }
    return text;
  }

  // "/threads/T/sent/M?lang=en" → {T, M}
  static std::pair<std::string, std::string> sent_ids(const Response& r) {
    const auto loc = std::string(r.header("Location").value_or(""));
    const std::regex re("^/threads/([A-Z0-9]+)/sent/([A-Z0-9]+)\\?lang=en$");
    std::smatch m;
    BOOST_REQUIRE_MESSAGE(std::regex_match(loc, m, re), "location: " << loc);
    return {m[1], m[2]};
  }

  std::string logs() const {
    std::string all;
    for (const auto& l : log_lines) all += l;
    return all;
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(portal_client)

BOOST_FIXTURE_TEST_CASE(not_identified_offers_identification_and_no_form, ClientFixture) {
  Jar none;
  for (const std::string path : {"/new?lang=en", "/threads?lang=en"}) {
    const auto page = get(path, none);
    BOOST_TEST(page.status == 200);
    BOOST_TEST(page.body.find("<form") == std::string::npos);
    BOOST_TEST(page.body.find("strong identification") != std::string::npos);
  }
  // A staff sign-in is not a citizen's identification.
  Jar staff = identified({}, auth::IdentityKind::staff);
  const auto page = get("/new?lang=en", staff);
  BOOST_TEST(page.body.find("<form") == std::string::npos);
  BOOST_TEST(page.body.find("member of staff") != std::string::npos);
  // GETs created nothing, not even a session.
  BOOST_TEST(none.cookies.empty());
  BOOST_TEST(threads() == 0);
  BOOST_TEST(messages() == 0);
}

BOOST_FIXTURE_TEST_CASE(form_lists_teams_in_the_page_language, ClientFixture) {
  Jar jar = identified(alice);
  const auto sv = get("/new?lang=sv", jar);
  BOOST_TEST(sv.status == 200);
  BOOST_TEST(sv.body.find(">Rådgivning</option>") != std::string::npos);
  BOOST_TEST(sv.body.find(">Ungdomstjänster</option>") != std::string::npos);
  BOOST_TEST(sv.body.find("Neuvonta") == std::string::npos);
  BOOST_TEST(sv.body.find("enctype=\"multipart/form-data\"") != std::string::npos);
  BOOST_TEST(!field(sv.body, "csrf").empty());
  BOOST_TEST(sv.body.find("aria-invalid") == std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(post_without_csrf_or_identity_changes_nothing, ClientFixture) {
  Jar jar = identified(alice);
  auto missing = call("POST", "/new?lang=en", jar, multipart({{"team", "neuvonta"}, {"subject", "S"}, {"text", "T"}}, {}));
  BOOST_TEST(missing.status == 403);
  auto wrong = send(jar, "neuvonta", "S", "T", {}, std::string("not-the-token"));
  BOOST_TEST(wrong.status == 403);
  // A valid token of another session is no token for this one.
  Jar other = identified(bob);
  auto foreign = send(jar, "neuvonta", "S", "T", {}, csrf(other));
  BOOST_TEST(foreign.status == 403);
  // No session at all.
  Jar none;
  auto anonymous = send(none, "neuvonta", "S", "T", {}, std::string("x"));
  BOOST_TEST(anonymous.status == 403);
  // A session (with its CSRF token) but a staff identity: back to identification.
  Jar staff = identified({}, auth::IdentityKind::staff);
  auto by_staff = call("POST", "/new?lang=en", staff, "csrf=" + last_csrf + "&team=neuvonta&subject=S&text=T",
                       "application/x-www-form-urlencoded");
  BOOST_TEST(by_staff.status == 303);
  BOOST_TEST(std::string(by_staff.header("Location").value_or("")) == "/new?lang=en");
  BOOST_TEST(threads() == 0);
  BOOST_TEST(messages() == 0);
  BOOST_TEST(queued() == 0);
}

BOOST_FIXTURE_TEST_CASE(each_invalid_field_has_its_own_error, ClientFixture) {
  Jar jar = identified(alice);
  const auto invalid = [&](const Response& r, const std::string& id) {
    BOOST_TEST(r.status == 422);
    BOOST_TEST(r.body.find("id=\"" + id + "\" class=\"error\"") != std::string::npos, id);
    const bool tied = r.body.find("aria-describedby=\"" + id + "\" aria-invalid=\"true\"") != std::string::npos ||
                      r.body.find(" " + id + "\" aria-invalid=\"true\"") != std::string::npos;
    BOOST_TEST(tied, id);
    BOOST_TEST(r.body.find("role=\"alert\"") != std::string::npos);
  };
  invalid(send(jar, "nobody", "Subject", "Text"), "team-error");
  invalid(send(jar, "neuvonta", "  ", "Text"), "subject-error");
  invalid(send(jar, "neuvonta", std::string(max_client_subject + 1, 'x'), "Text"), "subject-error");
  invalid(send(jar, "neuvonta", "Bad \xff subject", "Text"), "subject-error");
  invalid(send(jar, "neuvonta", "Subject", " \r\n "), "text-error");
  invalid(send(jar, "neuvonta", "Subject", std::string(max_client_text + 1, 'y')), "text-error");
  invalid(send(jar, "neuvonta", "Subject", "Bad \xc3\x28 text"), "text-error");
  std::vector<File> many;
  for (std::size_t i = 0; i <= max_client_files; ++i) many.push_back({"f" + std::to_string(i) + ".txt", "text/plain", "x"});
  invalid(send(jar, "neuvonta", "Subject", "Text", many), "files-error");
  // Each error names its own field only; the rest of the draft is kept.
  const auto r = send(jar, "neuvonta", "Keep this subject", " ");
  BOOST_TEST(r.body.find("Keep this subject") != std::string::npos);
  BOOST_TEST(r.body.find("team-error") == std::string::npos);
  BOOST_TEST(r.body.find("subject-error") == std::string::npos);
  BOOST_TEST(r.body.find("value=\"neuvonta\" selected") != std::string::npos);
  BOOST_TEST(threads() == 0);
  BOOST_TEST(messages() == 0);
  BOOST_TEST(queued() == 0);
}

BOOST_FIXTURE_TEST_CASE(files_together_beyond_the_body_limit_are_refused, ClientFixture) {
  Jar jar = identified(alice);
  ClientDraft d;
  d.team_id = "neuvonta";
  d.subject = "S";
  d.text = "T";
  const std::string big(cfg->portal.max_body_size / 2 + 1, 'z');
  FormPart a{"attachment", std::string("a.bin"), "application/octet-stream", big};
  FormPart b{"attachment", std::string("b.bin"), "application/octet-stream", big};
  d.files = {&a};
  BOOST_TEST(!check_draft(*cfg, d, true).any());
  d.files = {&a, &b};
  const auto e = check_draft(*cfg, d, true);
  BOOST_TEST(e.files_large);
  BOOST_TEST(!e.files_many);
}

BOOST_FIXTURE_TEST_CASE(a_sent_message_is_one_thread_one_sealed_message_one_team_notification, ClientFixture) {
  Jar jar = identified(alice);
  const std::string secret_text = "Tarvitsen apua hakemuksen kanssa. MARKER-7f3a";
  const auto sent = send(jar, "neuvonta", "Hakemus", secret_text, {{"liite.pdf", "application/pdf", "%PDF-1.4 MARKER-pdf"}});
  BOOST_REQUIRE_EQUAL(sent.status, 303);
  const auto [thread_id, message_id] = sent_ids(sent);
  BOOST_TEST(threads() == 1);
  BOOST_TEST(count("SELECT count(*) FROM messages WHERE kind = 'protected'") == 1);
  BOOST_TEST(count("SELECT count(*) FROM messages WHERE kind = 'notification'") == 1);
  BOOST_TEST(queued() == 1);

  auto thread = st->find_thread(thread_id);
  BOOST_REQUIRE(thread.ok() && thread->has_value());
  BOOST_TEST((*thread)->team_id == "neuvonta");
  BOOST_TEST((*thread)->client_identity == alice);
  BOOST_TEST((*thread)->client_address == "");
  BOOST_TEST((*thread)->language == "en");

  auto meta = st->find_message(message_id);
  BOOST_REQUIRE(meta.ok() && meta->has_value());
  const MessageMeta& m = **meta;
  BOOST_TEST(m.thread_id == thread_id);
  BOOST_TEST(m.team_id == "neuvonta");
  BOOST_TEST(m.sender == "");
  BOOST_TEST(m.recipients == std::vector<std::string>{"neuvonta-tiimi@intra.example.fi"});
  BOOST_TEST(m.unlock.kind == UnlockKind::device);
  BOOST_TEST(written_by_client(*cfg, m));
  // Sealed: the plaintext is nowhere in the database file; opened, it is the client's message.
  RawDb db(db_path);
  BOOST_TEST(db.integer("SELECT count(*) FROM content_chunks WHERE instr(data, 'MARKER-7f3a') > 0") == 0);
  const auto content = open_text(m);
  auto parsed = mime::read_message(content);
  BOOST_REQUIRE(parsed.ok());
  BOOST_TEST(parsed->subject == "Hakemus");
  BOOST_REQUIRE(!parsed->texts.empty());
  BOOST_TEST(parsed->texts.front().text.find("MARKER-7f3a") != std::string::npos);
  BOOST_REQUIRE_EQUAL(parsed->attachments.size(), 1u);
  BOOST_TEST(parsed->attachments[0].part.filename == "liite.pdf");

  // The team's read link and reply address, like a team copy from ingest.
  BOOST_TEST(count("SELECT count(*) FROM read_tokens WHERE message_id = '" + message_id +
                   "' AND purpose = 'read' AND recipient = 'neuvonta-tiimi@intra.example.fi'") == 1);
  BOOST_TEST(count("SELECT count(*) FROM read_tokens WHERE message_id = '" + message_id + "' AND purpose = 'reply'") == 1);

  // The notification: to the team mailbox, a link, Reply-To the reply address, no content.
  auto entries = st->list_queue(QueueFilter{});
  BOOST_REQUIRE(entries.ok() && entries->size() == 1);
  const auto& q = entries->front();
  BOOST_TEST(q.kind == DeliveryKind::notification);
  BOOST_TEST(q.recipient == "neuvonta-tiimi@intra.example.fi");
  BOOST_TEST(q.sender == "");
  auto nm = st->find_message(q.message_id);
  BOOST_REQUIRE(nm.ok() && nm->has_value());
  BOOST_TEST((*nm)->thread_id == thread_id);
  const auto note = open_text(**nm);
  BOOST_TEST(note.find("MARKER") == std::string::npos);
  BOOST_TEST(note.find("Hakemus") == std::string::npos);
  BOOST_TEST(note.find("https://turvaposti.example.fi/") != std::string::npos);
  BOOST_TEST(note.find(message_id) != std::string::npos);
  auto mail = mime::read_message(note);
  BOOST_REQUIRE(mail.ok());
  const std::string reply_to(mail->header("Reply-To").value_or(""));
  BOOST_TEST(reply_to.find("@tyollisyys.example.fi") != std::string::npos, reply_to);

  BOOST_TEST(audits("thread.created") == 1u);
  BOOST_TEST(audits("message.stored") == 1u);
  BOOST_TEST(audits("notification.queued") == 1u);
  BOOST_TEST(logs().find("MARKER") == std::string::npos);
  BOOST_TEST(logs().find("Hakemus") == std::string::npos);

  // The receipt: reference, team, time; no content.
  const auto receipt = get("/threads/" + thread_id + "/sent/" + message_id + "?lang=en", jar);
  BOOST_TEST(receipt.status == 200);
  BOOST_TEST(receipt.body.find(message_id) != std::string::npos);
  BOOST_TEST(receipt.body.find("Advice") != std::string::npos);
  BOOST_TEST(receipt.body.find("MARKER") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(plain_addresses_only) {
  for (const char* ok : {"maija.meikalainen@example.com", "a+tag@sub.example.fi", "x_y-z@a-b.example.org", "o'brien@example.ie"}) {
    BOOST_TEST(plain_address(ok), ok);
  }
  const std::string long_local = std::string(65, 'a') + "@example.com";
  const std::string long_all = "a@" + std::string(250, 'b') + ".fi";
  for (const std::string& bad : std::vector<std::string>{"", "plain", "@example.com", "a@", "a@@example.com", "a@b@example.com", "a b@example.com",
                                "a@example .com", "a@example.com\r\nBcc: x@example.com", "a@example.com\n", "\"a b\"@example.com",
                                "\"a\"@example.com", "Maija <m@example.com>", "m@example.com, n@example.com", "m@example.com;",
                                "a.@example.com", ".a@example.com", "a..b@example.com", "a@example..com", "a@-example.com",
                                "a@example-.com", "a@localhost", "a@[127.0.0.1]", "a(comment)@example.com", "a\\b@example.com",
                                "\xc3\xa4@example.com", "a@ex\tample.com", long_local, long_all}) {
    BOOST_TEST(!plain_address(bad), bad);
  }
}

BOOST_FIXTURE_TEST_CASE(own_addresses_are_refused_as_the_client_s, ClientFixture) {
  BOOST_TEST(own_address(*cfg, "neuvonta-tiimi@intra.example.fi"));  // a team's mailbox
  BOOST_TEST(own_address(*cfg, "NUORET@tyollisyys.example.fi"));     // a team's public address
  BOOST_TEST(own_address(*cfg, "anyone@tyollisyys.example.fi"));     // the notification and reply domain
  BOOST_TEST(own_address(*cfg, "x@turvaposti.example.fi"));          // the public host
  BOOST_TEST(!own_address(*cfg, "maija@example.com"));
  BOOST_TEST(!own_address(*cfg, "colleague@intra.example.fi"));  // the organisation's other addresses are people
  ClientDraft d{"neuvonta", "Hakemus", "Teksti", "neuvonta@tyollisyys.example.fi", {}};
  auto e = check_draft(*cfg, d, true);
  BOOST_TEST(e.address_ours);
  BOOST_TEST(!e.address_invalid);
  BOOST_TEST(e.any());
  d.address = "";
  BOOST_TEST(!check_draft(*cfg, d, true).any());  // empty: no notifications, not an error
  d.address = "bad address";
  e = check_draft(*cfg, d, true);
  BOOST_TEST(e.address_invalid);
  BOOST_TEST(!e.address_ours);
}

BOOST_FIXTURE_TEST_CASE(the_notification_address_is_checked_stored_and_shown_on_the_receipt, ClientFixture) {
  Jar jar = identified(alice);
  const auto field_error = [&](const Response& r) {
    BOOST_TEST(r.status == 422);
    BOOST_TEST(r.body.find("id=\"address-error\" class=\"error\"") != std::string::npos);
    BOOST_TEST(r.body.find(" address-error\" aria-invalid=\"true\"") != std::string::npos);
    BOOST_TEST(r.body.find("team-error") == std::string::npos);
    BOOST_TEST(r.body.find("text-error") == std::string::npos);
  };
  auto bad = send_address(jar, "maija at example.com");
  field_error(bad);
  BOOST_TEST(bad.body.find("name@example.fi") != std::string::npos);
  auto ours = send_address(jar, "neuvonta-tiimi@intra.example.fi");
  field_error(ours);
  BOOST_TEST(ours.body.find("address of the service itself") != std::string::npos);
  BOOST_TEST(ours.body.find("value=\"neuvonta-tiimi@intra.example.fi\"") != std::string::npos);  // kept to correct
  BOOST_TEST(threads() == 0);

  // The form's field: labelled, with its hint.
  const auto form = get("/new?lang=en", jar);
  BOOST_TEST(form.body.find("<label for=\"new-address\">") != std::string::npos);
  BOOST_TEST(form.body.find("id=\"new-address\" class=\"wide\" name=\"address\" type=\"email\"") != std::string::npos);
  BOOST_TEST(form.body.find("never the message") != std::string::npos);

  // Valid (surrounding white space dropped): the thread's client address, shown on the receipt, never logged.
  const auto sent = send_address(jar, " maija.meikalainen@example.com ");
  BOOST_REQUIRE_EQUAL(sent.status, 303);
  const auto [thread_id, message_id] = sent_ids(sent);
  auto thread = st->find_thread(thread_id);
  BOOST_REQUIRE(thread.ok() && thread->has_value());
  BOOST_TEST((*thread)->client_address == "maija.meikalainen@example.com");
  const auto receipt = get("/threads/" + thread_id + "/sent/" + message_id + "?lang=en", jar);
  BOOST_TEST(receipt.status == 200);
  BOOST_TEST(receipt.body.find("Notices of replies go to <strong>maija.meikalainen@example.com</strong>") != std::string::npos);
  BOOST_TEST(logs().find("maija") == std::string::npos);
  // The team notification still goes to the team only.
  auto entries = st->list_queue(QueueFilter{});
  BOOST_REQUIRE(entries.ok() && entries->size() == 1);
  BOOST_TEST(entries->front().recipient == "neuvonta-tiimi@intra.example.fi");

  // Empty: none, and the receipt says so.
  const auto none = send(jar, "neuvonta", "Toinen", "Teksti");
  BOOST_REQUIRE_EQUAL(none.status, 303);
  const auto [t2, m2] = sent_ids(none);
  auto thread2 = st->find_thread(t2);
  BOOST_REQUIRE(thread2.ok() && thread2->has_value());
  BOOST_TEST((*thread2)->client_address == "");
  const auto receipt2 = get("/threads/" + t2 + "/sent/" + m2 + "?lang=en", jar);
  BOOST_TEST(receipt2.body.find("No e-mail notices are sent about replies.") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(threads_lists_only_the_identity_s_own_threads, ClientFixture) {
  Jar a = identified(alice);
  Jar b = identified(bob);
  const auto [alice_thread, alice_message] = sent_ids(send(a, "neuvonta", "Alice", "Alice's text ALICE-ONLY",
                                                            {{"a.txt", "text/plain", "alice file ALICE-FILE"}}));
  const auto [bob_thread, bob_message] = sent_ids(send(b, "nuoret", "Bob", "Bob's text BOB-ONLY"));

  const auto list = get("/threads?lang=en", a);
  BOOST_TEST(list.status == 200);
  BOOST_TEST(list.body.find("/threads/" + alice_thread) != std::string::npos);
  BOOST_TEST(list.body.find("/threads/" + bob_thread) == std::string::npos);
  BOOST_TEST(list.body.find("Youth services") == std::string::npos);

  // Alice's thread: her message, opened for reading, with its attachment as a download.
  const auto page = get("/threads/" + alice_thread + "?lang=en", a);
  BOOST_TEST(page.status == 200);
  BOOST_TEST(page.body.find("ALICE-ONLY") != std::string::npos);
  BOOST_TEST(page.body.find("From you") != std::string::npos);
  const std::string download = "/threads/" + alice_thread + "/attachment/" + alice_message + "/0";
  BOOST_TEST(page.body.find(download) != std::string::npos);
  const auto file = get(download, a);
  BOOST_TEST(file.status == 200);
  BOOST_REQUIRE(file.stream);
  std::string bytes;
  BOOST_REQUIRE(file.stream->produce([&](std::string_view p) {
    bytes.append(p);
    return true;
  }).ok());
  BOOST_TEST(bytes == "alice file ALICE-FILE");

  // Bob's thread, to Alice: the same 404 as a thread that does not exist.
  const auto foreign = get("/threads/" + bob_thread + "?lang=en", a);
  const auto unknown = get("/threads/01ABCDEFGHJKMNPQRS?lang=en", a);
  BOOST_TEST(foreign.status == 404);
  BOOST_TEST(unknown.status == 404);
  // The same page but for the language switch, which links to the page's own path.
  const auto unlinked = [](std::string body, const std::string& id) {
    for (auto at = body.find(id); at != std::string::npos; at = body.find(id)) body.replace(at, id.size(), "ID");
    return body;
  };
  BOOST_TEST(unlinked(foreign.body, bob_thread) == unlinked(unknown.body, "01ABCDEFGHJKMNPQRS"));
  BOOST_TEST(foreign.body.find("BOB") == std::string::npos);
  BOOST_TEST(get("/threads/" + bob_thread + "/sent/" + bob_message + "?lang=en", a).status == 404);
  BOOST_TEST(get("/threads/" + bob_thread + "/attachment/" + bob_message + "/0", a).status == 404);
  // Another thread's message through one's own thread id is not found either.
  BOOST_TEST(get("/threads/" + alice_thread + "/attachment/" + bob_message + "/0", a).status == 404);
  BOOST_TEST(get("/threads/" + alice_thread + "/sent/" + bob_message + "?lang=en", a).status == 404);
}

BOOST_FIXTURE_TEST_CASE(staff_replies_bound_to_the_identity_are_readable_in_the_thread, ClientFixture) {
  Jar a = identified(alice);
  const auto [thread_id, first] = sent_ids(send(a, "neuvonta", "Kysymys", "Question text"));
  // A staff reply as ingest stores it for a thread without a client address: level personal.
  const auto add_reply = [&](const std::string& id, const Bytes& identity, const std::string& body,
                             const std::string& sender = "staff@intra.example.fi") {
    const std::string raw = "From: Neuvonta <neuvonta@tyollisyys.example.fi>\r\nTo: x@example.fi\r\nSubject: Re\r\n"
                            "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n";
    auto key = crypto::DataKey::generate();
    MessageMeta m;
    m.id = id;
    m.kind = MessageKind::protected_message;
    m.protection = identity.empty() ? ProtectionLevel::letter : ProtectionLevel::personal;
    m.unlock.kind = identity.empty() ? UnlockKind::device : UnlockKind::identity;
    m.unlock.identity_hash = identity;
    m.sender = sender;
    if (identity.empty()) m.recipients = {"neuvonta@tyollisyys.example.fi"};
    m.team_id = "neuvonta";
    m.thread_id = thread_id;
    m.size = raw.size();
    m.wrapped_key = ring->wrap(key, id);
    m.kek_id = ring->active_kek();
    CommitBatch batch;
    batch.messages.push_back(MessageCommit{id, m, sealed::seal_pieces(key, id, raw), raw.size()});
    BOOST_REQUIRE(st->commit(batch).ok());
  };
  clock.advance(std::chrono::minutes(5));
  add_reply("R1", alice, "The answer STAFF-REPLY");
  add_reply("R2", bob, "Someone else's OTHER-IDENTITY");
  // A team copy from ingest (mail from the null sender to the team's address) in the thread is not
  // the client's own message: not opened here.
  add_reply("R3", {}, "Mail from elsewhere INGEST-COPY", "");
  const auto page = get("/threads/" + thread_id + "?lang=en", a);
  BOOST_TEST(page.status == 200);
  BOOST_TEST(page.body.find("STAFF-REPLY") != std::string::npos);
  BOOST_TEST(page.body.find("OTHER-IDENTITY") == std::string::npos);
  BOOST_TEST(page.body.find("From team Advice") != std::string::npos);
  BOOST_TEST(page.body.find("cannot be shown here (reference R2)") != std::string::npos);
  BOOST_TEST(page.body.find("INGEST-COPY") == std::string::npos);
  BOOST_TEST(page.body.find("cannot be shown here (reference R3)") != std::string::npos);
  const auto list = get("/threads?lang=en", a);
  BOOST_TEST(list.body.find("<td>4</td>") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(a_follow_up_goes_to_the_same_thread_and_notifies_the_team_again, ClientFixture) {
  Jar a = identified(alice);
  const auto [thread_id, first] = sent_ids(send(a, "neuvonta", "Kysymys", "First"));
  const auto page = get("/threads/" + thread_id + "?lang=en", a);
  const auto token = field(page.body, "csrf");
  BOOST_REQUIRE(!token.empty());
  // Empty text: an error, nothing stored.
  const auto empty = call("POST", "/threads/" + thread_id + "/reply?lang=en", a, multipart({{"csrf", token}, {"text", " "}}, {}));
  BOOST_TEST(empty.status == 422);
  BOOST_TEST(empty.body.find("id=\"text-error\"") != std::string::npos);
  // Without the token: refused.
  BOOST_TEST(call("POST", "/threads/" + thread_id + "/reply?lang=en", a, multipart({{"text", "More"}}, {})).status == 403);
  BOOST_TEST(queued() == 1);
  const auto more = call("POST", "/threads/" + thread_id + "/reply?lang=en", a,
                         multipart({{"csrf", token}, {"text", "Second FOLLOW-UP"}}, {}));
  BOOST_REQUIRE_EQUAL(more.status, 303);
  const auto [same_thread, second] = sent_ids(more);
  BOOST_TEST(same_thread == thread_id);
  BOOST_TEST(second != first);
  BOOST_TEST(threads() == 1);
  BOOST_TEST(queued() == 2);
  BOOST_TEST(audits("thread.created") == 1u);
  BOOST_TEST(audits("message.stored") == 2u);
  const auto shown = get("/threads/" + thread_id + "?lang=en", a);
  BOOST_TEST(shown.body.find("FOLLOW-UP") != std::string::npos);
  // Another identity cannot write into it.
  Jar b = identified(bob);
  const auto bob_token = csrf(b);
  const auto foreign = call("POST", "/threads/" + thread_id + "/reply?lang=en", b, multipart({{"csrf", bob_token}, {"text", "x"}}, {}));
  BOOST_TEST(foreign.status == 404);
  BOOST_TEST(queued() == 2);
  // A closed thread takes no more messages.
  BOOST_REQUIRE(st->set_thread_state(thread_id, ThreadState::open, ThreadState::closed, {}).ok());
  const auto closed = call("POST", "/threads/" + thread_id + "/reply?lang=en", a, multipart({{"csrf", token}, {"text", "Third"}}, {}));
  BOOST_TEST(closed.status == 409);
  BOOST_TEST(queued() == 2);
}

BOOST_FIXTURE_TEST_CASE(routes_and_methods, ClientFixture) {
  Jar a = identified(alice);
  BOOST_TEST(call("PUT", "/new", a).status == 405);
  BOOST_TEST(call("POST", "/threads", a, "", "application/x-www-form-urlencoded").status == 405);
  BOOST_TEST(get("/threads/../new", a).status == 404);
  BOOST_TEST(get("/new/extra", a).status == 404);
  BOOST_TEST(get("/threads/A/attachment/B/01", a).status == 404);
}

BOOST_AUTO_TEST_SUITE_END()
