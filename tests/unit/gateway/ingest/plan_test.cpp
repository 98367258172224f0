// The ingest plan: routing decisions for every recipient become forwarded copies per team mailbox,
// protected copies per unlock policy, and refusals — driven by a real routing table.
#include <boost/test/unit_test.hpp>

#include "config/config.hpp"
#include "gateway/ingest/plan.hpp"
#include "gateway/routing/table.hpp"
#include "smtp/mime/message.hpp"

using namespace sinetti;
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
  rules:
    - {name: marked, when: {role: submission, marked: true}, action: {protect: {level: from_marks}}}
    - {name: identity-code, when: {role: inbound, detector: finnish_identity_code}, action: {protect: {level: letter}}}
    - {name: enquiries, when: {role: inbound, recipient: {team: any}}, action: {forward: {team: from_recipient}}}
    - {name: rest, action: {reject: {code: 550, text: "5.1.1 No such recipient here"}}}
)";

const routing::RoutingTable& table() {
  static const auto t = [] {
    auto loaded = config::load_string(config_yaml, "plan.yaml", config::LoadOptions{false});
    BOOST_REQUIRE(loaded.config);
    std::vector<config::Diagnostic> errors;
    auto compiled = routing::RoutingTable::compile(loaded.config, errors);
    BOOST_REQUIRE(compiled);
    return compiled;
  }();
  return *t;
}

ingest::Plan plan_for(const std::string& raw, config::ListenerRole role, std::vector<std::string> rcpts) {
  auto m = mime::read_message(raw);
  BOOST_REQUIRE(m.ok());
  routing::Envelope env{"sender@intra.example.fi", std::move(rcpts), role == config::ListenerRole::inbound ? "inbound" : "submission", role};
  return ingest::make_plan(table().route(env, *m));
}

const std::string plain = "From: a@example.com\r\nSubject: Kysymys\r\n\r\nHei, milloin aukeatte?\r\n";
const std::string with_code = "From: a@example.com\r\nSubject: Hakemus\r\n\r\nHetu 010594Y9032 liitteenä.\r\n";

}  // namespace

BOOST_AUTO_TEST_SUITE(ingest_plan)

BOOST_AUTO_TEST_CASE(enquiries_to_two_teams_forward_once_per_mailbox) {
  auto p = plan_for(plain, config::ListenerRole::inbound,
                    {"neuvonta@tyollisyys.example.fi", "tyonhaku@tyollisyys.example.fi", "Neuvonta@tyollisyys.example.fi"});
  BOOST_TEST(p.accepts());
  BOOST_TEST_REQUIRE(p.forwards.size() == 2u);
  BOOST_TEST(p.forwards[0].team->id == "neuvonta");
  BOOST_TEST(p.forwards[0].recipients.size() == 2u);
  BOOST_TEST(p.forwards[1].team->id == "tyonhaku");
  BOOST_TEST(p.protects.empty());
  BOOST_TEST(p.refused.empty());
}

BOOST_AUTO_TEST_CASE(an_enquiry_with_an_identity_code_is_protected_for_the_team) {
  auto p = plan_for(with_code, config::ListenerRole::inbound, {"neuvonta@tyollisyys.example.fi"});
  BOOST_TEST(p.forwards.empty());
  BOOST_TEST_REQUIRE(p.protects.size() == 1u);
  BOOST_TEST((p.protects[0].level == ProtectionLevel::letter));
  BOOST_TEST_REQUIRE(p.protects[0].team != nullptr);
  BOOST_TEST(p.protects[0].team->mailbox == "neuvonta@intra.example.fi");
}

BOOST_AUTO_TEST_CASE(recipients_with_different_phones_get_separate_copies) {
  auto p = plan_for(plain, config::ListenerRole::submission,
                    {"a@example.com.0401234567.s", "b@example.com.0407654321.s", "c@example.com.s", "d@example.com.s",
                     "a@example.com.0401234567.s"});
  BOOST_TEST(p.accepts());
  BOOST_TEST_REQUIRE(p.protects.size() == 3u);
  BOOST_TEST((p.protects[0].level == ProtectionLevel::sms));
  BOOST_TEST(*p.protects[0].phone == "+358401234567");
  BOOST_TEST(p.protects[0].recipients.size() == 1u);  // named twice, one link
  BOOST_TEST(p.protects[0].recipients[0].address == "a@example.com");
  BOOST_TEST(p.protects[0].recipients[0].shown.find("1234567") == std::string::npos);
  BOOST_TEST(*p.protects[1].phone == "+358407654321");
  BOOST_TEST((p.protects[2].level == ProtectionLevel::letter));
  BOOST_TEST(p.protects[2].recipients.size() == 2u);
  BOOST_TEST(!p.protects[2].team);
}

BOOST_AUTO_TEST_CASE(mixed_outcomes_accept_and_refuse) {
  auto p = plan_for(plain, config::ListenerRole::submission, {"a@example.com.s", "b@example.com"});
  BOOST_TEST(p.accepts());
  BOOST_TEST(p.protects.size() == 1u);
  BOOST_TEST_REQUIRE(p.refused.size() == 1u);
  BOOST_TEST(p.refused[0].code == 550);
  BOOST_TEST(p.refused[0].shown == "b@example.com");
}

BOOST_AUTO_TEST_CASE(nothing_accepted_gives_the_first_refusal) {
  auto p = plan_for(plain, config::ListenerRole::submission, {"b@example.com", "c@example.com"});
  BOOST_TEST(!p.accepts());
  BOOST_TEST(p.reply_code() == 550);
  BOOST_TEST(p.reply_text() == "5.1.1 No such recipient here");
  // A level that cannot be met is a refusal too, with the reason.
  auto sms = plan_for("Subject: x\r\nX-Sinetti-Protect: sms\r\n\r\nbody\r\n", config::ListenerRole::submission,
                      {"a@example.com"});
  BOOST_TEST(!sms.accepts());
  BOOST_TEST(sms.reply_text().find("needs a phone number") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
