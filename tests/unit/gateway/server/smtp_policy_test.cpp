// The listener roles' recipient policy: inbound accepts only its domains and team addresses (also
// with protection suffixes) and is never an open relay; submission accepts anything, but only from
// trusted networks or authenticated users.
#include <boost/test/unit_test.hpp>

#include "config/config.hpp"
#include "gateway/server/smtp_policy.hpp"

using namespace sinetti;
using namespace sinetti::server;

namespace {

std::shared_ptr<const config::Config> policy_config() {
  const std::string yaml = R"(
instance: {name: Test, public_url: "https://gw.example.fi", data_dir: var}
listeners:
  - {name: inbound, address: "127.0.0.1:0", role: inbound, domains: [tyollisyys.example.fi, Toinen.Example.FI]}
  - {name: submission, address: "127.0.0.1:0", role: submission, allowed_networks: [127.0.0.0/8]}
portal: {address: "127.0.0.1:0", tls: {cert_file: c.pem, key_file: k.pem}}
delivery: {transport: "maildir:mail"}
sms: {driver: file, file: {path: sms.jsonl}, default_country: "358"}
notifications: {reply_domain: tyollisyys.example.fi}
teams:
  - {id: neuvonta, name: {fi: N, sv: N, en: N}, address: neuvonta@tyollisyys.example.fi, mailbox: n@intra.example.fi}
  - {id: palvelut, name: {fi: P, sv: P, en: P}, address: Palvelut@kunta.example.fi, mailbox: p@intra.example.fi}
routing:
  rules:
    - {name: rest, when: {}, action: {reject: {code: 550, text: "5.1.1 No"}}}
)";
  auto r = config::load_string(yaml, "test.yaml", config::LoadOptions{false});
  std::string errors;
  for (const auto& e : r.errors) errors += e.str() + "\n";
  BOOST_REQUIRE_MESSAGE(r.config, errors);
  return r.config;
}

// The reply code, 0 when accepted.
int code(const std::optional<smtp::Reply>& r) { return r ? r->code : 0; }

}  // namespace

BOOST_AUTO_TEST_SUITE(smtp_policy)

BOOST_AUTO_TEST_CASE(inbound_accepts_its_domains_and_team_addresses) {
  const auto config = policy_config();
  const auto policy = make_recipient_policy(*config, *config->find_listener("inbound"));
  const smtp::SessionInfo s;
  auto accepted = [&](const char* a) { return !policy->check_recipient(s, a).has_value(); };
  BOOST_TEST(accepted("neuvonta@tyollisyys.example.fi"));
  BOOST_TEST(accepted("NEUVONTA@Tyollisyys.Example.FI"));
  BOOST_TEST(accepted("anyone@tyollisyys.example.fi"));
  BOOST_TEST(accepted("someone@toinen.example.fi"));  // domains compare case-insensitively
  // A team address outside the listed domains: that address only, not its whole domain.
  BOOST_TEST(accepted("palvelut@kunta.example.fi"));
  BOOST_TEST(!accepted("other@kunta.example.fi"));
  // Protection suffixes.
  BOOST_TEST(accepted("neuvonta@tyollisyys.example.fi.s"));
  BOOST_TEST(accepted("neuvonta@tyollisyys.example.fi.0401234567.s"));
  BOOST_TEST(accepted("palvelut@kunta.example.fi.S"));
  BOOST_TEST(!policy->check_sender(s, "anyone@anywhere.example").has_value());
  BOOST_TEST(!policy->check_sender(s, "").has_value());  // bounces are welcome
}

BOOST_AUTO_TEST_CASE(inbound_is_never_an_open_relay) {
  const auto config = policy_config();
  const auto policy = make_recipient_policy(*config, *config->find_listener("inbound"));
  smtp::SessionInfo s;
  for (const char* a : {"victim@gmail.com", "x@sub.tyollisyys.example.fi", "x@tyollisyys.example.fi.evil.example",
                        "x@example.fi", "x@gmail.com.s", "x@gmail.com.0401234567.s", "x@tyollisyys.example", "x@fi"}) {
    const auto r = policy->check_recipient(s, a);
    BOOST_TEST_REQUIRE(r.has_value(), a);
    BOOST_TEST(r->code == 550, a);
    BOOST_TEST(r->enhanced == "5.7.1", a);
    BOOST_TEST(r->lines.at(0) == "Relaying denied", a);
  }
  // Being on a trusted network or authenticated changes nothing on an inbound listener.
  s.trusted_network = true;
  s.auth_user = "alice";
  BOOST_TEST(code(policy->check_recipient(s, "victim@gmail.com")) == 550);
  // A phone suffix that is not a phone number is a bad address, not a relay attempt.
  BOOST_TEST(code(policy->check_recipient(s, "neuvonta@tyollisyys.example.fi.12.s")) == 553);
}

BOOST_AUTO_TEST_CASE(submission_needs_a_trusted_network_or_auth) {
  const auto config = policy_config();
  const auto policy = make_recipient_policy(*config, *config->find_listener("submission"));
  smtp::SessionInfo stranger;
  BOOST_TEST(code(policy->check_sender(stranger, "staff@tyollisyys.example.fi")) == 530);
  BOOST_TEST(code(policy->check_recipient(stranger, "client@gmail.com")) == 550);
  smtp::SessionInfo local;
  local.trusted_network = true;
  BOOST_TEST(!policy->check_sender(local, "staff@tyollisyys.example.fi").has_value());
  BOOST_TEST(!policy->check_recipient(local, "client@gmail.com").has_value());
  BOOST_TEST(!policy->check_recipient(local, "client@gmail.com.0401234567.s").has_value());
  smtp::SessionInfo authenticated;
  authenticated.auth_user = "alice";
  BOOST_TEST(!policy->check_sender(authenticated, "alice@tyollisyys.example.fi").has_value());
  BOOST_TEST(!policy->check_recipient(authenticated, "client@gmail.com").has_value());
}

BOOST_AUTO_TEST_CASE(reply_addresses_only_from_the_mail_server_on_submission) {
  const auto config = policy_config();
  const std::string token(43, 'A');
  const std::string reply = "reply+" + token + "@tyollisyys.example.fi";
  // Inbound: a reply address is refused although its domain is one of the listener's.
  const auto inbound = make_recipient_policy(*config, *config->find_listener("inbound"));
  smtp::SessionInfo anyone;
  const auto in = inbound->check_recipient(anyone, reply);
  BOOST_TEST_REQUIRE(in.has_value());
  BOOST_TEST(in->code == 550);
  BOOST_TEST(in->enhanced == "5.7.1");
  BOOST_TEST(code(inbound->check_recipient(anyone, "REPLY+" + token + "@Tyollisyys.Example.FI")) == 550);
  BOOST_TEST(code(inbound->check_recipient(anyone, "replyer@tyollisyys.example.fi")) == 0);  // not "reply+"

  const auto submission = make_recipient_policy(*config, *config->find_listener("submission"));
  smtp::SessionInfo server;
  server.trusted_network = true;
  BOOST_TEST(code(submission->check_recipient(server, reply)) == 0);
  // Authenticated from elsewhere is not the organisation's mail server.
  smtp::SessionInfo authenticated;
  authenticated.auth_user = "alice";
  const auto a = submission->check_recipient(authenticated, reply);
  BOOST_TEST_REQUIRE(a.has_value());
  BOOST_TEST(a->enhanced == "5.7.1");
  BOOST_TEST(code(submission->check_recipient(authenticated, "client@gmail.com")) == 0);
  // A malformed token is no reply address of ours: 5.1.1 at RCPT.
  for (const std::string& bad : std::vector<std::string>{"reply+short@tyollisyys.example.fi", "reply+" + std::string(43, '!') + "@tyollisyys.example.fi",
                                "reply+" + std::string(44, 'A') + "@tyollisyys.example.fi", "reply+@tyollisyys.example.fi"}) {
    const auto r = submission->check_recipient(server, bad);
    BOOST_TEST_REQUIRE(r.has_value(), bad);
    BOOST_TEST(r->code == 550, bad);
    BOOST_TEST(r->enhanced == "5.1.1", bad);
  }
  // Another domain is ordinary mail.
  BOOST_TEST(code(submission->check_recipient(server, "reply+short@elsewhere.example")) == 0);
}

BOOST_AUTO_TEST_SUITE_END()
