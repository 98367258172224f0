// Reply parsing for the outbound client: lines, multiline replies, enhanced codes, caps, EHLO keywords.
#include <boost/test/unit_test.hpp>

#include "smtp/client/reply.hpp"

using namespace sinetti::smtp::client;

namespace {

// Parses every reply in `bytes`; stops at an error (returned as the last element's code -1).
std::vector<ServerReply> parse_all(std::string_view bytes, ReplyLimits limits = {}) {
  ReplyParser p(limits);
  std::vector<ServerReply> out;
  for (;;) {
    const auto s = p.parse(bytes);
    if (s == ReplyParser::Status::reply) {
      out.push_back(p.take_reply());
      continue;
    }
    if (s == ReplyParser::Status::error) out.push_back(ServerReply{-1, {}, {p.error()}});
    return out;
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(smtp_client_reply)

BOOST_AUTO_TEST_CASE(single_and_multiline_replies) {
  const auto r = parse_all("220 mx ESMTP ready\r\n250-mx\r\n250-PIPELINING\r\n250 SIZE 100\r\n");
  BOOST_REQUIRE_EQUAL(r.size(), 2u);
  BOOST_TEST(r[0].code == 220);
  BOOST_TEST(r[0].lines == std::vector<std::string>{"mx ESMTP ready"});
  BOOST_TEST(r[1].code == 250);
  BOOST_TEST((r[1].lines == std::vector<std::string>{"mx", "PIPELINING", "SIZE 100"}));
}

BOOST_AUTO_TEST_CASE(code_without_text_and_bare_lf) {
  const auto r = parse_all("250\r\n354\n221 bye\n");
  BOOST_REQUIRE_EQUAL(r.size(), 3u);
  BOOST_TEST(r[0].code == 250);
  BOOST_TEST(r[0].lines == std::vector<std::string>{""});
  BOOST_TEST(r[1].code == 354);
  BOOST_TEST(r[2].lines == std::vector<std::string>{"bye"});
}

BOOST_AUTO_TEST_CASE(enhanced_codes_are_taken_only_when_they_match_the_class) {
  auto r = parse_all("550 5.1.1 No such user\r\n");
  BOOST_TEST(r.at(0).enhanced == "5.1.1");
  BOOST_TEST(r.at(0).lines == std::vector<std::string>{"No such user"});
  BOOST_TEST(r.at(0).diagnostic() == "550 5.1.1 No such user");
  BOOST_TEST(r.at(0).status() == "5.1.1");
  r = parse_all("550 4.1.1 mismatched class\r\n");
  BOOST_TEST(r.at(0).enhanced.empty());
  BOOST_TEST(r.at(0).status() == "5.0.0");
  BOOST_TEST(r.at(0).lines == std::vector<std::string>{"4.1.1 mismatched class"});
  r = parse_all("250 2.0.0\r\n");
  BOOST_TEST(r.at(0).enhanced == "2.0.0");
  BOOST_TEST(r.at(0).diagnostic() == "250 2.0.0");
  r = parse_all("250 2.0.1000 too many digits\r\n");
  BOOST_TEST(r.at(0).enhanced.empty());
  r = parse_all("451 4.7.1x not a code\r\n");
  BOOST_TEST(r.at(0).enhanced.empty());
}

BOOST_AUTO_TEST_CASE(text_is_reduced_to_printable_ascii) {
  const auto r = parse_all("550 5.7.1 bad\x01\x1b[31m\tcolour \xc3\xa4\r\n");
  BOOST_TEST(r.at(0).lines.at(0) == "bad??[31m colour ??");
}

BOOST_AUTO_TEST_CASE(malformed_lines_are_errors) {
  for (const char* bad : {"hello\r\n", "25\r\n", "2500 x\r\n", "250_x\r\n", "150 x\r\n", "650 x\r\n", "abc x\r\n",
                          "\r\n"}) {
    const auto r = parse_all(bad);
    BOOST_REQUIRE_EQUAL(r.size(), 1u);
    BOOST_TEST(r[0].code == -1, bad);
  }
  const auto mixed = parse_all("250-a\r\n251 b\r\n");
  BOOST_TEST(mixed.at(0).code == -1);
}

BOOST_AUTO_TEST_CASE(caps_on_line_length_and_line_count) {
  ReplyLimits limits;
  limits.max_line = 16;
  limits.max_lines = 3;
  // 14 characters + CRLF = 16 bytes: fits; one more does not.
  BOOST_TEST(parse_all("250 0123456789\r\n", limits).at(0).code == 250);
  BOOST_TEST(parse_all("250 01234567890\r\n", limits).at(0).code == -1);
  // Without any line end the parser stops at the cap instead of buffering on.
  ReplyParser p(limits);
  std::string_view flood = "250 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  BOOST_TEST((p.parse(flood) == ReplyParser::Status::error));
  BOOST_TEST(parse_all("250-a\r\n250-b\r\n250 c\r\n", limits).at(0).code == 250);
  BOOST_TEST(parse_all("250-a\r\n250-b\r\n250-c\r\n250 d\r\n", limits).at(0).code == -1);
}

BOOST_AUTO_TEST_CASE(a_reply_split_at_every_offset_parses_the_same) {
  const std::string bytes = "250-mx.example.com\r\n250-8BITMIME\r\n250 2.0.0 SIZE 1000\r\n550 5.1.1 x\r\n";
  const auto expected = parse_all(bytes);
  for (std::size_t cut = 0; cut <= bytes.size(); ++cut) {
    ReplyParser p;
    std::vector<ServerReply> got;
    for (std::string_view piece : {std::string_view(bytes).substr(0, cut), std::string_view(bytes).substr(cut)}) {
      while (p.parse(piece) == ReplyParser::Status::reply) got.push_back(p.take_reply());
    }
    BOOST_REQUIRE_EQUAL(got.size(), expected.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      BOOST_TEST(got[i].code == expected[i].code);
      BOOST_TEST(got[i].lines == expected[i].lines);
      BOOST_TEST(got[i].enhanced == expected[i].enhanced);
    }
  }
}

BOOST_AUTO_TEST_CASE(bytes_after_a_reply_stay_in_the_input) {
  ReplyParser p;
  std::string_view in = "220 a\r\n250 b\r\n";
  BOOST_TEST((p.parse(in) == ReplyParser::Status::reply));
  BOOST_TEST(in == "250 b\r\n");
  BOOST_TEST(p.take_reply().code == 220);
  BOOST_TEST(p.idle());
  std::string_view partial = "25";
  BOOST_TEST((p.parse(partial) == ReplyParser::Status::need_more));
  BOOST_TEST(!p.idle());
}

BOOST_AUTO_TEST_CASE(diagnostic_is_capped) {
  ServerReply r{550, "5.1.1", {std::string(2000, 'x')}};
  const auto d = r.diagnostic();
  BOOST_TEST(d.size() == ServerReply::max_diagnostic);
  BOOST_TEST(d.ends_with("..."));
}

BOOST_AUTO_TEST_CASE(ehlo_keywords) {
  const ServerReply r{250, {}, {"mx.example.com greets you", "pipelining", "SIZE 35651584", "8BITMIME", "STARTTLS",
                                "AUTH PLAIN login CRAM-MD5", "AUTH=PLAIN", "ENHANCEDSTATUSCODES", "SMTPUTF8",
                                "X-UNKNOWN whatever"}};
  const auto c = parse_ehlo(r);
  BOOST_TEST(c.esmtp);
  BOOST_TEST(c.pipelining);
  BOOST_TEST(c.size);
  BOOST_TEST(c.max_size == 35651584u);
  BOOST_TEST(c.eight_bit_mime);
  BOOST_TEST(c.starttls);
  BOOST_TEST(c.enhanced_status_codes);
  BOOST_TEST(c.smtputf8);
  BOOST_TEST((c.auth == std::vector<std::string>{"PLAIN", "LOGIN", "CRAM-MD5"}));
  // The greeting line is not a keyword, and a bad SIZE value means no declared limit.
  const auto d = parse_ehlo(ServerReply{250, {}, {"STARTTLS", "SIZE 12abc"}});
  BOOST_TEST(!d.starttls);
  BOOST_TEST(parse_ehlo(ServerReply{250, {}, {"mx", "SIZE 12abc"}}).max_size == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
