// DSNs (RFC 3464): built, then read back with the MIME reader (smtp/mime/message.hpp) and checked
// field by field; the original body never appears; nothing is bounced to <>.
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "smtp/dsn.hpp"
#include "smtp/trace.hpp"
#include "smtp/mime/message.hpp"

using namespace sinetti;
using namespace sinetti::smtp;
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::system_clock;
const Clock::time_point arrived = Clock::time_point(std::chrono::seconds(1764580000));  // 2025-12-01
const Clock::time_point now = arrived + std::chrono::hours(2);

const std::string original =
    "From: Staff <staff@tyollisyys.example.fi>\r\n"
    "To: client@example.com\r\n"
    "Subject: Hakemuksesi\r\n"
    "Message-ID: <abc@tyollisyys.example.fi>\r\n"
    "\r\n"
    "Henkilötunnus 010594Y9032 and other confidential text\r\n";

DsnRequest request() {
  DsnRequest r;
  r.reporting_mta = "gw.example.fi";
  r.from = "postmaster@gw.example.fi";
  r.original_sender = "staff@tyollisyys.example.fi";
  r.arrival_date = arrived;
  r.date = now;
  r.original_message = original;
  DsnRecipient failed;
  failed.recipient = "nouser@example.com";
  failed.status = "5.1.1";
  failed.remote_mta = "mx.example.com";
  failed.diagnostic = "550 5.1.1 <nouser@example.com>: Recipient address rejected: User unknown in virtual "
                      "mailbox table; please check the address and try again later";
  failed.diagnostic_from_server = true;
  failed.last_attempt = now;
  DsnRecipient delayed;
  delayed.recipient = "busy@example.com";
  delayed.action = DsnAction::delayed;
  delayed.status = "4.4.1";
  delayed.diagnostic = "connect to mx.example.com:25: Connection refused";
  delayed.last_attempt = now;
  delayed.will_retry_until = arrived + std::chrono::hours(24 * 5);
  r.recipients = {failed, delayed};
  return r;
}

// Decoded content of every leaf part, by content type (the MIME reader streaming from a file).
std::map<std::string, std::string> parts_of(const std::string& message) {
  char tmpl[] = "/tmp/sinetti-dsn-XXXXXX";
  const int fd = ::mkstemp(tmpl);
  ::close(fd);
  std::ofstream(tmpl, std::ios::binary) << message;
  std::map<std::string, std::string> out;
  auto visited = mime::for_each_part_file(tmpl, {}, [&](const mime::Part& part, mime::PartContent& content) {
    std::vector<char> buf(4096);
    std::string& text = out[part.content_type];
    for (std::size_t n; (n = content.read(buf)) > 0;) text.append(buf.data(), n);
    return true;
  });
  fs::remove(tmpl);
  BOOST_REQUIRE(visited.ok());
  return out;
}

// RFC 5322 unfolding, then "Name: value" per line; blank lines separate groups.
std::vector<std::map<std::string, std::string>> field_groups(const std::string& text) {
  std::vector<std::map<std::string, std::string>> groups(1);
  std::string unfolded;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 3, "\r\n ") == 0) {
      i += 1;  // drop CRLF, keep the space
      continue;
    }
    unfolded += text[i];
  }
  std::size_t pos = 0;
  while (pos < unfolded.size()) {
    auto eol = unfolded.find("\r\n", pos);
    if (eol == std::string::npos) eol = unfolded.size();
    const std::string line = unfolded.substr(pos, eol - pos);
    pos = eol + 2;
    if (line.empty()) {
      if (!groups.back().empty()) groups.emplace_back();
      continue;
    }
    const auto colon = line.find(": ");
    BOOST_REQUIRE_MESSAGE(colon != std::string::npos, "not a field: " + line);
    groups.back()[line.substr(0, colon)] = line.substr(colon + 2);
  }
  if (groups.back().empty()) groups.pop_back();
  return groups;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(smtp_dsn)

BOOST_AUTO_TEST_CASE(reads_back_as_a_multipart_report) {
  const auto dsn = build_dsn(request());
  BOOST_REQUIRE(dsn.ok());
  BOOST_TEST(dsn->envelope.sender.empty());  // the null sender
  BOOST_TEST(dsn->envelope.recipients == std::vector<std::string>{"staff@tyollisyys.example.fi"});
  BOOST_TEST(*dsn->envelope.size == dsn->message.size());
  BOOST_TEST(!dsn->envelope.eight_bit);
  for (unsigned char c : dsn->message) BOOST_TEST_REQUIRE(c < 0x80);

  const auto m = mime::read_message(dsn->message);
  BOOST_REQUIRE(m.ok());
  BOOST_TEST(m->defects.empty());
  BOOST_TEST(*m->header("To") == "<staff@tyollisyys.example.fi>");
  BOOST_TEST(*m->header("From") == "Mail Delivery System <postmaster@gw.example.fi>");
  BOOST_TEST(*m->header("Auto-Submitted") == "auto-replied");
  BOOST_TEST(m->subject == "Viestiä ei voitu toimittaa kaikille / Undelivered mail");
  BOOST_TEST(*m->header("Date") == "Mon, 01 Dec 2025 11:06:40 +0000");
  BOOST_TEST(m->header("Message-ID")->ends_with("@gw.example.fi>"));
  const std::string type(*m->header("Content-Type"));
  BOOST_TEST(type.starts_with("multipart/report; report-type=delivery-status;"));

  BOOST_REQUIRE_EQUAL(m->parts.size(), 3u);
  BOOST_TEST(m->parts[0].content_type == "text/plain");
  BOOST_TEST(m->parts[1].content_type == "message/delivery-status");
  BOOST_TEST(m->parts[2].content_type == "text/rfc822-headers");

  // The human-readable part, both languages, each recipient with its reason.
  BOOST_REQUIRE(!m->texts.empty());
  const std::string& text = m->texts[0].text;
  BOOST_TEST(text.find("Viestiäsi ei voitu toimittaa") != std::string::npos);
  BOOST_TEST(text.find("Your message could not be delivered") != std::string::npos);
  BOOST_TEST(text.find("has not yet been delivered") != std::string::npos);
  BOOST_TEST(text.find("Sat, 06 Dec 2025 09:06:40 +0000") != std::string::npos);
  BOOST_TEST(text.find("<nouser@example.com>: 550 5.1.1") != std::string::npos);
  BOOST_TEST(text.find("<busy@example.com>: connect to mx.example.com:25: Connection refused") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(delivery_status_fields) {
  const auto dsn = build_dsn(request());
  BOOST_REQUIRE(dsn.ok());
  const auto parts = parts_of(dsn->message);
  const auto groups = field_groups(parts.at("message/delivery-status"));
  BOOST_REQUIRE_EQUAL(groups.size(), 3u);
  BOOST_TEST(groups[0].at("Reporting-MTA") == "dns; gw.example.fi");
  BOOST_TEST(groups[0].at("Arrival-Date") == "Mon, 01 Dec 2025 09:06:40 +0000");
  BOOST_TEST(!groups[0].count("Original-Envelope-Id"));

  const auto& failed = groups[1];
  BOOST_TEST(failed.at("Final-Recipient") == "rfc822; nouser@example.com");
  BOOST_TEST(failed.at("Action") == "failed");
  BOOST_TEST(failed.at("Status") == "5.1.1");
  BOOST_TEST(failed.at("Remote-MTA") == "dns; mx.example.com");
  BOOST_TEST(failed.at("Diagnostic-Code") == "smtp; " + request().recipients[0].diagnostic);  // folded, then unfolded
  BOOST_TEST(failed.at("Last-Attempt-Date") == "Mon, 01 Dec 2025 11:06:40 +0000");
  BOOST_TEST(!failed.count("Will-Retry-Until"));

  const auto& delayed = groups[2];
  BOOST_TEST(delayed.at("Final-Recipient") == "rfc822; busy@example.com");
  BOOST_TEST(delayed.at("Action") == "delayed");
  BOOST_TEST(delayed.at("Status") == "4.4.1");
  BOOST_TEST(!delayed.count("Remote-MTA"));
  BOOST_TEST(delayed.at("Diagnostic-Code") == "X-Sinetti; connect to mx.example.com:25: Connection refused");
  BOOST_TEST(delayed.at("Will-Retry-Until") == "Sat, 06 Dec 2025 09:06:40 +0000");

  // No line of the report is longer than the folding aims for, save an unbreakable word.
  const auto& report = parts.at("message/delivery-status");
  for (std::size_t pos = 0, eol; (eol = report.find("\r\n", pos)) != std::string::npos; pos = eol + 2) {
    BOOST_TEST(eol - pos <= 78u);
  }
}

BOOST_AUTO_TEST_CASE(original_headers_only_never_the_body) {
  const auto dsn = build_dsn(request());
  BOOST_REQUIRE(dsn.ok());
  const auto parts = parts_of(dsn->message);
  BOOST_TEST(parts.at("text/rfc822-headers") == original.substr(0, original.find("\r\n\r\n") + 2));
  BOOST_TEST(dsn->message.find("010594Y9032") == std::string::npos);
  BOOST_TEST(dsn->message.find("confidential") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(eight_bit_headers_are_quoted_printable_and_decode_back) {
  DsnRequest r = request();
  const std::string headers = "From: =?utf-8?q?x?= <a@example.fi>\r\nSubject: P\xc3\xa4\xc3\xa4t\xc3\xb6s\r\n";
  const std::string message = headers + "\r\nbody\r\n";
  r.original_message = message;
  const auto dsn = build_dsn(r);
  BOOST_REQUIRE(dsn.ok());
  for (unsigned char c : dsn->message) BOOST_TEST_REQUIRE(c < 0x80);
  BOOST_TEST(parts_of(dsn->message).at("text/rfc822-headers") == headers);
}

BOOST_AUTO_TEST_CASE(header_section_is_capped_and_line_ends_normalised) {
  DsnRequest r = request();
  std::string big = "Subject: x\n";
  for (int i = 0; i < 5000; ++i) big += "X-Filler-" + std::to_string(i) + ": " + std::string(40, 'f') + "\n";
  big += "\nbody";
  r.original_message = big;
  const auto dsn = build_dsn(r);
  BOOST_REQUIRE(dsn.ok());
  const std::string h = parts_of(dsn->message).at("text/rfc822-headers");
  BOOST_TEST(h.size() <= DsnRequest::max_original_headers);
  BOOST_TEST(h.size() > DsnRequest::max_original_headers - 100);
  BOOST_TEST(h.starts_with("Subject: x\r\nX-Filler-0: "));
  BOOST_TEST(h.ends_with("f\r\n"));  // cut at a line end
  BOOST_TEST(h.find("body") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(omitted_fields_leave_with_their_continuation_lines) {
  DsnRequest r = request();
  const std::string message =
      "From: Sinetti <turvaposti@example.fi>\r\nReply-To:\r\n\treply+SECRETTOKEN@example.fi\r\n"
      "Subject: Suojattu viesti\r\nreply-to: second@example.fi\r\nTo: team@intra.example.fi\r\n\r\nbody\r\n";
  r.original_message = message;
  r.omit_fields = {"Reply-To"};
  const auto dsn = build_dsn(r);
  BOOST_REQUIRE(dsn.ok());
  BOOST_TEST(parts_of(dsn->message).at("text/rfc822-headers") ==
             "From: Sinetti <turvaposti@example.fi>\r\nSubject: Suojattu viesti\r\nTo: team@intra.example.fi\r\n");
  BOOST_TEST(dsn->message.find("SECRETTOKEN") == std::string::npos);
  BOOST_TEST(dsn->message.find("second@example.fi") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(nothing_is_bounced_to_the_null_sender) {
  DsnRequest r = request();
  r.original_sender.clear();
  const auto dsn = build_dsn(r);
  BOOST_REQUIRE(!dsn.ok());
  BOOST_TEST(dsn.error().message.find("<>") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(line_breaks_in_fields_are_refused) {
  DsnRequest r = request();
  r.original_sender = "a@example.com\r\nBcc: victim@example.com";
  BOOST_TEST(!build_dsn(r).ok());
  r = request();
  r.recipients[0].diagnostic = "550 x\r\nInjected: yes";
  BOOST_TEST(!build_dsn(r).ok());
  r = request();
  r.recipients.clear();
  BOOST_TEST(!build_dsn(r).ok());
}

BOOST_AUTO_TEST_CASE(subject_follows_the_actions) {
  DsnRequest r = request();
  r.recipients.pop_back();
  BOOST_TEST(mime::read_message(build_dsn(r)->message)->subject == "Viestiä ei voitu toimittaa / Undelivered mail");
  r = request();
  r.recipients.erase(r.recipients.begin());
  r.original_envelope_id = "QQ314159";
  const auto dsn = build_dsn(r);
  BOOST_TEST(mime::read_message(dsn->message)->subject == "Viestin toimitus viivästyy / Delayed mail");
  BOOST_TEST(field_groups(parts_of(dsn->message).at("message/delivery-status"))[0].at("Original-Envelope-Id") ==
             "QQ314159");
}

BOOST_AUTO_TEST_CASE(recipients_from_a_delivery_attempt) {
  client::DeliveryResult attempt;
  attempt.remote = "mx.example.com[192.0.2.1]:25";
  attempt.recipients = {
      {"ok@example.com", client::Outcome::delivered, "2.0.0", 250, "250 2.0.0 Ok"},
      {"bad@example.com", client::Outcome::failed, "5.1.1", 550, "550 5.1.1 No such user"},
      {"later@example.com", client::Outcome::deferred, "4.4.2", 0, "timeout while waiting for the greeting"},
  };
  const auto until = now + std::chrono::hours(1);
  auto d = dsn_recipients(attempt, now, until);
  BOOST_REQUIRE_EQUAL(d.size(), 2u);
  BOOST_TEST(d[0].recipient == "bad@example.com");
  BOOST_TEST((d[0].action == DsnAction::failed));
  BOOST_TEST(d[0].remote_mta == "mx.example.com");
  BOOST_TEST(d[0].diagnostic_from_server);
  BOOST_TEST((d[1].action == DsnAction::delayed));
  BOOST_TEST(d[1].remote_mta.empty());
  BOOST_TEST(!d[1].diagnostic_from_server);
  BOOST_TEST((d[1].will_retry_until == until));
  // The queue gave up: what was deferred is now failed.
  d = dsn_recipients(attempt, now, std::nullopt);
  BOOST_TEST((d[1].action == DsnAction::failed));
  BOOST_TEST(!d[1].will_retry_until);
}

BOOST_AUTO_TEST_CASE(dates) {
  BOOST_TEST(rfc5322_date(Clock::time_point{}) == "Thu, 01 Jan 1970 00:00:00 +0000");
  BOOST_TEST(rfc5322_date(arrived) == "Mon, 01 Dec 2025 09:06:40 +0000");
}

BOOST_AUTO_TEST_SUITE_END()
