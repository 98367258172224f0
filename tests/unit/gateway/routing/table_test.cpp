// Routing: marks, combinators, detectors in rules, decisions per recipient, and the explain trace.
#include <boost/test/unit_test.hpp>

#include "config/config.hpp"
#include "gateway/routing/table.hpp"
#include "sms/phone.hpp"

using namespace sinetti;
using config::Action;
using config::ProtectionLevel;

namespace {

const std::string config_yaml = R"(instance: {name: Test, public_url: "https://t.example.fi"}
listeners:
  - {name: inbound, address: "127.0.0.1:2525", role: inbound}
  - {name: submission, address: "127.0.0.1:2587", role: submission, allowed_networks: [127.0.0.0/8]}
portal: {address: "127.0.0.1:8443", tls: {cert_file: c, key_file: k}}
delivery: {transport: "maildir:var/mail"}
teams:
  - {id: neuvonta, name: Neuvonta, address: neuvonta@tyollisyys.example.fi, mailbox: neuvonta@intra.example.fi}
  - {id: tyonhaku, name: Tyonhaku, address: tyonhaku@tyollisyys.example.fi, mailbox: tyonhaku@intra.example.fi}
routing:
  detectors:
    - {name: health, keywords: [diagnoosi, lääkärintodistus]}
    - {name: case-number, regex: 'TY-\d{4}-\d{5}'}
  rules:
    - name: executables
      when: {attachment: {name: "*.exe"}}
      action: {reject: {code: 550, text: "5.7.1 No executables"}}
    - name: big
      when: {size: {over: 1MiB}}
      action: {reject: {code: 552, text: "5.3.4 Too big"}}
    - name: marked
      when: {role: submission, marked: true}
      action: {protect: {level: from_marks}}
    - name: urgent-header
      when: {header: {name: X-Case, regex: '^TY-\d+$'}}
      action: {protect: {level: letter}}
    - name: personal-data
      when:
        any:
          - {detector: finnish_identity_code}
          - {detector: iban}
          - {all: [{detector: health}, {not: {sender: "@intra.example.fi"}}]}
      action: {protect: {level: letter}}
    - name: enquiries
      when: {role: inbound, recipient: {team: any}}
      action: {forward: {team: from_recipient}}
    - name: staff-to-case
      when: {recipient: "*@cases.example.fi", detector: case-number}
      action: {forward: {team: tyonhaku}}
    - name: rest
      action: {reject: {code: 550, text: "5.1.1 No such recipient here"}}
)";

std::shared_ptr<const routing::RoutingTable> table() {
  static const auto t = [] {
    auto loaded = config::load_string(config_yaml, "routing.yaml", config::LoadOptions{false});
    for (const auto& e : loaded.errors) BOOST_TEST_MESSAGE(e.str());
    BOOST_REQUIRE(loaded.config);
    std::vector<config::Diagnostic> errors;
    auto compiled = routing::RoutingTable::compile(loaded.config, errors);
    BOOST_REQUIRE(compiled);
    return compiled;
  }();
  return t;
}

mime::Message message(const std::string& headers, const std::string& body) {
  auto m = mime::read_message("From: a@example.fi\r\n" + headers + "\r\n" + body);
  BOOST_REQUIRE(m.ok());
  return *m;
}

routing::Routed route(const std::string& listener, const std::vector<std::string>& to, const mime::Message& m,
                      const std::string& from = "staff@intra.example.fi") {
  const auto role = listener == "inbound" ? config::ListenerRole::inbound : config::ListenerRole::submission;
  return table()->route(routing::Envelope{from, to, listener, role}, m);
}

routing::Decision only(const routing::Routed& r) {
  BOOST_REQUIRE_EQUAL(r.decisions.size(), 1u);
  return r.decisions.front();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(routing_table)

BOOST_AUTO_TEST_CASE(address_suffix_protects_and_is_removed) {
  const auto r = route("submission", {"client@example.com.s"}, message("Subject: Hello\r\n", "Hi\r\n"));
  const auto& d = only(r);
  BOOST_TEST((d.action == Action::Kind::protect));
  BOOST_TEST((d.level == ProtectionLevel::letter));
  BOOST_TEST(d.address == "client@example.com");
  BOOST_TEST(d.rule->name == "marked");
}

BOOST_AUTO_TEST_CASE(phone_suffix_gives_sms_level) {
  const auto& d = only(route("submission", {"client@example.com.0401234567.s"}, message("Subject: x\r\n", "Hi\r\n")));
  BOOST_TEST((d.action == Action::Kind::protect));
  BOOST_TEST((d.level == ProtectionLevel::sms));
  BOOST_TEST(d.phone.value() == "+358401234567");
  BOOST_TEST(d.address == "client@example.com");
}

BOOST_AUTO_TEST_CASE(bad_phone_suffix_is_refused) {
  const auto& d = only(route("submission", {"client@example.com.04012.s"}, message("Subject: x\r\n", "Hi\r\n")));
  BOOST_TEST((d.action == Action::Kind::reject));
  BOOST_TEST(d.text.find("phone number in the address suffix") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(subject_tags_in_three_languages) {
  for (const auto& [tag, lang] : std::vector<std::pair<std::string, config::Language>>{
           {"[suojattu]", config::Language::fi}, {"[SKYDDAD]", config::Language::sv}, {"[secure]", config::Language::en}}) {
    const auto r = route("submission", {"client@example.com"}, message("Subject: Re: " + tag + " Päätös\r\n", "Hi\r\n"));
    BOOST_TEST((only(r).action == Action::Kind::protect), tag);
    BOOST_TEST(r.marks.subject == "Re: Päätös", tag);
    BOOST_TEST((r.marks.language == lang), tag);
  }
}

BOOST_AUTO_TEST_CASE(marks_are_ignored_on_inbound_where_the_rule_says_submission) {
  // The "marked" rule is for staff: on inbound, a marked enquiry to a team is forwarded.
  const auto& d = only(route("inbound", {"neuvonta@tyollisyys.example.fi"}, message("Subject: [secure] kysymys\r\n", "Hei\r\n"),
                             "citizen@example.com"));
  BOOST_TEST((d.action == Action::Kind::forward));
  BOOST_TEST(d.team->id == "neuvonta");
}

BOOST_AUTO_TEST_CASE(protect_header_with_sms_header) {
  const auto& d = only(route("submission", {"client@example.com"},
                             message("Subject: x\r\nX-Sinetti-Protect: sms\r\nX-Sinetti-Sms: +358 40 765 4321\r\n", "Hi\r\n")));
  BOOST_TEST((d.level == ProtectionLevel::sms));
  BOOST_TEST(d.phone.value() == "+358407654321");
}

BOOST_AUTO_TEST_CASE(sms_level_without_phone_is_refused) {
  const auto& d = only(route("submission", {"client@example.com"}, message("Subject: x\r\nX-Sinetti-Protect: sms\r\n", "Hi\r\n")));
  BOOST_TEST((d.action == Action::Kind::reject));
  BOOST_TEST(d.text.starts_with("5.7.0 Protection level sms needs a phone number"));
}

BOOST_AUTO_TEST_CASE(identity_header_binds_personal_level) {
  const auto r = route("submission", {"client@example.com"}, message("Subject: x\r\nX-Sinetti-Identity: 010594Y9032\r\n", "Hi\r\n"));
  const auto& d = only(r);
  BOOST_TEST((d.level == ProtectionLevel::personal));
  BOOST_TEST(d.identity_bound);
  BOOST_TEST(routing::describe(d).find("010594Y9032") == std::string::npos);
  const auto& bad = only(route("submission", {"client@example.com"}, message("Subject: x\r\nX-Sinetti-Identity: 280453-111A\r\n", "Hi\r\n")));
  BOOST_TEST((bad.action == Action::Kind::reject));
  BOOST_TEST(bad.text.find("280453") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(identity_code_in_text_is_protected_not_forwarded) {
  const auto r = route("inbound", {"neuvonta@tyollisyys.example.fi"},
                       message("Subject: kysymys\r\n", "Hetuni on 010594Y9032, soittakaa.\r\n"), "citizen@example.com");
  const auto& d = only(r);
  BOOST_TEST((d.action == Action::Kind::protect));
  BOOST_TEST(d.rule->name == "personal-data");
  BOOST_TEST(d.team->id == "neuvonta");  // the team is notified
  BOOST_REQUIRE(!r.findings.empty());
  BOOST_TEST(r.findings[0].detector == "finnish_identity_code");
  BOOST_TEST(r.findings[0].offset == 10u);
  for (const auto& t : d.trace) BOOST_TEST(t.why.find("010594Y9032") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(identity_code_in_text_attachment_is_protected) {
  const std::string body =
      "--b\r\nContent-Type: text/plain\r\n\r\nLiitteenä tiedot.\r\n"
      "--b\r\nContent-Type: text/csv\r\nContent-Disposition: attachment; filename=\"tiedot.csv\"\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n" "bmltaSxoZXR1Ck1hdHRpLDAyMDUxNkM5MDNLCg==\r\n--b--\r\n";
  const auto r = route("inbound", {"tyonhaku@tyollisyys.example.fi"},
                       message("Subject: liite\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n", body),
                       "citizen@example.com");
  BOOST_TEST((only(r).action == Action::Kind::protect));
  BOOST_REQUIRE(!r.findings.empty());
  BOOST_TEST(r.findings[0].where.find("tiedot.csv") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(text_cut_at_the_reader_limit_counts_as_found) {
  // The reader keeps at most max_text_bytes of a text; whatever lies beyond was never scanned, so
  // the detector rules fail closed rather than forward it.
  mime::Limits limits;
  limits.max_text_bytes = 64 * 1024;
  const std::string padding(100 * 1024, 'x');
  const std::string body =
      "--b\r\nContent-Type: text/plain\r\n\r\nLiitteenä loki.\r\n"
      "--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=\"loki.txt\"\r\n\r\n" +
      padding + "\r\nhetu 010594Y9032\r\n--b--\r\n";
  auto cut = mime::read_message("From: a@example.fi\r\nSubject: loki\r\nMIME-Version: 1.0\r\n"
                                "Content-Type: multipart/mixed; boundary=b\r\n\r\n" + body, limits);
  BOOST_REQUIRE(cut.ok());
  BOOST_REQUIRE_EQUAL(cut->attachments.size(), 1u);
  BOOST_REQUIRE(cut->attachments[0].text_truncated);
  const auto r = route("inbound", {"neuvonta@tyollisyys.example.fi"}, *cut, "citizen@example.com");
  BOOST_TEST((only(r).action == Action::Kind::protect));
  BOOST_TEST(only(r).rule->name == "personal-data");
  BOOST_REQUIRE(!r.findings.empty());
  BOOST_TEST(r.findings[0].where.find("too long to scan whole") != std::string::npos);
  // A body text cut the same way, too; the same texts whole and clean are forwarded.
  auto long_body = mime::read_message("From: a@example.fi\r\nSubject: x\r\n\r\n" + padding + "\r\n", limits);
  BOOST_REQUIRE(long_body.ok());
  BOOST_REQUIRE(long_body->texts.at(0).truncated);
  BOOST_TEST((only(route("inbound", {"neuvonta@tyollisyys.example.fi"}, *long_body, "citizen@example.com")).action ==
              Action::Kind::protect));
  auto whole = mime::read_message("From: a@example.fi\r\nSubject: x\r\n\r\n" + padding + "\r\n");
  BOOST_REQUIRE(whole.ok());
  BOOST_TEST((only(route("inbound", {"neuvonta@tyollisyys.example.fi"}, *whole, "citizen@example.com")).action ==
              Action::Kind::forward));
}

BOOST_AUTO_TEST_CASE(plain_enquiry_is_forwarded_to_the_recipients_team) {
  const auto& d = only(route("inbound", {"TyonHaku@Tyollisyys.Example.FI"}, message("Subject: kysymys\r\n", "Milloin?\r\n"),
                             "citizen@example.com"));
  BOOST_TEST((d.action == Action::Kind::forward));
  BOOST_TEST(d.team->mailbox == "tyonhaku@intra.example.fi");
}

BOOST_AUTO_TEST_CASE(combinators_all_any_not) {
  // health keywords protect unless the sender is internal (not), any-of detectors.
  const auto external = route("inbound", {"neuvonta@tyollisyys.example.fi"}, message("Subject: x\r\n", "DIAGNOOSI liitteenä\r\n"),
                              "citizen@example.com");
  BOOST_TEST((only(external).action == Action::Kind::protect));
  const auto internal = route("inbound", {"neuvonta@tyollisyys.example.fi"}, message("Subject: x\r\n", "diagnoosi liitteenä\r\n"),
                              "nurse@intra.example.fi");
  BOOST_TEST((only(internal).action == Action::Kind::forward));
  const auto iban = route("inbound", {"neuvonta@tyollisyys.example.fi"}, message("Subject: x\r\n", "Tilini FI21 1234 5600 0007 85\r\n"),
                          "citizen@example.com");
  BOOST_TEST((only(iban).action == Action::Kind::protect));
  // all: recipient glob and regex detector both needed.
  const auto both = route("submission", {"x@cases.example.fi"}, message("Subject: x\r\n", "Asia TY-2026-00042\r\n"));
  BOOST_TEST(only(both).rule->name == "staff-to-case");
  const auto one = route("submission", {"x@cases.example.fi"}, message("Subject: x\r\n", "Asia ilman numeroa\r\n"));
  BOOST_TEST(only(one).rule->name == "rest");
}

BOOST_AUTO_TEST_CASE(header_size_and_attachment_conditions) {
  BOOST_TEST(only(route("submission", {"a@b.fi"}, message("Subject: x\r\nX-Case: TY-123\r\n", "x\r\n"))).rule->name == "urgent-header");
  BOOST_TEST(only(route("submission", {"a@b.fi"}, message("Subject: x\r\nX-Case: other\r\n", "x\r\n"))).rule->name == "rest");
  const std::string big(1100 * 1024, 'a');
  BOOST_TEST(only(route("submission", {"a@b.fi"}, message("Subject: x\r\n", big))).rule->name == "big");
  const std::string exe =
      "--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
      "--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"SETUP.EXE\"\r\n\r\nMZ\r\n--b--\r\n";
  const auto& d = only(route("inbound", {"neuvonta@tyollisyys.example.fi"},
                             message("Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n", exe)));
  BOOST_TEST(d.rule->name == "executables");
  BOOST_TEST(d.code == 550);
}

BOOST_AUTO_TEST_CASE(each_recipient_gets_its_own_decision) {
  const auto r = route("submission", {"a@example.com.s", "neuvonta@tyollisyys.example.fi", "b@example.com.0401234567.s"},
                       message("Subject: x\r\n", "x\r\n"));
  BOOST_REQUIRE_EQUAL(r.decisions.size(), 3u);
  BOOST_TEST((r.decisions[0].level == ProtectionLevel::letter));
  BOOST_TEST((r.decisions[1].action == Action::Kind::reject));  // submission to a team, unmarked: no rule but rest
  BOOST_TEST((r.decisions[2].level == ProtectionLevel::sms));
}

BOOST_AUTO_TEST_CASE(trace_stops_at_the_first_match) {
  const auto r = route("inbound", {"neuvonta@tyollisyys.example.fi"}, message("Subject: x\r\n", "x\r\n"), "c@example.com");
  const auto& d = only(r);
  BOOST_TEST(d.rule->name == "enquiries");
  BOOST_REQUIRE_EQUAL(d.trace.size(), 6u);  // executables, big, marked, urgent-header, personal-data, enquiries
  for (std::size_t i = 0; i + 1 < d.trace.size(); ++i) BOOST_TEST(!d.trace[i].matched);
  BOOST_TEST(d.trace.back().matched);
  BOOST_TEST(d.trace[2].why.find("role submission: no (listener role inbound)") != std::string::npos);
  BOOST_TEST(d.trace.back().where.line == 34);
}

BOOST_AUTO_TEST_CASE(bad_regex_is_a_positioned_error) {
  std::string yaml = config_yaml;
  yaml.replace(yaml.find("'TY-\\d{4}-\\d{5}'"), 16, "'TY-(\\d{4}'");
  auto bad = config::load_string(yaml, "r.yaml", config::LoadOptions{false});
  BOOST_REQUIRE(bad.config);
  std::vector<config::Diagnostic> errors;
  BOOST_TEST(!routing::RoutingTable::compile(bad.config, errors));
  BOOST_REQUIRE_EQUAL(errors.size(), 1u);
  BOOST_TEST(errors[0].where.line == 13);
  BOOST_TEST(errors[0].message.find("case-number") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
