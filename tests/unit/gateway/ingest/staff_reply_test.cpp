// Staff replies by e-mail: reply addresses, who may reply to a thread (against a real SqliteStore),
// and dropping the quoted notification text.
#include "../store/store_fixture.hpp"

#include "config/config.hpp"
#include "crypto/tokens.hpp"
#include "gateway/ingest/staff_reply.hpp"
#include "gateway/routing/reply_address.hpp"

using namespace sinetti;
using namespace store_test;

namespace {

std::shared_ptr<const config::Config> reply_config() {
  const std::string yaml = R"(instance: {name: Test, public_url: "https://portal.example.fi/"}
listeners:
  - {name: submission, address: "127.0.0.1:0", role: submission, allowed_networks: [127.0.0.0/8]}
portal: {address: "127.0.0.1:0", tls: {cert_file: c, key_file: k}}
delivery: {transport: "maildir:var/mail"}
notifications: {reply_domain: vastaus.example.fi}
teams:
  - {id: neuvonta, name: Neuvonta, address: neuvonta@example.fi, mailbox: n@intra.example.fi, staff_group: g-neuvonta}
  - {id: muut, name: Muut, address: muut@example.fi, mailbox: m@intra.example.fi, staff_group: g-muut}
routing:
  rules:
    - {name: rest, action: {reject: {code: 550, text: "5.1.1 No"}}}
)";
  auto r = config::load_string(yaml, "reply.yaml", config::LoadOptions{false});
  std::string errors;
  for (const auto& e : r.errors) errors += e.str() + "\n";
  BOOST_REQUIRE_MESSAGE(r.config, errors);
  return r.config;
}

Hash hash_of_token(const std::string& token) {
  const auto d = crypto::token_hash(token);
  Hash h{};
  std::copy(d.begin(), d.end(), h.begin());
  return h;
}

// A team message m1 in thread t1 with a reply token, a read token, and (optionally) a claim.
struct ReplyFixture : Fixture {
  std::shared_ptr<const config::Config> config = reply_config();
  std::unique_ptr<SqliteStore> store = open();
  std::string reply_token = crypto::generate_token();
  std::string read_token = crypto::generate_token();

  ReplyFixture() {
    auto b = whole_message("m1");
    b.messages[0].meta->team_id = "neuvonta";
    b.messages[0].meta->thread_id = "t1";
    Thread t;
    t.id = "t1";
    t.team_id = "neuvonta";
    t.client_identity = Bytes(32, 7);
    t.client_address = "client@example.com";
    t.expires = now() + 24h * 30;
    b.threads.push_back(t);
    b.tokens.push_back(token(hash_of_token(reply_token), "m1", "n@intra.example.fi", now() + 24h * 7, TokenPurpose::reply));
    b.tokens.push_back(token(hash_of_token(read_token), "m1", "n@intra.example.fi", now() + 24h * 7, TokenPurpose::read));
    BOOST_REQUIRE(store->commit(b).ok());
  }

  void claim_as(const std::string& subject, const std::string& email, const std::string& team = "neuvonta") {
    Claim c;
    c.message_id = "m1";
    c.team_id = team;
    c.staff_subject = subject;
    c.staff_name = subject;
    c.staff_email = email;
    BOOST_REQUIRE(store->claim(c, {}).ok());
  }

  // The enhanced code of the refusal, or "ok" with the target's thread.
  std::string check(const std::string& token, const std::string& sender) {
    auto r = ingest::check_staff_reply(*store, *config, token, sender, clock.now());
    BOOST_REQUIRE(r.ok());
    if (auto* refusal = std::get_if<smtp::Reply>(&*r)) return std::to_string(refusal->code) + " " + refusal->enhanced;
    const auto& target = std::get<ingest::StaffReplyTarget>(*r);
    BOOST_TEST(target.team->id == "neuvonta");
    BOOST_TEST(target.message_id == "m1");
    BOOST_TEST(target.thread.client_address == "client@example.com");
    return "ok " + target.thread.id + " " + target.claim.staff_subject;
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(ingest_staff_reply)

BOOST_AUTO_TEST_CASE(reply_addresses_carry_a_token_at_the_reply_domain) {
  const std::string token = crypto::generate_token();
  const std::string address = routing::reply_address(token, "vastaus.example.fi");
  BOOST_TEST(address == "reply+" + token + "@vastaus.example.fi");
  BOOST_TEST(routing::reply_token(address, "vastaus.example.fi").value_or("") == token);
  BOOST_TEST(routing::reply_token("REPLY+" + token + "@Vastaus.Example.FI", "vastaus.example.fi").value_or("") == token);
  BOOST_TEST(!routing::reply_token(address, "example.fi").has_value());
  BOOST_TEST(!routing::reply_token("reply+" + token + "x@vastaus.example.fi", "vastaus.example.fi").has_value());
  BOOST_TEST(!routing::reply_token("reply+" + token.substr(1) + "=@vastaus.example.fi", "vastaus.example.fi").has_value());
  BOOST_TEST(routing::is_reply_address("reply+x@vastaus.example.fi", "vastaus.example.fi"));
  BOOST_TEST(!routing::is_reply_address("replies@vastaus.example.fi", "vastaus.example.fi"));
  BOOST_TEST(!routing::is_reply_address("reply+x@vastaus.example.fi", ""));
}

BOOST_FIXTURE_TEST_CASE(only_the_claiming_member_may_reply, ReplyFixture) {
  // Nobody has claimed it: nobody may reply.
  BOOST_TEST(check(reply_token, "anna@intra.example.fi") == "550 5.7.1");
  claim_as("staff-a", "Anna@Intra.Example.fi");
  BOOST_TEST(check(reply_token, "anna@intra.example.fi") == "ok t1 staff-a");
  BOOST_TEST(check(reply_token, "ANNA@intra.example.fi") == "ok t1 staff-a");
  BOOST_TEST(check(reply_token, "bertil@intra.example.fi") == "550 5.7.1");  // another member
  BOOST_TEST(check(reply_token, "") == "550 5.7.1");
  // Reassigned by a lead: now only the new holder.
  Claim c;
  c.message_id = "m1";
  c.staff_subject = "staff-b";
  c.staff_name = "B";
  c.staff_email = "bertil@intra.example.fi";
  BOOST_REQUIRE(*store->reassign_claim(c, {}));
  BOOST_TEST(check(reply_token, "anna@intra.example.fi") == "550 5.7.1");
  BOOST_TEST(check(reply_token, "bertil@intra.example.fi") == "ok t1 staff-b");
}

BOOST_FIXTURE_TEST_CASE(a_claim_for_another_team_does_not_count, ReplyFixture) {
  claim_as("staff-a", "anna@intra.example.fi", "muut");
  BOOST_TEST(check(reply_token, "anna@intra.example.fi") == "550 5.7.1");
}

BOOST_FIXTURE_TEST_CASE(unknown_expired_or_revoked_addresses_are_refused, ReplyFixture) {
  claim_as("staff-a", "anna@intra.example.fi");
  BOOST_TEST(check(crypto::generate_token(), "anna@intra.example.fi") == "550 5.1.1");
  BOOST_TEST(check(read_token, "anna@intra.example.fi") == "550 5.1.1");  // a read link is no reply address
  clock.advance(24h * 7);
  BOOST_TEST(check(reply_token, "anna@intra.example.fi") == "550 5.1.1");  // the token's expiry
  clock.advance(-24h);
  BOOST_TEST(check(reply_token, "anna@intra.example.fi") == "ok t1 staff-a");
  BOOST_REQUIRE(store->revoke_token(hash_of_token(reply_token), {}).ok());
  BOOST_TEST(check(reply_token, "anna@intra.example.fi") == "550 5.1.1");
}

BOOST_FIXTURE_TEST_CASE(a_closed_thread_takes_no_replies, ReplyFixture) {
  claim_as("staff-a", "anna@intra.example.fi");
  BOOST_REQUIRE(*store->set_thread_state("t1", ThreadState::open, ThreadState::closed, {}));
  BOOST_TEST(check(reply_token, "anna@intra.example.fi") == "550 5.1.1");
}

BOOST_AUTO_TEST_CASE(quoted_notification_text_is_dropped) {
  const std::string prefix = "https://portal.example.fi/m/";
  // Thunderbird / Gmail style: attribution, then "> " lines.
  BOOST_TEST(ingest::strip_quoted_text("Hei,\r\n\r\nasia on hoidossa.\r\n\r\nAnna\r\n\r\n"
                                       "On 1.12.2026 10.00, Sinetti wrote:\r\n> Uusi viesti\r\n> " + prefix +
                                           "SECRET\r\n",
                                       prefix) == "Hei,\r\n\r\nasia on hoidossa.\r\n\r\nAnna\r\n");
  // Finnish and Swedish attributions, LF line ends.
  BOOST_TEST(ingest::strip_quoted_text("Kiitos.\nti 1.12.2026 klo 10.00 Sinetti <t@example.fi> kirjoitti:\n\n> x\n", prefix) ==
             "Kiitos.\r\n");
  BOOST_TEST(ingest::strip_quoted_text("Tack.\nDen 1 dec. 2026 skrev Sinetti:\n> x\n", prefix) == "Tack.\r\n");
  // An attribution wrapped over two lines.
  BOOST_TEST(ingest::strip_quoted_text("Yes.\n\nOn Tue, 1 Dec 2026 at 10:00, Sinetti <t@example.fi>\nwrote:\n> x\n", prefix) ==
             "Yes.\r\n");
  // Outlook: a separator or a From:/Sent: block, no quote marks.
  BOOST_TEST(ingest::strip_quoted_text("Selvä.\r\n\r\n-----Original Message-----\r\nFrom: x\r\n" + prefix + "T\r\n", prefix) ==
             "Selvä.\r\n");
  BOOST_TEST(ingest::strip_quoted_text("Selvä.\r\n________________________________\r\nLähettäjä: x\r\n", prefix) ==
             "Selvä.\r\n");
  BOOST_TEST(ingest::strip_quoted_text("OK\r\n\r\nFrom: Sinetti <t@example.fi>\r\nSent: Tuesday\r\nSubject: x\r\n", prefix) ==
             "OK\r\n");
  // A "From:" line in the reply itself, not followed by a header block, stays.
  BOOST_TEST(ingest::strip_quoted_text("From: me, with thanks\r\nAnna\r\n", prefix) == "From: me, with thanks\r\nAnna\r\n");
  // A portal link pasted anywhere in the kept text is dropped, so no read-link token reaches the client.
  BOOST_TEST(ingest::strip_quoted_text("See\r\n<" + prefix + "TOKEN>\r\nthanks\r\n", prefix) == "See\r\nthanks\r\n");
  BOOST_TEST(ingest::strip_quoted_text("", prefix).empty());
}

BOOST_AUTO_TEST_SUITE_END()
