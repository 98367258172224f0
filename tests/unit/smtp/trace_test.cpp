// Received: fields: protocol names per RFC 3848, folding, and a hostile HELO name that cannot add a
// header line.
#include <boost/test/unit_test.hpp>

#include <chrono>

#include "smtp/mime/message.hpp"
#include "smtp/trace.hpp"

using namespace sinetti::smtp;

BOOST_AUTO_TEST_SUITE(smtp_trace)

BOOST_AUTO_TEST_CASE(received_field_reads_back) {
  TraceInfo t;
  t.helo = "mail.example.com";
  t.peer_ip = "192.0.2.25";
  t.by_host = "turvaposti.example.fi";
  t.tls = true;
  t.authenticated = true;
  t.tls_protocol = "TLSv1.3";
  t.tls_cipher = "TLS_AES_256_GCM_SHA384";
  t.id = "01JXYZ4Q7MABCDEFGH";
  t.for_recipient = "neuvonta@tyollisyys.example.fi";
  t.when = std::chrono::system_clock::time_point(std::chrono::seconds(1796144400));  // 2026-12-01 17:00 UTC
  const std::string field = received_field(t);
  BOOST_TEST(field.ends_with("\r\n"));
  std::size_t start = 0;
  while (true) {
    const auto end = field.find("\r\n", start);
    if (end == std::string::npos) break;
    BOOST_TEST(end - start <= 78u);
    start = end + 2;
  }
  auto m = sinetti::mime::read_message(field + "Subject: x\r\n\r\nbody\r\n");
  BOOST_REQUIRE(m.ok());
  std::string v(*m->header("Received"));
  for (char& c : v) if (c == '\t') c = ' ';  // unfolding keeps the folding white space
  BOOST_TEST(v == "from mail.example.com ([192.0.2.25]) by turvaposti.example.fi (Sinetti) (using TLSv1.3 with "
                  "cipher TLS_AES_256_GCM_SHA384) with ESMTPSA id 01JXYZ4Q7MABCDEFGH for "
                  "<neuvonta@tyollisyys.example.fi>; Tue, 01 Dec 2026 17:00:00 +0000");
  BOOST_TEST(std::string(*m->header("Subject")) == "x");

  t.tls = false;
  t.authenticated = false;
  t.esmtp = false;
  BOOST_TEST(received_field(t).find("with SMTP id") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(hostile_helo_cannot_inject) {
  TraceInfo t;
  t.helo = "evil\r\nBcc: victim@example.com\r\n";
  t.peer_ip = "::1";
  t.by_host = "gw";
  t.id = "ID";
  t.when = std::chrono::system_clock::time_point(std::chrono::seconds(0));
  const std::string field = received_field(t);
  BOOST_TEST(field.find("\r\nBcc") == std::string::npos);
  auto m = sinetti::mime::read_message(field + "Subject: x\r\n\r\nbody\r\n");
  BOOST_REQUIRE(m.ok());
  BOOST_TEST(!m->header("Bcc"));
  BOOST_TEST(std::string(*m->header("Received")).starts_with("from evilBcc:victim@example.com ([::1])"));
  t.helo = "";
  BOOST_TEST(received_field(t).find("from unknown") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
