// The configuration schema: every key, its default, its bounds and its documentation, in one place.
// Reading and the generated reference (`sinetti config-reference`, README) both run these functions.
#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "config/reader.hpp"
#include "config/schema.hpp"
#include "sinetti/placeholders.hpp"

namespace sinetti::config::detail {

using namespace std::chrono_literals;
using std::chrono::days;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr std::uint64_t KiB = 1024;
constexpr std::uint64_t MiB = 1024 * KiB;
constexpr std::uint64_t GiB = 1024 * MiB;
constexpr Duration years(int n) { return Duration{std::int64_t{n} * 365 * 86400}; }

namespace {

void read_tls(MapReader& r, TlsFiles& tls) {
  r.path_value("cert_file", tls.cert_file, "", {"PEM certificate chain.", true});
  r.path_value("key_file", tls.key_file, "", {"PEM private key.", true});
  r.boolean("self_signed", tls.self_signed, false,
            {"Create a self-signed certificate and key on first start when the files are missing "
             "(development only)."});
  if (r.describing()) return;
  auto& files = r.context().files();
  files.push_back(FileRef{r.location("cert_file"), tls.cert_file, FileRef::Kind::tls_pair_cert, tls.self_signed});
  files.push_back(FileRef{r.location("key_file"), tls.key_file, FileRef::Kind::tls_pair_key, tls.self_signed});
}

void read_instance(MapReader& r, Instance& in) {
  r.string("name", in.name, "", {"The organisation's name, shown in notification mails and the portal.", true});
  r.string("public_url", in.public_url, "",
           {"Base URL of the portal as recipients reach it; https (http only for a loopback host).", true});
  r.path_value("data_dir", in.data_dir, "var", {"Directory for the gateway's own state."});
  std::vector<std::string> languages;
  r.string_list("languages", languages, {"fi", "sv", "en"}, {"Languages offered, of fi, sv, en."});
  in.languages.clear();
  for (const auto& l : languages) {
    if (l == "fi") in.languages.push_back(Language::fi);
    else if (l == "sv") in.languages.push_back(Language::sv);
    else if (l == "en") in.languages.push_back(Language::en);
    else r.context().error(r.location("languages"), "instance.languages: '" + l + "' is not one of fi, sv, en");
  }
  r.enumeration<Language>("default_language", in.default_language, Language::fi,
                          {{"fi", Language::fi}, {"sv", Language::sv}, {"en", Language::en}},
                          {"Language used when a recipient's language is not known."});
}

void read_listener(MapReader& r, Listener& l) {
  r.string("name", l.name, "", {"Unique name, used in logs, metrics and routing conditions.", true});
  r.listen_address("address", l.address, "", {"Address and port to listen on.", true});
  r.enumeration<ListenerRole>("role", l.role, std::nullopt,
                              {{"inbound", ListenerRole::inbound}, {"submission", ListenerRole::submission}},
                              {"inbound: mail for the organisation's domains and team addresses only; "
                               "submission: staff mail from allowed networks or authenticated users.",
                               true});
  r.string_list("domains", l.domains, {}, {"inbound: domains accepted in addition to the team addresses."});
  l.tls.reset();
  r.object("tls", {"Certificate for STARTTLS."}, [&](MapReader& t) { read_tls(t, l.tls.emplace()); });
  r.boolean("require_tls", l.require_tls, false, {"Refuse MAIL before STARTTLS."});
  l.auth.reset();
  r.object("auth", {"Offer AUTH PLAIN/LOGIN after STARTTLS."}, [&](MapReader& a) {
    auto& auth = l.auth.emplace();
    a.path_value("users_file", auth.users_file, "", {"User names and argon2id password hashes.", true});
    if (!a.describing()) {
      a.context().files().push_back(FileRef{a.location("users_file"), auth.users_file, FileRef::Kind::secret_file});
    }
  });
  std::vector<std::string> networks;
  r.string_list("allowed_networks", networks, {}, {"Client networks allowed to connect (CIDR); empty: any. On a listener with auth, clients outside "
                                                     "them may connect but must authenticate; clients inside need not."});
  l.allowed_networks.clear();
  for (const auto& n : networks) {
    auto net = parse_network(n);
    if (net) l.allowed_networks.push_back(*net);
    else r.context().error(r.location("allowed_networks"), r.path() + ".allowed_networks: '" + n + "': " + net.error().message);
  }
  r.size("max_message_size", l.max_message_size, 35 * MiB, 64 * KiB, 1 * GiB,
         {"Largest message accepted (SIZE, RFC 1870); larger gets 552."});
  r.uint("max_recipients", l.max_recipients, 100, 100, 10000,
         {"Recipients per message; more get 452 (RFC 5321 §4.5.3.1.8: at least 100)."});
  r.uint("max_errors", l.max_errors, 10, 1, 100, {"Protocol errors per session before 421 and close."});
  r.uint("max_connections", l.max_connections, 1000, 1, 100000, {"Concurrent sessions."});
  r.duration("command_timeout", l.command_timeout, 5min, 10s, 1h,
             {"Idle time allowed per command (RFC 5321 §4.5.3.2 asks at least 5m)."});
  r.duration("session_timeout", l.session_timeout, 30min, 1min, 24h, {"Total time one session may last."});
}

void read_portal(MapReader& r, Portal& p) {
  r.listen_address("address", p.address, "", {"HTTPS address and port of the portal.", true});
  r.object("tls", {"Certificate for the portal.", true}, [&](MapReader& t) { read_tls(t, p.tls); });
  r.duration("session_idle", p.session_idle, 15min, 1min, 30min,
             {"Idle timeout of a portal session (NIST SP 800-63B §4.2.3: at most 30m). Activity is recorded at most every tenth of it (at most a minute), so a session ends between that much before and exactly this long after its last request."});
  r.duration("session_absolute", p.session_absolute, 12h, 10min, 12h, {"Absolute lifetime of a portal session."});
  r.duration("handshake_timeout", p.handshake_timeout, 10s, 1s, 5min,
             {"Time a new connection has for its TLS handshake before it is closed."});
  r.duration("request_timeout", p.request_timeout, 30s, 1s, 10min,
             {"Time to receive a request's head (on a kept-open connection the wait for the next request counts too), and the longest pause while its body arrives. Past it the connection is closed without an answer."});
  r.duration("write_timeout", p.write_timeout, 30s, 1s, 10min,
             {"Time each write to the client may take (a response; a download's head and every piece of it) before the connection is closed."});
  r.size("max_header_size", p.max_header_size, 16 * KiB, 4 * KiB, 1 * MiB, {"Request header limit (431 beyond)."});
  r.size("max_body_size", p.max_body_size, 50 * MiB, 1 * MiB, 1 * GiB, {"Request body limit (413 beyond)."});
}

void read_storage(MapReader& r, Storage& s) {
  r.enumeration<StorageBackend>("backend", s.backend, StorageBackend::sqlite,
                                {{"sqlite", StorageBackend::sqlite}, {"postgresql", StorageBackend::postgresql}},
                                {"Where messages, queue and audit log live."});
  s.sqlite_path = "var/sinetti.db";
  r.object("sqlite", {"SQLite settings."}, [&](MapReader& q) {
    q.path_value("path", s.sqlite_path, "var/sinetti.db", {"Database file (WAL mode)."});
  });
  s.postgresql_dsn.reset();
  s.postgresql_pool_size = 8;
  const bool has_pg = r.object("postgresql", {"PostgreSQL settings."}, [&](MapReader& q) {
    q.secret("dsn", s.postgresql_dsn, {"libpq connection string.", true});
    q.uint("pool_size", s.postgresql_pool_size, 8, 1, 256, {"Connections per gateway node."});
  });
  if (!r.describing() && s.backend == StorageBackend::postgresql && !has_pg) {
    r.context().error(r.location("backend"), "storage: backend postgresql needs a 'postgresql' section with dsn_file or dsn: env:NAME");
  }
}

// "localhost", 127.0.0.0/8 or ::1 as written (the SMTP client checks the connected address again).
bool loopback_host(const std::string& host) {
  return host == "localhost" || host == "::1" || host.starts_with("127.");
}

void read_delivery(MapReader& r, Delivery& d) {
  std::string transport;
  r.string("transport", transport, "", {"maildir:PATH delivers into a Maildir (development); use relay otherwise."});
  d.maildir.reset();
  if (!transport.empty()) {
    if (transport.starts_with("maildir:") && transport.size() > 8) {
      d.maildir = transport.substr(8);
    } else {
      r.context().error(r.location("transport"), "delivery.transport: '" + transport + "' is not maildir:PATH (use 'relay' for SMTP)");
    }
  }
  d.relay.reset();
  r.object("relay", {"SMTP relay to the organisation's mail server."}, [&](MapReader& m) {
    auto& relay = d.relay.emplace();
    m.string("host", relay.host, "", {"Host name or address.", true});
    m.port("port", relay.port, 25, {"Port."});
    m.enumeration<RelayTls>("tls", relay.tls, RelayTls::require,
                            {{"require", RelayTls::require}, {"opportunistic", RelayTls::opportunistic},
                             {"none", RelayTls::none}},
                            {"STARTTLS policy; require also verifies the certificate."});
    std::filesystem::path ca;
    m.path_value("ca_file", ca, "", {"CA bundle for verification; default: the system's."});
    if (m.has("ca_file")) {
      relay.ca_file = ca;
      m.context().files().push_back(FileRef{m.location("ca_file"), ca, FileRef::Kind::readable_file});
    }
    relay.auth.reset();
    m.object("auth", {"AUTH PLAIN/LOGIN credentials; sent only over TLS with a verified certificate (tls: require) or to a loopback address."}, [&](MapReader& a) {
      auto& auth = relay.auth.emplace();
      a.string("username", auth.username, "", {"User name.", true});
      std::optional<Secret> password;
      a.secret("password", password, {"Password.", true});
      if (password) auth.password = *password;
    });
    m.string("helo_name", relay.helo_name, "", {"Name the gateway gives in EHLO; default: this machine's host name."});
    relay.timeouts = RelayTimeouts{};
    m.object("timeouts", {"Client timeouts (RFC 5321 §4.5.3.2)."}, [&](MapReader& t) {
      auto& to = relay.timeouts;
      t.duration("connect", to.connect, 30s, 1s, 10min, {"TCP connection set-up (not in the RFC; Postfix uses 30s)."});
      t.duration("greeting", to.greeting, 5min, 1s, 1h, {"Waiting for the 220 greeting (§4.5.3.2.1)."});
      t.duration("command", to.command, 5min, 1s, 1h, {"EHLO, STARTTLS with the handshake, AUTH, MAIL, RCPT, QUIT replies, and every write (§4.5.3.2.2-3)."});
      t.duration("data_init", to.data_init, 2min, 1s, 1h, {"Waiting for 354 after DATA (§4.5.3.2.4)."});
      t.duration("data_block", to.data_block, 3min, 1s, 1h, {"Each write of the message body (§4.5.3.2.5)."});
      t.duration("data_end", to.data_end, 10min, 1s, 1h, {"Waiting for the reply to the final dot (§4.5.3.2.6)."});
    });
    relay.reuse = RelayReuse{};
    m.object("reuse", {"Connections kept open between deliveries: the next message starts with RSET instead of connect, EHLO, STARTTLS and AUTH."}, [&](MapReader& u) {
      auto& ru = relay.reuse;
      u.duration("idle", ru.idle, 2s, 0s, 5min, {"Close (QUIT) a connection unused this long; 0s: a new connection per message."});
      u.uint("messages", ru.messages, 100, 1, 10000, {"Messages per connection at most; 1: a new connection per message."});
      u.duration("lifetime", ru.lifetime, 5min, 1s, 1h, {"No new message on a connection opened longer ago than this."});
    });
    if (!m.describing() && relay.auth && relay.tls != RelayTls::require && !loopback_host(relay.host)) {
      m.context().error(m.location("auth"),
                        "delivery.relay.auth: credentials are sent only with tls: require (or to a loopback host); "
                        "the relay would never be authenticated");
    }
  });
  if (!r.describing()) {
    if (d.maildir && d.relay) {
      r.context().error(r.location("relay"), "delivery: give either transport: maildir:PATH or relay, not both");
    } else if (!d.maildir && !d.relay) {
      r.context().error(r.location("transport"), "delivery: needs transport: maildir:PATH or a relay section");
    }
  }
  d.retry_initial = 1min;
  d.retry_max = 1h;
  r.object("retry", {"Backoff between delivery attempts (doubles each time)."}, [&](MapReader& m) {
    m.duration("initial", d.retry_initial, 1min, 1s, 1h, {"First retry delay."});
    m.duration("max", d.retry_max, 1h, 1min, 24h, {"Longest retry delay."});
  });
  if (!r.describing() && d.retry_initial > d.retry_max) {
    r.context().error(r.location("retry"), "delivery.retry: initial is longer than max");
  }
  r.duration("lifetime", d.lifetime, days(5), 1h, days(30),
             {"Give up and bounce after this long (RFC 5321 §4.5.4.1: 4-5 days)."});
  r.uint("workers", d.workers, 4, 1, 256, {"Concurrent outbound deliveries."});
}

void read_team(MapReader& r, Team& t) {
  r.string("id", t.id, "", {"Unique identifier ([a-z0-9_-]), used in rules and links.", true});
  r.translations("name", t.name, {"Name per language (fi, sv, en), or one name for all.", true});
  r.string("address", t.address, "", {"The team's public address at the gateway.", true});
  r.string("mailbox", t.mailbox, "", {"The team's real shared mailbox; forwarded mail and notifications go here.", true});
  r.string("staff_group", t.staff_group, "", {"Group (from the staff identity provider) whose members work in the team."});
  r.string("lead_group", t.lead_group, "",
           {"Group (from the staff identity provider) of the team's leads: they may release or reassign a "
            "member's claim on a team message (audited). Empty: nobody may."});
  t.where = r.context().at(r.mark("id"));
}

void read_unlock(MapReader& r, Unlock& u) {
  r.duration("link_ttl", u.link_ttl, days(30), 1h, days(365), {"How long a read link works."});
  u.pin = PinPolicy{6, 10min, 5, 5, 100};
  r.object("pin", {"SMS PIN policy (NIST SP 800-63B §5.1.3)."}, [&](MapReader& p) {
    p.uint("length", u.pin.length, 6, 6, 8, {"Digits in a PIN."});
    p.duration("ttl", u.pin.ttl, 10min, 1min, 10min, {"PIN validity (at most 10m)."});
    p.uint("max_attempts", u.pin.max_attempts, 5, 1, 10, {"Wrong tries before the PIN is void."});
    p.uint("max_per_hour", u.pin.max_per_hour, 5, 1, 20, {"PINs sent per message per hour."});
    p.uint("max_failures", u.pin.max_failures, 100, 1, 100, {"Wrong tries per message in total before it locks."});
  });
}

const std::map<Language, std::string>& default_pin_texts() {
  static const std::map<Language, std::string> texts{
      {Language::fi, "{{organisation}}: Turvaposti-tunnuslukusi on {{pin}}. Se on voimassa {{minutes}} minuuttia. "
                     "Älä kerro sitä kenellekään."},
      {Language::sv, "{{organisation}}: Din kod för säker post är {{pin}}. Den gäller i {{minutes}} minuter. "
                     "Berätta den inte för någon."},
      {Language::en, "{{organisation}}: Your secure mail code is {{pin}}. It is valid for {{minutes}} minutes. "
                     "Do not share it with anyone."},
  };
  return texts;
}

// A PIN text: known placeholders only, {{pin}} present, short enough for a couple of SMS segments.
void check_pin_text(MapReader& r, const std::string& field, const std::string& text) {
  constexpr std::size_t max_characters = 320;  // two concatenated GSM-7 segments are 306 characters
  const Location where = r.location("text");
  auto parts = split_placeholders(text);
  if (!parts) {
    r.context().error(where, field + ": " + parts.error().message);
    return;
  }
  bool has_pin = false;
  for (const auto& part : *parts) {
    if (!part.placeholder) continue;
    if (part.text == "pin") {
      has_pin = true;
    } else if (part.text != "minutes" && part.text != "organisation") {
      r.context().error(where, field + ": unknown placeholder {{" + std::string(part.text) +
                                   "}} (use {{pin}}, {{minutes}}, {{organisation}})");
    }
  }
  if (!has_pin) r.context().error(where, field + ": the text must contain {{pin}}");
  const auto characters = std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;  // UTF-8 lead bytes
  });
  if (static_cast<std::size_t>(characters) > max_characters) {
    r.context().error(where, field + ": longer than " + std::to_string(max_characters) + " characters");
  }
}

void read_sms(MapReader& r, Sms& s) {
  r.enumeration<SmsDriver>("driver", s.driver, SmsDriver::file, {{"file", SmsDriver::file}, {"http", SmsDriver::http}},
                           {"file writes JSON lines (development); http calls a provider."});
  s.file_path = "var/sms.jsonl";
  r.object("file", {"File driver."}, [&](MapReader& f) {
    f.path_value("path", s.file_path, "var/sms.jsonl", {"JSON lines file, one message per line."});
  });
  s.http.reset();
  const bool has_http = r.object("http", {"Generic HTTP provider driver."}, [&](MapReader& h) {
    auto& http = s.http.emplace();
    h.string("url", http.url, "", {"Provider endpoint (https).", true});
    h.string("method", http.method, "POST", {"HTTP method."});
    if (!h.describing() && http.method != "POST" && http.method != "PUT") {
      h.context().error(h.location("method"), h.path() + ".method: expected POST or PUT");
    }
    h.object("auth", {"Authentication at the provider."}, [&](MapReader& a) {
      a.enumeration<HttpAuthKind>("kind", http.auth, HttpAuthKind::none,
                                  {{"none", HttpAuthKind::none}, {"basic", HttpAuthKind::basic},
                                   {"bearer", HttpAuthKind::bearer}},
                                  {"Scheme."});
      a.string("username", http.username, "", {"basic: user name."});
      std::filesystem::path username_file;
      a.path_value("username_file", username_file, "", {"basic: file holding the user name, for providers whose API token is the user name."});
      if (a.has("username_file")) {
        http.username_secret = Secret{Secret::Source::file, username_file.string(), a.location("username_file")};
        a.context().files().push_back(FileRef{a.location("username_file"), username_file, FileRef::Kind::secret_file});
      }
      a.secret("password", http.password, {"basic: password."});
      a.secret("token", http.token, {"bearer: token."});
      if (a.describing()) return;
      if (http.auth == HttpAuthKind::bearer && !http.token) {
        a.context().error(a.location("kind"), a.path() + ": bearer needs token_file or token: env:NAME");
      }
      if (http.auth == HttpAuthKind::basic && http.username.empty() == !http.username_secret.has_value()) {
        a.context().error(a.location("kind"), a.path() + ": basic needs exactly one of username and username_file");
      }
    });
    h.enumeration<HttpBodyFormat>("format", http.format, HttpBodyFormat::json,
                                  {{"json", HttpBodyFormat::json}, {"form", HttpBodyFormat::form}},
                                  {"Request body encoding."});
    if (auto body = h.raw("body", "mapping",
                          {"Request body with placeholders {{to_e164}} (+358401234567), {{to_digits}} (358401234567), "
                           "{{text}}, {{ref}} (our reference), {{sender}}, inside string values. json: a value that is "
                           "exactly \"{{to_digits}}\" is sent as a JSON number; form: the top-level keys become "
                           "the form fields.",
                           true})) {
      if (!body->IsMap()) {
        h.context().error(body->Mark(), h.path() + ".body: expected a mapping");
      } else {
        http.body_template = yaml_to_json(*body);
      }
    }
    h.int_list("success", http.success, {200, 201, 202}, 200, 299, {"Status codes meaning accepted."});
    h.string("message_id", http.message_id_pointer, "", {"JSON pointer (RFC 6901) to the provider's message id in the reply."});
    h.int_list("retry_on", http.retry_on, {429, 500, 502, 503, 504}, 400, 599, {"Status codes worth a retry (never other 4xx)."});
    h.uint("max_retries", http.max_retries, 3, 0, 10,
           {"Retries after the first attempt, with backoff 0.5s, 1s, 2s, ... up to 8s; a reply's Retry-After "
            "is waited instead when longer (more than 30s: no retry)."});
    h.duration("timeout", http.timeout, 10s, 1s, 2min, {"Time limit per request."});
    http.url_where = h.location("url");
    http.body_where = h.location("body");
    http.message_id_where = h.location("message_id");
    if (!h.describing()) check_url(h.context(), h.location("url"), h.path() + ".url", http.url);
  });
  r.string("sender", s.sender, "Sinetti", {"Sender name shown on the phone (at most 11 letters or digits)."});
  r.string("default_country", s.default_country, "358", {"Country code for numbers written without one."});
  r.translations("text", s.text, default_pin_texts(),
                 {"The PIN message per language (a language left out keeps its built-in text), with "
                  "placeholders {{pin}} (required), {{minutes}} (validity) and {{organisation}} "
                  "(instance.name). Never put message content here; 160 GSM characters fit one SMS."});
  if (r.describing()) return;
  // One report per distinct text: `text: "..."` for every language is one mistake, not three.
  for (const auto& entry : s.text) {
    const auto& [language, text] = entry;
    // (A lambda may not capture a structured binding in C++20 as clang reads it: compare `entry`.)
    const bool shared = std::all_of(s.text.begin(), s.text.end(), [&entry](const auto& other) { return other.second == entry.second; });
    if (shared) {
      check_pin_text(r, r.path() + ".text", text);
      break;
    }
    check_pin_text(r, r.path() + ".text." + to_string(language), text);
  }
  if (s.driver == SmsDriver::http && !has_http) {
    r.context().error(r.location("driver"), "sms: driver http needs an 'http' section");
  }
  const bool alnum = std::all_of(s.sender.begin(), s.sender.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  });
  if (s.sender.empty() || s.sender.size() > 11 || !alnum) {
    r.context().error(r.location("sender"), "sms.sender: use 1–11 ASCII letters or digits (alphanumeric sender id)");
  }
  if (s.default_country.empty() || s.default_country.size() > 3 || s.default_country[0] == '0' ||
      !std::all_of(s.default_country.begin(), s.default_country.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    r.context().error(r.location("default_country"), "sms.default_country: expected a country calling code such as 358");
  }
}

void read_provider(MapReader& r, OidcProvider& p) {
  r.string("id", p.id, "", {"Unique identifier, used in /auth/{id}/... paths.", true});
  r.enumeration<ProviderKind>("kind", p.kind, std::nullopt,
                              {{"citizen", ProviderKind::citizen}, {"staff", ProviderKind::staff}},
                              {"citizen: strong identification (FTN broker); staff: the organisation's IdP.", true});
  r.string("issuer", p.issuer, "", {"Issuer URL; discovery at ISSUER/.well-known/openid-configuration.", true});
  r.string("client_id", p.client_id, "", {"Our client id at the provider.", true});
  r.enumeration<ClientAuth>("client_auth", p.client_auth, ClientAuth::private_key_jwt,
                            {{"private_key_jwt", ClientAuth::private_key_jwt},
                             {"client_secret_basic", ClientAuth::client_secret_basic},
                             {"client_secret_post", ClientAuth::client_secret_post}},
                            {"Client authentication (FTN requires private_key_jwt)."});
  r.secret("client_secret", p.client_secret, {"client_secret_*: the secret."});
  std::filesystem::path signing, encryption;
  r.path_value("signing_key_file", signing, "", {"Our private signing key (PEM; RSA of at least 2048 bits for RS256, or EC P-256 for ES256), for "
                        "private_key_jwt client assertions and signed request objects; its public half is published at "
                        "/auth/jwks.json."});
  r.path_value("encryption_key_file", encryption, "", {"Our private decryption key (PEM; RSA for RSA-OAEP, or EC P-256 for ECDH-ES) for encrypted ID "
                        "tokens; when set, an unencrypted ID token is refused. Its public half is published at "
                        "/auth/jwks.json."});
  p.signing_key_file.reset();
  p.encryption_key_file.reset();
  if (r.has("signing_key_file")) {
    p.signing_key_file = signing;
    r.context().files().push_back(FileRef{r.location("signing_key_file"), signing, FileRef::Kind::secret_file});
  }
  if (r.has("encryption_key_file")) {
    p.encryption_key_file = encryption;
    r.context().files().push_back(FileRef{r.location("encryption_key_file"), encryption, FileRef::Kind::secret_file});
  }
  r.string_list("scopes", p.scopes, {"openid"}, {"Scopes requested; must include openid."});
  r.string_list("acr_values", p.acr_values, {}, {"Required assurance, e.g. http://ftn.ficora.fi/2017/loa2; the ID token's acr must be one of "
                            "these or a higher FTN level (loa2 < loa3)."});
  r.string("identity_claim", p.identity_claim, "hetu", {"citizen: claim holding the personal identity code (checked, then turned into the identity key; "
                             "never stored or logged)."});
  r.string("groups_claim", p.groups_claim, "groups", {"staff: claim holding the user's groups."});
  r.translations("name", p.name, {"Button label per language."});
  p.where = r.context().at(r.mark("id"));
  if (r.describing()) return;
  check_url(r.context(), r.location("issuer"), r.path() + ".issuer", p.issuer);
  if (p.client_auth == ClientAuth::private_key_jwt && !p.signing_key_file) {
    r.context().error(r.location("client_auth"), r.path() + ": private_key_jwt needs signing_key_file");
  }
  if (p.client_auth != ClientAuth::private_key_jwt && !p.client_secret) {
    r.context().error(r.location("client_auth"), r.path() + ": client_secret_* needs client_secret_file or client_secret: env:NAME");
  }
  if (std::find(p.scopes.begin(), p.scopes.end(), "openid") == p.scopes.end()) {
    r.context().error(r.location("scopes"), r.path() + ".scopes: must include openid");
  }
}

}  // namespace

void read_config(MapReader& root, Config& c) {
  root.object("instance", {"Who runs this gateway and where it keeps its state.", true},
              [&](MapReader& r) { read_instance(r, c.instance); });
  c.listeners.clear();
  root.sequence("listeners", {"SMTP listeners.", true}, "listener", [&](const YAML::Node& n, const std::string& path) {
    MapReader r(root.context(), n, path, n.Mark());
    auto& l = c.listeners.emplace_back();
    l.where = root.context().at(n.Mark());
    read_listener(r, l);
  });
  root.object("portal", {"The HTTPS portal recipients and staff use.", true}, [&](MapReader& r) { read_portal(r, c.portal); });
  c.admin.reset();
  root.object("admin", {"Metrics and health listener (/metrics, /healthz, /readyz); plain HTTP, keep it internal."},
              [&](MapReader& r) { r.listen_address("address", c.admin.emplace().address, "", {"Address and port.", true}); });
  c.storage = Storage{};
  if (!root.object("storage", {"Message store."}, [&](MapReader& r) { read_storage(r, c.storage); })) {
    MapReader defaults(root.context(), undefined_node(), "storage");
    read_storage(defaults, c.storage);
  }
  c.keys.dir = "var/keys";
  root.object("keys", {"Key ring."}, [&](MapReader& r) {
    r.path_value("dir", c.keys.dir, "var/keys", {"Directory of key-encryption keys and server secrets (0700)."});
    r.boolean("create_if_missing", c.keys.create_if_missing, false,
              {"serve creates a new key ring when the directory holds none (development; in production run "
               "`sinetti keys init` once)."});
  });
  root.object("delivery", {"Outbound delivery to team mailboxes and recipients.", true},
              [&](MapReader& r) { read_delivery(r, c.delivery); });
  c.teams.clear();
  root.sequence("teams", {"Teams and their shared mailboxes."}, "team", [&](const YAML::Node& n, const std::string& path) {
    MapReader r(root.context(), n, path, n.Mark());
    read_team(r, c.teams.emplace_back());
  });
  root.object("routing", {"What happens to each message: ordered rules, first match wins.", true},
              [&](MapReader& r) { read_routing(r, c.routing); });
  c.unlock = Unlock{};
  if (!root.object("unlock", {"How recipients unlock protected messages."}, [&](MapReader& r) { read_unlock(r, c.unlock); })) {
    MapReader defaults(root.context(), undefined_node(), "unlock");
    read_unlock(defaults, c.unlock);
  }
  c.sms = Sms{};
  if (!root.object("sms", {"SMS for PIN unlock."}, [&](MapReader& r) { read_sms(r, c.sms); })) {
    MapReader defaults(root.context(), undefined_node(), "sms");
    read_sms(defaults, c.sms);
  }
  c.oidc_providers.clear();
  root.object("oidc", {"OpenID Connect providers for strong identification and staff sign-in."}, [&](MapReader& r) {
    r.sequence("providers", {"Providers.", true}, "provider", [&](const YAML::Node& n, const std::string& path) {
      MapReader p(root.context(), n, path, n.Mark());
      read_provider(p, c.oidc_providers.emplace_back());
    });
  });
  c.notifications = Notifications{};
  auto read_notifications = [&](MapReader& r) {
    r.string("from", c.notifications.from, "",
             {"From address of notification mails and bounces; default noreply@ the host of instance.public_url."});
    r.string("from_name", c.notifications.from_name, "", {"Display name in From; default instance.name."});
    r.string("reply_domain", c.notifications.reply_domain, "",
             {"Domain of the per-thread Reply-To addresses in notifications to team mailboxes (mail to it is "
              "taken on the submission listener); default the domain of from."});
    r.boolean("include_subject", c.notifications.include_subject, false,
              {"Show the original subject in the notification (off: the subject may itself be confidential)."});
    std::filesystem::path dir;
    r.path_value("templates_dir", dir, "",
                 {"Directory of templates overriding the built-in ones (notification.fi.txt, ...); see "
                  "config/templates/."});
    if (r.has("templates_dir")) {
      c.notifications.templates_dir = dir;
      r.context().files().push_back(FileRef{r.location("templates_dir"), dir, FileRef::Kind::readable_dir});
    }
  };
  if (!root.object("notifications", {"Notification mails sent instead of protected content."}, read_notifications)) {
    MapReader defaults(root.context(), undefined_node(), "notifications");
    read_notifications(defaults);
  }
  c.retention = Retention{};
  auto read_retention = [&](MapReader& r) {
    r.duration("protected_messages", c.retention.protected_messages, days(30), days(1), years(10),
               {"Protected messages are crypto-shredded this long after they were stored."});
    r.duration("audit_log", c.retention.audit_log, years(10), days(30), years(50), {"Audit records are kept this long."});
    r.duration("interval", c.retention.interval, hours(1), minutes(1), days(1),
               {"How often serve runs retention (as `sinetti purge` does): expired messages shredded, finished "
                "queue entries, old sessions and audit records removed. Also once at start."});
  };
  if (!root.object("retention", {"How long things are kept."}, read_retention)) {
    MapReader defaults(root.context(), undefined_node(), "retention");
    read_retention(defaults);
  }
}

}  // namespace sinetti::config::detail
