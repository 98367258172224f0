// Configuration loading: every validation error kind, with its line and column.
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "config/config.hpp"

using namespace sinetti::config;
namespace fs = std::filesystem;

namespace {

// A small valid configuration; tests replace parts of it. Line numbers below refer to this text.
const std::string base = R"(instance:
  name: Test
  public_url: "https://turvaposti.example.fi"
listeners:
  - name: inbound
    address: "127.0.0.1:2525"
    role: inbound
portal:
  address: "127.0.0.1:8443"
  tls: {cert_file: c.pem, key_file: k.pem}
delivery:
  transport: "maildir:var/mail"
teams:
  - id: neuvonta
    name: {fi: Neuvonta, sv: Rådgivning, en: Advice}
    address: neuvonta@example.fi
    mailbox: neuvonta@intra.example.fi
routing:
  rules:
    - name: enquiries
      when: {recipient: {team: any}}
      action: {forward: {team: from_recipient}}
    - name: rest
      action: {reject: {code: 550, text: "5.1.1 No"}}
)";

LoadResult load(const std::string& yaml) { return load_string(yaml, "t.yaml", LoadOptions{false}); }

std::string replace(std::string text, const std::string& from, const std::string& to) {
  const auto pos = text.find(from);
  BOOST_REQUIRE_MESSAGE(pos != std::string::npos, "fixture lacks: " + from);
  return text.replace(pos, from.size(), to);
}

// Asserts that loading gives an error at LINE:COL whose message contains `needle`.
void expect_error(const std::string& yaml, int line, int column, const std::string& needle) {
  const auto r = load(yaml);
  BOOST_TEST(!r.config);
  bool found = false;
  std::string all;
  for (const auto& e : r.errors) {
    all += e.str() + "\n";
    if (e.where.line == line && e.where.column == column && e.message.find(needle) != std::string::npos) found = true;
  }
  BOOST_TEST(found, "expected t.yaml:" << line << ":" << column << " '" << needle << "', got:\n" << all);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(config_load)

BOOST_AUTO_TEST_CASE(base_fixture_is_valid_with_defaults) {
  const auto r = load(base);
  for (const auto& e : r.errors) BOOST_TEST_MESSAGE(e.str());
  BOOST_REQUIRE(r.config);
  const Config& c = *r.config;
  BOOST_TEST(c.instance.name == "Test");
  BOOST_TEST(c.instance.data_dir == "var");
  BOOST_TEST(c.instance.languages.size() == 3u);
  BOOST_TEST(c.listeners.at(0).max_message_size == 35u * 1024 * 1024);
  BOOST_TEST(c.listeners.at(0).command_timeout.count() == 300);
  BOOST_TEST(c.listeners.at(0).address.port == 2525);
  BOOST_TEST(c.unlock.pin.length == 6u);
  BOOST_TEST(c.unlock.pin.ttl.count() == 600);
  BOOST_TEST(c.unlock.link_ttl.count() == 30 * 86400);
  BOOST_TEST(c.retention.audit_log.count() == 3650LL * 86400);
  BOOST_TEST(c.delivery.maildir->string() == "var/mail");
  BOOST_TEST(c.delivery.lifetime.count() == 5 * 86400);
  BOOST_TEST(c.storage.sqlite_path == "var/sinetti.db");
  BOOST_TEST(c.routing.rules.size() == 2u);
  BOOST_TEST((c.routing.rules[1].when.kind == Condition::Kind::always));
  BOOST_TEST(c.routing.marks.subject_tags.size() == 3u);
  BOOST_TEST(c.teams.at(0).name.at(Language::sv) == "Rådgivning");
}

BOOST_AUTO_TEST_CASE(unknown_key_with_suggestion) {
  expect_error(replace(base, "    role: inbound\n", "    role: inbound\n    max_mesage_size: 10MiB\n"), 8, 5,
               "unknown key 'listeners[0].max_mesage_size' (did you mean 'max_message_size'?)");
  expect_error(replace(base, "instance:", "instanse:\n  name: x\ninstance:"), 1, 1, "did you mean 'instance'");
}

BOOST_AUTO_TEST_CASE(unknown_condition_with_suggestion) {
  expect_error(replace(base, "{recipient: {team: any}}", "{recipent: {team: any}}"), 21, 14, "did you mean 'recipient'");
}

BOOST_AUTO_TEST_CASE(wrong_types) {
  expect_error(replace(base, "  name: Test\n", "  name: [Test]\n"), 2, 9, "expected a string, found a list");
  expect_error(replace(base, "    role: inbound\n", "    role: inbound\n    require_tls: maybe\n"), 8, 18, "expected true or false");
  expect_error(replace(base, "    role: inbound\n", "    role: inbound\n    max_recipients: many\n"), 8, 21, "expected an integer");
  expect_error(replace(base, "listeners:\n", "listeners: {}\nx_listeners:\n"), 4, 12, "expected a list");
}

BOOST_AUTO_TEST_CASE(out_of_range_values) {
  expect_error(base + "unlock:\n  pin: {length: 9}\n", 26, 17, "9 is out of range 6–8");
  expect_error(base + "unlock:\n  pin: {ttl: 30m}\n", 26, 14, "30m is out of range 1m–10m");
  expect_error(replace(base, "    role: inbound\n", "    role: inbound\n    max_message_size: 2GiB\n"), 8, 23, "out of range");
}

BOOST_AUTO_TEST_CASE(bad_durations_and_sizes) {
  expect_error(base + "unlock:\n  link_ttl: 30 days\n", 26, 13, "'30 days'");
  expect_error(base + "unlock:\n  link_ttl: 10\n", 26, 13, "needs a unit");
  expect_error(replace(base, "    role: inbound\n", "    role: inbound\n    max_message_size: 25MB!\n"), 8, 23, "unknown size unit");
}

BOOST_AUTO_TEST_CASE(unparsable_listen_addresses) {
  expect_error(replace(base, "\"127.0.0.1:2525\"", "\"127.0.0.1\""), 6, 14, "expected HOST:PORT");
  expect_error(replace(base, "\"127.0.0.1:2525\"", "\"mail.example.fi:25\""), 6, 14, "not an IP address");
  expect_error(replace(base, "\"127.0.0.1:2525\"", "\"127.0.0.1:70000\""), 6, 14, "not a port number");
  expect_error(replace(base, "\"127.0.0.1:2525\"", "\"::1:25\""), 6, 14, "brackets");
  const auto ok = load(replace(base, "\"127.0.0.1:2525\"", "\"[::1]:0\""));
  BOOST_TEST(ok.errors.empty());
}

BOOST_AUTO_TEST_CASE(duplicate_names) {
  const std::string two_listeners = replace(base, "portal:", "  - name: inbound\n    address: \"127.0.0.1:2526\"\n    role: inbound\nportal:");
  expect_error(two_listeners, 8, 5, "duplicate listener name 'inbound' (first at line 5)");
  const std::string two_teams = replace(base, "routing:",
                                        "  - id: neuvonta\n    name: N\n    address: b@example.fi\n    mailbox: c@example.fi\nrouting:");
  expect_error(two_teams, 18, 9, "duplicate team id 'neuvonta'");
  const std::string two_rules = replace(base, "    - name: rest\n", "    - name: enquiries\n      action: {reject: {}}\n    - name: rest\n");
  expect_error(two_rules, 23, 7, "duplicate rule name 'enquiries'");
  expect_error(replace(base, "  name: Test\n", "  name: Test\n  name: Again\n"), 3, 3, "duplicate key 'instance.name'");
}

BOOST_AUTO_TEST_CASE(forward_to_missing_team) {
  expect_error(replace(base, "{team: from_recipient}", "{team: neuvonat}"), 20, 7,
               "forward to team 'neuvonat', which is not defined under teams (did you mean 'neuvonta'?)");
  expect_error(replace(base, "{recipient: {team: any}}", "{recipient: {team: nobody}}"), 21, 25, "team 'nobody' is not defined");
}

BOOST_AUTO_TEST_CASE(routing_needs_final_catch_all) {
  expect_error(replace(base, "    - name: rest\n      action:", "    - name: rest\n      when: {size: {over: 1MiB}}\n      action:"), 23, 7,
               "the last rule must match every message");
  expect_error(replace(base, "      when: {recipient: {team: any}}\n", "      when: {}\n"), 23, 7, "'enquiries' before it matches every message");
}

BOOST_AUTO_TEST_CASE(unknown_detector_and_listener_in_conditions) {
  expect_error(replace(base, "{recipient: {team: any}}", "{detector: finnish_identity_kode}"), 21, 24,
               "did you mean 'finnish_identity_code'");
  expect_error(replace(base, "{recipient: {team: any}}", "{listener: inbund}"), 21, 24, "did you mean 'inbound'");
}

BOOST_AUTO_TEST_CASE(inline_secrets_are_refused) {
  const std::string relay = replace(base, "  transport: \"maildir:var/mail\"\n",
                                    "  relay:\n    host: smtp.example.fi\n    auth: {username: u, password: hunter2}\n");
  expect_error(relay, 14, 35, "secrets may not be written in the configuration");
  const std::string env = replace(relay, "password: hunter2", "password: env:RELAY_PASSWORD");
  BOOST_TEST(load(env).errors.empty());
  BOOST_TEST(load(env).config->delivery.relay->auth->password.ref == "RELAY_PASSWORD");
}

BOOST_AUTO_TEST_CASE(relay_credentials_need_verified_tls_or_loopback) {
  const std::string relay = replace(base, "  transport: \"maildir:var/mail\"\n",
                                    "  relay:\n    host: smtp.example.fi\n    tls: opportunistic\n"
                                    "    auth: {username: u, password: env:RELAY_PASSWORD}\n");
  expect_error(relay, 15, 11, "credentials are sent only with tls: require");
  BOOST_TEST(load(replace(relay, "tls: opportunistic", "tls: require")).config);
  BOOST_TEST(load(replace(replace(relay, "tls: opportunistic", "tls: none"), "smtp.example.fi", "127.0.0.1")).config);
}

BOOST_AUTO_TEST_CASE(relay_timeouts_default_to_rfc_5321) {
  const std::string relay = replace(base, "  transport: \"maildir:var/mail\"\n",
                                    "  relay:\n    host: smtp.example.fi\n    timeouts: {data_end: 20m}\n");
  const auto r = load(relay);
  BOOST_REQUIRE(r.config);
  const auto& t = r.config->delivery.relay->timeouts;
  BOOST_TEST(t.connect.count() == 30);
  BOOST_TEST(t.greeting.count() == 300);
  BOOST_TEST(t.command.count() == 300);
  BOOST_TEST(t.data_init.count() == 120);
  BOOST_TEST(t.data_block.count() == 180);
  BOOST_TEST(t.data_end.count() == 1200);
  expect_error(replace(relay, "data_end: 20m", "data_end: 2h"), 14, 26, "out of range");
}

BOOST_AUTO_TEST_CASE(public_url_must_be_https_except_loopback) {
  expect_error(replace(base, "https://turvaposti.example.fi", "http://turvaposti.example.fi"), 3, 15, "must use https");
  expect_error(replace(base, "https://turvaposti.example.fi", "ftp://x"), 3, 15, "not an https URL");
  BOOST_TEST(load(replace(base, "https://turvaposti.example.fi", "http://127.0.0.1:8443")).errors.empty());
  BOOST_TEST(load(replace(base, "https://turvaposti.example.fi", "http://localhost:8443")).errors.empty());
}

BOOST_AUTO_TEST_CASE(missing_required_keys) {
  expect_error(replace(base, "  name: Test\n", ""), 2, 3, "missing required key 'instance.name'");
  expect_error(replace(base, "    role: inbound\n", ""), 5, 5, "missing required key 'listeners[0].role'");
}

BOOST_AUTO_TEST_CASE(submission_listener_must_not_be_an_open_relay) {
  expect_error(replace(base, "    role: inbound\n", "    role: submission\n"), 5, 5, "open relay");
}

BOOST_AUTO_TEST_CASE(yaml_syntax_error_has_position) {
  expect_error("instance:\n  name: [unclosed\n", 3, 1, "YAML syntax");
}

BOOST_AUTO_TEST_CASE(reports_every_error_at_once) {
  std::string bad = replace(base, "  name: Test\n", "  name: Test\n  colour: blue\n");
  bad = replace(bad, "\"127.0.0.1:2525\"", "\"nowhere\"");
  bad = replace(bad, "{team: from_recipient}", "{team: ghosts}");
  bad += "unlock: {link_ttl: forever}\n";
  const auto r = load(bad);
  BOOST_TEST(r.errors.size() == 4u);
  for (std::size_t i = 1; i < r.errors.size(); ++i) BOOST_TEST(r.errors[i - 1].where.line <= r.errors[i].where.line);
}

BOOST_AUTO_TEST_CASE(file_checks) {
  const fs::path dir = fs::temp_directory_path() / ("sinetti-config-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path cert = dir / "c.pem";
  const fs::path key = dir / "k.pem";
  std::string yaml = replace(base, "{cert_file: c.pem, key_file: k.pem}",
                             "{cert_file: " + cert.string() + ", key_file: " + key.string() + "}");
  auto r = load_string(yaml, "t.yaml");
  BOOST_TEST(r.errors.size() == 2u);
  BOOST_TEST(r.errors.at(0).message.find("cannot read " + cert.string() + ": No such file") != std::string::npos);
  BOOST_TEST(r.errors.at(0).where.line == 10);
  std::ofstream(cert) << "cert";
  std::ofstream(key) << "key";
  ::chmod(key.c_str(), 0644);
  r = load_string(yaml, "t.yaml");
  BOOST_REQUIRE(r.errors.size() == 1u);
  BOOST_TEST(r.errors[0].message.find("readable by everyone") != std::string::npos);
  ::chmod(key.c_str(), 0600);
  BOOST_TEST(load_string(yaml, "t.yaml").errors.empty());
  // Self-signed files may be missing: they are created on first start.
  const std::string self_signed = replace(base, "{cert_file: c.pem, key_file: k.pem}",
                                          "{cert_file: " + (dir / "none.pem").string() + ", key_file: " +
                                              (dir / "none.key").string() + ", self_signed: true}");
  BOOST_TEST(load_string(self_signed, "t.yaml").errors.empty());
  // env: secrets must be set.
  const std::string env = replace(base, "  transport: \"maildir:var/mail\"\n",
                                  "  relay:\n    host: smtp.example.fi\n    auth: {username: u, password: env:SINETTI_TEST_UNSET_VAR}\n");
  ::unsetenv("SINETTI_TEST_UNSET_VAR");
  r = load_string(replace(env, "c.pem, key_file: k.pem", cert.string() + ", key_file: " + key.string()), "t.yaml");
  BOOST_REQUIRE(r.errors.size() == 1u);
  BOOST_TEST(r.errors[0].message.find("SINETTI_TEST_UNSET_VAR is not set") != std::string::npos);
  BOOST_TEST(r.errors[0].where.line == 14);
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(conditions_parse_into_a_tree) {
  const std::string yaml = replace(base, "{recipient: {team: any}}",
                                   "{role: inbound, any: [{detector: iban}, {not: {marked: true}}], size: {over: 1MiB}}");
  const auto r = load(yaml);
  for (const auto& e : r.errors) BOOST_TEST_MESSAGE(e.str());
  BOOST_REQUIRE(r.config);
  const Condition& when = r.config->routing.rules[0].when;
  BOOST_TEST((when.kind == Condition::Kind::all));
  BOOST_REQUIRE(when.children.size() == 3u);
  BOOST_TEST((when.children[0].kind == Condition::Kind::role));
  BOOST_TEST((when.children[1].kind == Condition::Kind::any));
  BOOST_TEST((when.children[1].children[1].kind == Condition::Kind::not_));
  BOOST_TEST(when.children[1].children[1].children[0].flag);  // marked: true, under not
  BOOST_TEST(*when.children[2].larger_than == 1024u * 1024);
}

BOOST_AUTO_TEST_CASE(notification_addresses) {
  const auto defaults = load(base);
  BOOST_REQUIRE(defaults.config);
  BOOST_TEST(defaults.config->notification_from() == "noreply@turvaposti.example.fi");
  BOOST_TEST(defaults.config->reply_domain() == "turvaposti.example.fi");
  BOOST_TEST(!defaults.config->notifications.include_subject);
  const auto set = load(base + "notifications:\n  from: turvaposti@example.fi\n  reply_domain: vastaus.example.fi\n");
  BOOST_REQUIRE(set.config);
  BOOST_TEST(set.config->notification_from() == "turvaposti@example.fi");
  BOOST_TEST(set.config->reply_domain() == "vastaus.example.fi");
  const auto from_only = load(base + "notifications:\n  from: turvaposti@posti.example.fi\n");
  BOOST_REQUIRE(from_only.config);
  BOOST_TEST(from_only.config->reply_domain() == "posti.example.fi");
  expect_error(base + "notifications:\n  from: not-an-address\n", 26, 9, "is not a mail address");
  expect_error(base + "notifications:\n  reply_domain: \"bad domain\"\n", 26, 17, "is not a domain name");
}

BOOST_AUTO_TEST_CASE(sms_text_defaults_and_checks) {
  const auto defaults = load(base);
  BOOST_REQUIRE(defaults.config);
  const auto& text = defaults.config->sms.text;
  BOOST_TEST(text.size() == 3u);
  for (const auto& [language, t] : text) BOOST_TEST(t.find("{{pin}}") != std::string::npos, to_string(language));
  BOOST_TEST(text.at(Language::fi).find("Turvaposti-tunnuslukusi on {{pin}}") != std::string::npos);

  const auto custom = load(base + "sms:\n  text:\n    sv: \"Kod {{pin}}, {{minutes}} min, {{organisation}}\"\n");
  BOOST_REQUIRE(custom.config);
  BOOST_TEST(custom.config->sms.text.at(Language::sv) == "Kod {{pin}}, {{minutes}} min, {{organisation}}");
  BOOST_TEST(custom.config->sms.text.at(Language::fi) == text.at(Language::fi));

  expect_error(base + "sms:\n  text:\n    fi: \"Koodi {{pin}} {{viesti}}\"\n", 27, 5,
               "sms.text.fi: unknown placeholder {{viesti}} (use {{pin}}, {{minutes}}, {{organisation}})");
  expect_error(base + "sms:\n  text:\n    en: \"No code at all\"\n", 27, 5, "sms.text.en: the text must contain {{pin}}");
  expect_error(base + "sms:\n  text:\n    en: \"Code {{pin\"\n", 27, 5, "sms.text.en: '{{' without a closing '}}'");
  expect_error(base + "sms:\n  text: \"{{pin}} " + std::string(320, 'x') + "\"\n", 26, 9,
               "sms.text: longer than 320 characters");
  BOOST_TEST(load(base + "sms:\n  text: \"no code\"\n").errors.size() == 1u);  // one text, one report
  expect_error(base + "sms:\n  text:\n    de: \"{{pin}}\"\n", 27, 5, "unknown key 'sms.text.de'");
  // 320 characters of Finnish are fine even though they are more bytes.
  std::string finnish;
  for (int i = 0; i < 156; ++i) finnish += "ä";
  BOOST_TEST(load(base + "sms:\n  text: \"{{pin}} " + finnish + "\"\n").config != nullptr);
}

BOOST_AUTO_TEST_CASE(reference_lists_every_section) {
  const std::string ref = reference_markdown();
  for (const char* key : {"`instance.public_url`", "`listeners[].max_message_size`", "`portal.session_idle`",
                          "`storage.postgresql.dsn_file`", "`delivery.relay.tls`", "`teams[].staff_group`",
                          "`routing.rules[].when`", "`unlock.pin.max_failures`", "`sms.http.retry_on`", "`sms.text`",
                          "`oidc.providers[].identity_claim`", "`retention.audit_log`", "`admin.address`", "`keys.dir`", "`notifications.include_subject`",
                          "| `detector` |"}) {
    BOOST_TEST(ref.find(key) != std::string::npos, key);
  }
}

BOOST_AUTO_TEST_SUITE_END()
