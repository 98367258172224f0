// The portal's staff views without sockets, on a real SqliteStore, key ring and relying party (the
// identity provider's HTTP side is a fake that signs the ID tokens a test asks for): a team link
// opens with staff sign-in only, GETs never claim, the first POST claims, the others see who holds
// it and no content, only the claimant reads, downloads and replies, and team leads release and
// reassign — each audited.
#include <boost/test/unit_test.hpp>

#include <regex>

#include "../store/store_fixture.hpp"
#include "portal_test_support.hpp"
#include "crypto/key_ring.hpp"
#include "crypto/sealed_stream.hpp"
#include "crypto/tokens.hpp"
#include "gateway/auth/jose.hpp"
#include "gateway/auth/providers.hpp"
#include "gateway/i18n/templates.hpp"
#include "gateway/log.hpp"
#include "gateway/portal/handler.hpp"
#include "gateway/portal/session.hpp"
#include "gateway/portal/team_link.hpp"
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
     mailbox: neuvonta-tiimi@intra.example.fi, staff_group: neuvonta-staff, lead_group: neuvonta-leads}
routing:
  rules:
    - {name: rest, action: {reject: {code: 550, text: "5.1.1 No"}}}
)";

const std::string idp = "https://idp.example";
const std::string mailbox = "neuvonta-tiimi@intra.example.fi";
const std::string client = "asiakas@example.com";

std::string message_text() {
  return "From: Asiakas <asiakas@example.com>\r\n"
         "To: neuvonta@tyollisyys.example.fi\r\n"
         "Subject: Hakemus\r\n"
         "Message-ID: <m1@example.com>\r\n"
         "MIME-Version: 1.0\r\n"
         "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
         "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
         "Henkilotunnukseni on luottamuksellinen sisalto.\r\n"
         "--b1\r\nContent-Type: application/pdf; name=\"liite.pdf\"\r\n"
         "Content-Disposition: attachment; filename=\"liite.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
         "JVBERi0xLjQK\r\n--b1--\r\n";
}

class FakeIdp final : public auth::HttpClient {
 public:
  auth::Jwk key = *auth::Jwk::generate("RSA", "idp-1");
  std::string id_token;
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
    return auth::HttpReply{200, nlohmann::json{{"id_token", id_token}}.dump()};
  }
};

std::string query_value(const std::string& url, const std::string& name) {
  const std::regex re("[?&]" + name + "=([^&]*)");
  std::smatch m;
  return std::regex_search(url, m, re) ? std::string(m[1]) : std::string();
}

struct Staff {
  std::string sub, name, email;
  std::vector<std::string> groups;
};
const Staff anna{"emp-1", "Anna Aho", "anna.aho@intra.example.fi", {"neuvonta-staff"}};
const Staff bertta{"emp-2", "Bertta Berg", "bertta.berg@intra.example.fi", {"neuvonta-staff"}};
const Staff liisa{"emp-3", "Liisa Lehto", "liisa.lehto@intra.example.fi", {"neuvonta-staff", "neuvonta-leads"}};
const Staff olli{"emp-4", "Olli Ulkopuolinen", "olli@intra.example.fi", {"talous-staff"}};

struct StaffFixture : Fixture {
  std::filesystem::path keys = dir.path() / "keys";
  std::shared_ptr<const config::Config> cfg;
  std::unique_ptr<SqliteStore> st;
  std::optional<crypto::KeyRing> ring;
  std::shared_ptr<const i18n::Templates> templates;
  std::shared_ptr<FakeIdp> idp_http = std::make_shared<FakeIdp>();
  std::unique_ptr<auth::Providers> providers;
  std::vector<std::string> log_lines;
  log::Logger logger{[this](std::string_view line) { log_lines.emplace_back(line); }, &clock, log::Level::debug};
  Bytes client_key;
  const std::string hetu = "010594Y9032";

  StaffFixture() {
    ::setenv("SINETTI_TEST_IDP_SECRET", "s3cret", 1);
    BOOST_REQUIRE(crypto::KeyRing::init(keys, clock).ok());
    auto r = crypto::KeyRing::load(keys, crypto::Access::open);
    BOOST_REQUIRE(r.ok());
    ring.emplace(std::move(*r));
    auto loaded = config::load_string(config_text, "t.yaml", config::LoadOptions{false});
    for (const auto& e : loaded.errors) BOOST_TEST_MESSAGE(e.str());
    BOOST_REQUIRE(loaded.config);
    auto c = std::make_shared<config::Config>(*loaded.config);
    config::OidcProvider staff;
    staff.id = "intra";
    staff.kind = config::ProviderKind::staff;
    staff.issuer = idp;
    staff.client_id = "portal";
    staff.client_auth = config::ClientAuth::client_secret_basic;
    staff.client_secret = config::Secret{config::Secret::Source::env, "SINETTI_TEST_IDP_SECRET", {}};
    staff.scopes = {"openid"};
    staff.groups_claim = "groups";
    staff.name = {{config::Language::fi, "Työtunnus"}, {config::Language::en, "Work account"}};
    config::OidcProvider citizen = staff;
    citizen.id = "ftn";
    citizen.kind = config::ProviderKind::citizen;
    citizen.identity_claim = "hetu";
    citizen.groups_claim.clear();
    c->oidc_providers = {staff, citizen};
    cfg = c;
    st = open();
    auto t = i18n::Templates::load(std::nullopt);
    BOOST_REQUIRE(t.ok());
    templates = *t;
    auto p = auth::Providers::load(*c, idp_http, clock);
    BOOST_REQUIRE_MESSAGE(p.ok(), (p.ok() ? "" : p.error().message));
    providers = std::move(*p);
    auto secret = ring->server_secret("identity");
    BOOST_REQUIRE(secret.ok());
    const auto key = crypto::identity_key(*secret, hetu);
    client_key.assign(key.begin(), key.end());
  }

  // A protected team copy as ingest makes it: read link to the team's mailbox, a thread bound to
  // the client's identity.
  std::string put_team_message(const MessageId& id) {
    const std::string raw = message_text();
    auto key = crypto::DataKey::generate();
    MessageMeta m;
    m.id = id;
    m.kind = MessageKind::protected_message;
    m.protection = ProtectionLevel::letter;
    m.unlock.kind = UnlockKind::device;
    m.sender = client;
    m.recipients = {"neuvonta@tyollisyys.example.fi"};
    m.team_id = "neuvonta";
    m.thread_id = id;
    m.language = "fi";
    m.size = raw.size();
    m.wrapped_key = ring->wrap(key, id);
    m.kek_id = ring->active_kek();
    CommitBatch b;
    b.messages.push_back(MessageCommit{id, m, sealed::seal_pieces(key, id, raw), raw.size()});
    Thread th;
    th.id = id;
    th.team_id = "neuvonta";
    th.client_identity = client_key;
    th.client_address = client;
    th.language = "fi";
    b.threads.push_back(th);
    const std::string tok = crypto::generate_token();
    b.tokens.push_back(token(hash_of_token(tok), id, mailbox, now() + std::chrono::hours(24)));
    BOOST_REQUIRE(st->commit(b).ok());
    return tok;
  }

  Response call(const std::string& method, const std::string& target, Jar& jar, const std::string& body = {}) {
    Request r;
    r.method = method;
    r.target = target;
    if (!jar.cookies.empty()) r.headers.emplace_back("cookie", jar.header());
    if (method == "POST") r.headers.emplace_back("content-type", "application/x-www-form-urlencoded");
    r.body = body;
    PortalContext c{*cfg, *templates, *st, *ring, nullptr, clock, logger, providers.get()};
    auto res = handle(r, c);
    jar.take(res);
    return res;
  }
  Response get(const std::string& target, Jar& jar) { return call("GET", target, jar); }
  Response post(const std::string& target, Jar& jar, const std::string& body) { return call("POST", target, jar, body); }

  void sign(const nlohmann::json& claims, const std::string& nonce) {
    const auto t = std::chrono::duration_cast<std::chrono::seconds>(clock.now().time_since_epoch()).count();
    nlohmann::json c = claims;
    c["iss"] = idp;
    c["aud"] = "portal";
    c["iat"] = t;
    c["exp"] = t + 300;
    c["nonce"] = nonce;
    idp_http->id_token = *auth::sign_compact(idp_http->key, "RS256", c);
  }

  // Signs in through /auth/{provider}/start?next=… and the callback; returns where it led.
  std::string sign_in(Jar& jar, const std::string& provider, const nlohmann::json& claims, const std::string& next) {
    auto start = get("/auth/" + provider + "/start?next=" + percent_encode(next), jar);
    BOOST_TEST_REQUIRE(start.status == 303);
    const std::string url(start.header("Location").value_or(""));
    sign(claims, query_value(url, "nonce"));
    static int code = 0;
    auto cb = get("/auth/" + provider + "/callback?code=c-" + std::to_string(++code) + "&state=" + query_value(url, "state"), jar);
    BOOST_TEST_REQUIRE(cb.status == 303);
    return std::string(cb.header("Location").value_or(""));
  }
  std::string sign_in(Jar& jar, const Staff& s, const std::string& next) {
    return sign_in(jar, "intra", {{"sub", s.sub}, {"name", s.name}, {"email", s.email}, {"groups", s.groups}}, next);
  }

  std::vector<AuditRecord> audit() {
    std::vector<AuditRecord> out;
    BOOST_REQUIRE(st->export_audit(0, [&](const AuditRecord& r) {
      out.push_back(r);
      return true;
    }).ok());
    return out;
  }
  std::size_t audits(const std::string& event, const std::string& outcome, const std::string& actor = {}) {
    std::size_t n = 0;
    for (const auto& r : audit()) n += r.event == event && r.outcome == outcome && (actor.empty() || r.actor == actor);
    return n;
  }
  std::optional<Claim> holder(const MessageId& id) {
    auto c = st->find_claim(id);
    BOOST_REQUIRE(c.ok());
    return *c;
  }
  // A member signed in and on the team message's page; returns the page.
  Response member_page(Jar& jar, const Staff& s, const std::string& tok) {
    const std::string base = "/staff/m/" + tok;
    BOOST_TEST(sign_in(jar, s, base + "?lang=en") == base + "?lang=en");
    return get(base + "?lang=en", jar);
  }
};

const std::string secret_text = "luottamuksellinen";

}  // namespace

BOOST_AUTO_TEST_SUITE(portal_staff)

BOOST_AUTO_TEST_CASE(a_team_link_is_one_whose_recipient_is_a_team_mailbox) {
  auto loaded = config::load_string(config_text, "t.yaml", config::LoadOptions{false});
  BOOST_REQUIRE(loaded.config);
  ReadToken t;
  t.recipient = "Neuvonta-Tiimi@INTRA.example.fi";
  BOOST_TEST(team_of_link(*loaded.config, t) != nullptr);
  BOOST_TEST(team_of_link(*loaded.config, t)->id == "neuvonta");
  t.recipient = "asiakas@example.com";
  BOOST_TEST(team_of_link(*loaded.config, t) == nullptr);
  t.recipient = "neuvonta@tyollisyys.example.fi";  // the team's public address is not its mailbox
  BOOST_TEST(team_of_link(*loaded.config, t) == nullptr);
}

BOOST_FIXTURE_TEST_CASE(not_signed_in_gets_the_staff_sign_in_and_the_client_paths_stay_shut, StaffFixture) {
  const auto tok = put_team_message("T1");
  Jar jar;
  auto page = get("/staff/m/" + tok + "?lang=en", jar);
  BOOST_TEST(page.status == 200);
  BOOST_TEST(page.body.find("/auth/intra/start?next=") != std::string::npos);
  BOOST_TEST(page.body.find("/auth/ftn/start") == std::string::npos);  // no citizen identification offered
  BOOST_TEST(page.body.find("/claim") == std::string::npos);
  BOOST_TEST(page.body.find(secret_text) == std::string::npos);
  // The client's paths: the landing page sends staff to the staff page; nothing opens there.
  auto landing = get("/m/" + tok, jar);
  BOOST_TEST(landing.status == 303);
  BOOST_TEST(landing.header("Location").value_or("").starts_with("/staff/m/" + tok + "?lang="));
  auto read = get("/m/" + tok + "/read", jar);
  BOOST_TEST(read.status == 303);
  BOOST_TEST(read.body.find(secret_text) == std::string::npos);
  BOOST_TEST(get("/m/" + tok + "/attachment/0", jar).status == 303);
  // Reading as staff needs the sign-in.
  BOOST_TEST(get("/staff/m/" + tok + "/read", jar).status == 200);  // the sign-in offer again
  BOOST_TEST(get("/staff/m/" + tok + "/read", jar).body.find(secret_text) == std::string::npos);
  BOOST_TEST(!holder("T1"));
  // Even with a valid session and CSRF token, the device confirmation does not open a team link.
  Jar member;
  const auto csrf = field(member_page(member, anna, tok).body, "csrf");
  BOOST_TEST_REQUIRE(!csrf.empty());
  auto unlock = post("/m/" + tok + "/unlock", member, "csrf=" + csrf);
  BOOST_TEST(unlock.status == 303);
  BOOST_TEST(unlock.header("Location").value_or("").starts_with("/staff/m/" + tok));
  BOOST_TEST(audits("unlock.device", "ok") == 0u);
  BOOST_TEST(get("/m/" + tok + "/read", member).status == 303);
  BOOST_TEST(!holder("T1"));
}

BOOST_FIXTURE_TEST_CASE(a_citizen_identity_is_refused, StaffFixture) {
  const auto tok = put_team_message("T2");
  Jar jar;
  const std::string base = "/staff/m/" + tok;
  BOOST_TEST(sign_in(jar, "ftn", {{"sub", "c-1"}, {"hetu", hetu}}, base) == base);
  auto page = get(base + "?lang=en", jar);
  BOOST_TEST(page.status == 403);
  BOOST_TEST(page.body.find("role=\"alert\"") != std::string::npos);
  BOOST_TEST(page.body.find("/claim") == std::string::npos);
  BOOST_TEST(audits("staff.access", "denied") == 1u);
  BOOST_TEST(post(base + "/claim", jar, "csrf=" + field(page.body, "csrf")).status == 403);
  BOOST_TEST(!holder("T2"));
}

BOOST_FIXTURE_TEST_CASE(staff_outside_the_team_get_403_and_an_audit_record, StaffFixture) {
  const auto tok = put_team_message("T3");
  Jar jar;
  auto page = member_page(jar, olli, tok);
  BOOST_TEST(page.status == 403);
  BOOST_TEST(page.body.find(secret_text) == std::string::npos);
  BOOST_TEST(page.body.find("/claim") == std::string::npos);
  BOOST_TEST(audits("staff.access", "denied", "staff:" + olli.sub) == 1u);
  auto claim = post("/staff/m/" + tok + "/claim", jar, "csrf=" + field(page.body, "csrf"));
  BOOST_TEST(claim.status == 403);
  BOOST_TEST(!holder("T3"));
}

BOOST_FIXTURE_TEST_CASE(the_first_post_claims_and_the_others_see_who_without_content, StaffFixture) {
  const auto tok = put_team_message("T4");
  const std::string base = "/staff/m/" + tok;
  Jar a, b;
  auto before = member_page(b, bertta, tok);  // B has the page open with its "Open" button
  auto page = member_page(a, anna, tok);
  BOOST_TEST(page.status == 200);
  BOOST_TEST(page.body.find("action=\"" + base + "/claim?lang=en\"") != std::string::npos);
  BOOST_TEST(page.body.find(secret_text) == std::string::npos);
  // GETs never claim, however often (link scanners).
  for (int i = 0; i < 3; ++i) BOOST_TEST(get(base, a).status == 200);
  BOOST_TEST(get(base + "/read", a).status == 303);
  BOOST_TEST(!holder("T4"));
  // Without the CSRF token nothing happens.
  BOOST_TEST(post(base + "/claim", a, "csrf=nope").status == 403);
  BOOST_TEST(!holder("T4"));

  auto claimed = post(base + "/claim?lang=en", a, "csrf=" + field(page.body, "csrf"));
  BOOST_TEST_REQUIRE(claimed.status == 303);
  BOOST_TEST(claimed.header("Location").value_or("") == base + "/read?lang=en");
  BOOST_TEST_REQUIRE(holder("T4").has_value());
  BOOST_TEST(holder("T4")->staff_subject == anna.sub);
  BOOST_TEST(holder("T4")->staff_email == anna.email);
  BOOST_TEST(audits("claim.claimed", "ok", "staff:" + anna.sub) == 1u);
  auto read = get(base + "/read?lang=en", a);
  BOOST_TEST(read.status == 200);
  BOOST_TEST(read.body.find(secret_text) != std::string::npos);
  BOOST_TEST(read.body.find(base + "/attachment/0") != std::string::npos);
  BOOST_TEST(read.body.find("action=\"" + base + "/reply?lang=en\"") != std::string::npos);
  BOOST_TEST(audits("message.viewed", "ok", "staff:" + anna.sub) == 1u);
  auto file = get(base + "/attachment/0", a);
  BOOST_TEST(file.status == 200);
  BOOST_TEST(file.stream != nullptr);
  // The claimant's own landing page goes straight to the message.
  BOOST_TEST(get(base, a).header("Location").value_or("").starts_with(base + "/read"));

  auto other = get(base + "?lang=en", b);
  BOOST_TEST(other.status == 200);
  BOOST_TEST(other.body.find(anna.name) != std::string::npos);
  BOOST_TEST(other.body.find(secret_text) == std::string::npos);
  BOOST_TEST(other.body.find("/claim") == std::string::npos);
  BOOST_TEST(other.body.find("/release") == std::string::npos);  // not a lead
  auto late = post(base + "/claim?lang=en", b, "csrf=" + field(before.body, "csrf"));
  BOOST_TEST(late.status == 409);
  BOOST_TEST(late.body.find(anna.name) != std::string::npos);
  BOOST_TEST(holder("T4")->staff_subject == anna.sub);
  BOOST_TEST(audits("claim.claimed", "ok") == 1u);
  auto refused = get(base + "/read", b);
  BOOST_TEST(refused.status == 303);
  BOOST_TEST(refused.body.find(secret_text) == std::string::npos);
  BOOST_TEST(get(base + "/attachment/0", b).status == 403);
}

BOOST_FIXTURE_TEST_CASE(a_lead_releases_and_reassigns_and_a_member_may_not, StaffFixture) {
  const auto tok = put_team_message("T5");
  const std::string base = "/staff/m/" + tok;
  Jar a, b, l;
  auto pb = member_page(b, bertta, tok);  // a page with a form: B's session has a CSRF token
  auto pa = member_page(a, anna, tok);
  BOOST_TEST_REQUIRE(post(base + "/claim", a, "csrf=" + field(pa.body, "csrf")).status == 303);
  // A member who is no lead: refused, audited, the claim stays.
  auto no = post(base + "/release", b, "csrf=" + field(pb.body, "csrf"));
  BOOST_TEST(no.status == 403);
  BOOST_TEST(audits("claim.released", "denied", "staff:" + bertta.sub) == 1u);
  BOOST_TEST(post(base + "/reassign", b, "csrf=" + field(pb.body, "csrf") + "&member=" + bertta.sub).status == 403);
  BOOST_TEST(holder("T5")->staff_subject == anna.sub);

  auto pl = member_page(l, liisa, tok);
  BOOST_TEST(pl.status == 200);
  BOOST_TEST(pl.body.find(anna.name) != std::string::npos);
  BOOST_TEST(pl.body.find("action=\"" + base + "/release?lang=en\"") != std::string::npos);
  // The members who have signed in are offered, the holder is not.
  BOOST_TEST(pl.body.find("<option value=\"" + bertta.sub + "\">") != std::string::npos);
  BOOST_TEST(pl.body.find("<option value=\"" + anna.sub + "\">") == std::string::npos);
  BOOST_TEST(pl.body.find(secret_text) == std::string::npos);
  const auto csrf = field(pl.body, "csrf");
  // Not a member of the team: refused.
  Jar o;
  member_page(o, olli, tok);
  BOOST_TEST(post(base + "/reassign", l, "csrf=" + csrf + "&member=" + olli.sub).status == 422);
  BOOST_TEST(holder("T5")->staff_subject == anna.sub);

  auto moved = post(base + "/reassign?lang=en", l, "csrf=" + csrf + "&member=" + bertta.sub);
  BOOST_TEST_REQUIRE(moved.status == 303);
  BOOST_TEST(holder("T5")->staff_subject == bertta.sub);
  BOOST_TEST(holder("T5")->staff_email == bertta.email);
  BOOST_TEST(audits("claim.reassigned", "ok", "staff:" + liisa.sub) == 1u);
  BOOST_TEST(get(base + "/read", a).status == 303);  // Anna no longer reads it
  BOOST_TEST(get(base + "/read", b).status == 200);

  auto released = post(base + "/release?lang=en", l, "csrf=" + csrf);
  BOOST_TEST_REQUIRE(released.status == 303);
  BOOST_TEST(!holder("T5"));
  BOOST_TEST(audits("claim.released", "ok", "staff:" + liisa.sub) == 1u);
  BOOST_TEST(get(base + "/read", b).status == 303);
  auto again = get(base + "?lang=en", a);
  BOOST_TEST(again.body.find("/claim") != std::string::npos);  // anyone may open it again
}

BOOST_FIXTURE_TEST_CASE(only_the_claimant_replies_and_the_reply_is_bound_to_the_client, StaffFixture) {
  const auto tok = put_team_message("T6");
  const std::string base = "/staff/m/" + tok;
  Jar a, b;
  auto pb = member_page(b, bertta, tok);
  auto pa = member_page(a, anna, tok);
  BOOST_TEST_REQUIRE(post(base + "/claim", a, "csrf=" + field(pa.body, "csrf")).status == 303);
  BOOST_TEST(post(base + "/reply", b, "csrf=" + field(pb.body, "csrf") + "&text=Hei").status == 403);
  auto threads_before = st->thread_messages("T6", 10);
  BOOST_REQUIRE(threads_before.ok());
  BOOST_TEST(threads_before->size() == 1u);

  auto read = get(base + "/read?lang=en", a);
  const auto csrf = field(read.body, "csrf");
  BOOST_TEST(post(base + "/reply", a, "csrf=" + csrf + "&text=%20").status == 422);  // empty
  auto sent = post(base + "/reply?lang=en", a,
                   "csrf=" + csrf + "&text=Hei%2C+asia+on+hoidossa.%0D%0Ahttps%3A%2F%2Fturvaposti.example.fi%2Fstaff%2Fm%2F" + tok);
  BOOST_TEST_REQUIRE(sent.status == 303);
  BOOST_TEST(sent.header("Location").value_or("") == base + "/read?lang=en&replied=1");
  auto messages = st->thread_messages("T6", 10);
  BOOST_REQUIRE(messages.ok());
  BOOST_TEST_REQUIRE(messages->size() == 2u);
  const auto& reply = messages->front().id == "T6" ? messages->back() : messages->front();
  BOOST_TEST((reply.kind == MessageKind::protected_message));
  BOOST_TEST((reply.unlock.kind == UnlockKind::identity));
  BOOST_TEST(reply.unlock.identity_hash == client_key);
  BOOST_TEST(reply.recipients == std::vector<std::string>{client});
  BOOST_TEST(reply.sender == anna.email);
  BOOST_TEST(audits("thread.reply", "ok", "staff:" + anna.sub) == 1u);
  // The client's notification is queued; the reply's text left out the team's link.
  auto queue = st->list_queue(QueueFilter{});
  BOOST_REQUIRE(queue.ok());
  std::size_t to_client = 0;
  for (const auto& e : *queue) to_client += e.kind == DeliveryKind::notification && e.recipient == client;
  BOOST_TEST(to_client == 1u);
  auto reader = sealed::ContentReader::open(*st, reply, *ring);
  BOOST_REQUIRE(reader.ok());
  auto parsed = mime::read_message_source(*reader, mime::Limits{});
  BOOST_REQUIRE(parsed.ok());
  BOOST_REQUIRE(!parsed->texts.empty());
  BOOST_TEST(parsed->texts.front().text.find("asia on hoidossa") != std::string::npos);
  BOOST_TEST(parsed->texts.front().text.find(tok) == std::string::npos);
  BOOST_TEST(parsed->subject == "Re: Hakemus");
}

BOOST_FIXTURE_TEST_CASE(staff_sign_in_records_the_member_for_reassignment, StaffFixture) {
  Jar jar;
  BOOST_TEST(sign_in(jar, bertta, "/staff") == "/staff");
  auto m = st->find_staff_member(bertta.sub);
  BOOST_REQUIRE(m.ok());
  BOOST_REQUIRE(m->has_value());
  BOOST_TEST((*m)->email == bertta.email);
  BOOST_TEST((*m)->groups == bertta.groups);
  auto in = st->staff_members_in("neuvonta-staff", 10);
  BOOST_REQUIRE(in.ok());
  BOOST_TEST(in->size() == 1u);
  auto none = st->staff_members_in("neuvonta-leads", 10);
  BOOST_REQUIRE(none.ok());
  BOOST_TEST(none->empty());
  auto home = get("/staff?lang=en", jar);
  BOOST_TEST(home.status == 200);
  BOOST_TEST(home.body.find("Advice") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
