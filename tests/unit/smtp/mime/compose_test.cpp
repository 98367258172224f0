// compose_text: the mails Sinetti writes read back through the MIME reader with the same subject,
// body, addresses and language; header injection through any field is refused.
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <string>

#include "smtp/mime/compose.hpp"
#include "smtp/mime/message.hpp"

using namespace sinetti;
using namespace sinetti::mime;

namespace {

OutgoingText sample() {
  OutgoingText m;
  m.from = {"Kaupungin työllisyyspalvelut", "turvaposti@tyollisyys.example.fi"};
  m.to = {{"", "asiakas@example.com"}};
  m.reply_to = {{"Neuvonta", "reply+abc@vastaus.example.fi"}};
  m.subject = "Sinulle on suojattu viesti – Åbo";
  m.body = "Hei,\n\nlue viesti: https://turvaposti.example.fi/m/AbC_-123\n\nrivi, joka on pidempi kuin "
           "seitsemänkymmentäkuusi merkkiä, jotta quoted-printable joutuu taittamaan sen pehmeästi osiin.\n";
  m.message_id = "20261201.abc@turvaposti.example.fi";
  m.date = std::chrono::system_clock::time_point(std::chrono::seconds(1796121600));
  m.language = "fi";
  m.headers = {{"Auto-Submitted", "auto-generated"}, {"X-Sinetti-Notification", "read-link"}};
  return m;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(mime_compose)

BOOST_AUTO_TEST_CASE(round_trips_through_the_reader) {
  auto raw = compose_text(sample());
  BOOST_TEST_REQUIRE(raw.ok(), (raw.ok() ? "" : raw.error().message));
  // CRLF only, no bare LF, lines within RFC 5322's 78-character recommendation.
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < raw->size(); ++i) {
    if ((*raw)[i] == '\n') {
      BOOST_TEST_REQUIRE(i > 0);
      BOOST_TEST((*raw)[i - 1] == '\r');
      BOOST_TEST(i - line_start <= 79u);
      line_start = i + 1;
    }
    BOOST_TEST(static_cast<unsigned char>((*raw)[i]) < 128u, "8-bit byte at " << i);
  }
  auto m = read_message(*raw);
  BOOST_TEST_REQUIRE(m.ok());
  BOOST_TEST(m->subject == sample().subject);
  BOOST_TEST_REQUIRE(m->texts.size() == 1u);
  std::string body = m->texts[0].text;
  std::string expected;
  for (char c : sample().body) {
    if (c == '\n') expected += "\r\n";
    else expected += c;
  }
  BOOST_TEST(body == expected);
  BOOST_TEST(std::string(*m->header("Message-ID")) == "<20261201.abc@turvaposti.example.fi>");
  BOOST_TEST(std::string(*m->header("Auto-Submitted")) == "auto-generated");
  BOOST_TEST(std::string(*m->header("Content-Language")) == "fi");
  BOOST_TEST(std::string(*m->header("Reply-To")).find("reply+abc@vastaus.example.fi") != std::string::npos);
  BOOST_TEST(std::string(*m->header("From")).find("Kaupungin työllisyyspalvelut") != std::string::npos);
  BOOST_TEST(std::string(*m->header("Date")).find("2026") != std::string::npos);
  for (const auto& d : m->defects) BOOST_TEST_MESSAGE("defect: " << d);
  BOOST_TEST(m->defects.empty());
}

BOOST_AUTO_TEST_CASE(refuses_header_injection) {
  auto with = [](auto change) {
    OutgoingText m = sample();
    change(m);
    return compose_text(m);
  };
  BOOST_TEST(!with([](OutgoingText& m) { m.subject = "Hi\r\nBcc: x@example.com"; }).ok());
  BOOST_TEST(!with([](OutgoingText& m) { m.subject = "Hi\nBcc: x@example.com"; }).ok());
  BOOST_TEST(!with([](OutgoingText& m) { m.from.name = "A\rB"; }).ok());
  BOOST_TEST(!with([](OutgoingText& m) { m.to[0].address = "a@b.fi>\r\nBcc: <c@d.fi"; }).ok());
  BOOST_TEST(!with([](OutgoingText& m) { m.to[0].address = "not an address"; }).ok());
  BOOST_TEST(!with([](OutgoingText& m) { m.to.clear(); }).ok());
  BOOST_TEST(!with([](OutgoingText& m) { m.headers.push_back({"X-A", "v\r\nBcc: e@f.fi"}); }).ok());
  BOOST_TEST(!with([](OutgoingText& m) { m.headers.push_back({"Bad Name", "v"}); }).ok());
  BOOST_TEST(!with([](OutgoingText& m) { m.body = std::string("\xff\xfe", 2); }).ok());
  BOOST_TEST(with([](OutgoingText&) {}).ok());
}

BOOST_AUTO_TEST_CASE(attachments_round_trip_with_their_names) {
  OutgoingText m = sample();
  std::string bytes(100000, '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 31 + (i >> 7));
  m.attachments = {{"päätös liite.pdf", "application/pdf", bytes}, {"", "text/plain", "hello"}};
  auto raw = compose_text(m);
  BOOST_TEST_REQUIRE(raw.ok(), (raw.ok() ? "" : raw.error().message));
  auto read = read_message(*raw);
  BOOST_TEST_REQUIRE(read.ok());
  BOOST_TEST_REQUIRE(read->attachments.size() == 2u);
  BOOST_TEST(read->attachments[0].part.filename == "päätös liite.pdf");
  BOOST_TEST(read->attachments[0].part.content_type == "application/pdf");
  BOOST_TEST(read->attachments[0].part.decoded_size == bytes.size());
  BOOST_TEST(read->attachments[1].part.disposition == "attachment");
  BOOST_TEST_REQUIRE(!read->texts.empty());
  BOOST_TEST(read->texts.front().text.find("lue viesti") != std::string::npos);
  m.attachments = {{"x", "nonsense", "y"}};
  BOOST_TEST(!compose_text(m).ok());
}

BOOST_AUTO_TEST_SUITE_END()
