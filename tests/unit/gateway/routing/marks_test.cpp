// Protection marks: address suffixes, subject tags and X-Sinetti-* headers.
#include <boost/test/unit_test.hpp>

#include "gateway/routing/marks.hpp"

using namespace sinetti;
using routing::parse_message_marks;
using routing::parse_recipient_marks;

namespace {

const config::Marks defaults{true, {"[secure]", "[suojattu]", "[skyddad]"}, true};

routing::MessageMarks marks_of(const std::string& headers) {
  auto m = mime::read_message("From: a@example.fi\r\n" + headers + "\r\nbody\r\n");
  BOOST_REQUIRE(m.ok());
  return parse_message_marks(*m, defaults, "358");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(routing_marks)

BOOST_AUTO_TEST_CASE(address_suffixes) {
  auto r = parse_recipient_marks("client@example.com.s", defaults, "358");
  BOOST_TEST(r.suffix);
  BOOST_TEST(r.address == "client@example.com");
  BOOST_TEST(!r.phone);
  r = parse_recipient_marks("Client@Example.COM.S", defaults, "358");
  BOOST_TEST(r.suffix);
  BOOST_TEST(r.address == "Client@Example.COM");
  r = parse_recipient_marks("client@example.com.+358401234567.s", defaults, "358");
  BOOST_TEST(r.phone.value() == "+358401234567");
  BOOST_TEST(r.address == "client@example.com");
  r = parse_recipient_marks("client@example.com", defaults, "358");
  BOOST_TEST(!r.suffix);
  BOOST_TEST(r.address == "client@example.com");
  r = parse_recipient_marks("client@examples", defaults, "358");  // ends in "s", not ".s"
  BOOST_TEST(!r.suffix);
  r = parse_recipient_marks("client@localhost.s", defaults, "358");
  BOOST_TEST(r.problem.has_value());
  r = parse_recipient_marks("client@example.com.0401.s", defaults, "358");  // too short for a phone
  BOOST_TEST(!r.phone);
  BOOST_TEST(r.address == "client@example.com");
  BOOST_TEST(r.problem.value().find("not valid") != std::string::npos);
  config::Marks off = defaults;
  off.address_suffix = false;
  r = parse_recipient_marks("client@example.com.s", off, "358");
  BOOST_TEST(!r.suffix);
  BOOST_TEST(r.address == "client@example.com.s");
}

BOOST_AUTO_TEST_CASE(subject_tag_removal_keeps_the_rest_of_the_subject) {
  BOOST_TEST(marks_of("Subject: [secure] Päätös\r\n").subject == "Päätös");
  BOOST_TEST(marks_of("Subject: Päätös [secure]\r\n").subject == "Päätös");
  BOOST_TEST(marks_of("Subject: A  B [SECURE]\r\n").subject == "A  B");
  BOOST_TEST(marks_of("Subject: [suojattu]\r\n").subject == "");
  const auto none = marks_of("Subject: secure delivery\r\n");
  BOOST_TEST(!none.subject_tag);
  BOOST_TEST(none.subject == "secure delivery");
  BOOST_TEST(!none.any());
}

BOOST_AUTO_TEST_CASE(headers) {
  auto m = marks_of("Subject: x\r\nX-Sinetti-Protect: Personal\r\nX-Sinetti-Identity: 010594y9032\r\n");
  BOOST_TEST((m.level == config::ProtectionLevel::personal));
  BOOST_TEST(m.identity_code.value() == "010594Y9032");
  BOOST_TEST(m.problems.empty());
  m = marks_of("Subject: x\r\nX-Sinetti-Protect: secret\r\nX-Sinetti-Sms: call me\r\nX-Sinetti-Language: de\r\n");
  BOOST_TEST(m.problems.size() == 3u);
  for (const auto& p : m.problems) BOOST_TEST(p.find("call me") == std::string::npos);
  m = marks_of("Subject: x\r\nX-Sinetti-Identity: 010594Y9033\r\n");  // wrong check character
  BOOST_TEST(!m.identity_code);
  BOOST_REQUIRE_EQUAL(m.problems.size(), 1u);
  BOOST_TEST(m.problems[0].find("010594") == std::string::npos);
  config::Marks off = defaults;
  off.headers = false;
  auto raw = mime::read_message("From: a@example.fi\r\nX-Sinetti-Protect: sms\r\n\r\nx\r\n");
  BOOST_TEST(!parse_message_marks(*raw, off, "358").level);
}

BOOST_AUTO_TEST_SUITE_END()
