// mime::Limits: header section size and field count, nesting depth, part count and the text cap all
// end in a clear error (or a flagged cut for text), never a crash. Oversized inputs are generated.
#include <boost/test/unit_test.hpp>

#include <sys/resource.h>

#include <string>

#include "smtp/mime/message.hpp"
#include "support.hpp"

using namespace sinetti::mime;
using namespace sinetti::mime::test;

namespace {

long peak_rss_kb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

std::string error_of(const sinetti::Result<Message>& r) {
  return r.ok() ? std::string("<ok>") : r.error().message;
}

// `levels` multiparts nested inside each other, with one text leaf at the bottom.
std::string nested_multiparts(std::size_t levels) {
  std::string head = "Subject: deep\n";
  std::string tail;
  for (std::size_t i = 0; i < levels; ++i) {
    const std::string b = "b" + std::to_string(i);
    head += "Content-Type: multipart/mixed; boundary=\"" + b + "\"\n\n--" + b + "\n";
    tail = "\n--" + b + "--\n" + tail;
  }
  return head + "Content-Type: text/plain\n\nbottom" + tail;
}

// `levels` message/rfc822 parts nested inside each other.
std::string nested_messages(std::size_t levels) {
  std::string raw = "Subject: outer\n";
  for (std::size_t i = 0; i < levels; ++i) raw += "Content-Type: message/rfc822\n\nSubject: level\n";
  return raw + "\ninnermost\n";
}

std::string multipart_with_leaves(std::size_t leaves) {
  std::string raw = "Subject: many\nContent-Type: multipart/mixed; boundary=\"m\"\n\n";
  for (std::size_t i = 0; i < leaves; ++i) raw += "--m\n\nx\n";
  return raw + "--m--\n";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(mime_limits)

BOOST_AUTO_TEST_CASE(huge_top_level_header_is_refused_before_parsing) {
  const std::string raw = "Subject: " + std::string(2 * 1024 * 1024, 'a') + "\n\nbody\n";
  BOOST_TEST(error_of(read_message(raw)) == "message header section exceeds 1048576 bytes");
  TempDir dir;
  const auto file = dir.write("huge-header.eml", raw);
  BOOST_TEST(error_of(read_message_file(file)) == "message header section exceeds 1048576 bytes");
  auto streamed = for_each_part_file(file, {}, [](const Part&, PartContent&) { return true; });
  BOOST_TEST_REQUIRE(!streamed.ok());
  BOOST_TEST(streamed.error().message == "message header section exceeds 1048576 bytes");
}

BOOST_AUTO_TEST_CASE(header_section_without_end_counts_to_the_end) {
  // No blank line: the whole input is header section.
  const std::string raw = "X-Long: " + std::string(1024 * 1024 + 10, 'b');
  BOOST_TEST(error_of(read_message(raw)) == "message header section exceeds 1048576 bytes");
}

BOOST_AUTO_TEST_CASE(header_size_limit_is_exact) {
  Limits limits;
  limits.max_header_bytes = 100;
  const std::string at_limit = "Subject: " + std::string(90, 's') + "\n";  // 100 bytes
  BOOST_TEST_REQUIRE(at_limit.size() == 100U);
  auto ok = read_message(at_limit + "\nbody\n", limits);
  BOOST_TEST_REQUIRE(ok.ok(), error_of(ok));
  BOOST_TEST(ok->subject == std::string(90, 's'));
  const std::string over = "Subject: " + std::string(91, 's') + "\n";
  BOOST_TEST(error_of(read_message(over + "\nbody\n", limits)) ==
             "message header section exceeds 100 bytes");
}

BOOST_AUTO_TEST_CASE(too_many_header_fields) {
  std::string raw;
  for (int i = 0; i < 2001; ++i) raw += "X-N: " + std::to_string(i) + "\n";
  BOOST_TEST(error_of(read_message(raw + "\nbody\n")) ==
             "message header section has more than 2000 fields");
  std::string fine;
  for (int i = 0; i < 2000; ++i) fine += "X-N: " + std::to_string(i) + "\n";
  auto m = read_message(fine + "\nbody\n");
  BOOST_TEST_REQUIRE(m.ok(), error_of(m));
  BOOST_TEST(m->headers.size() == 2000U);
  BOOST_TEST(m->headers_named("x-n").back() == "1999");
}

BOOST_AUTO_TEST_CASE(inner_part_header_limits) {
  Limits limits;
  limits.max_header_bytes = 4096;
  limits.max_headers = 50;
  const std::string big = "Subject: x\nContent-Type: multipart/mixed; boundary=\"z\"\n\n--z\nX-Big: " +
                          std::string(5000, 'q') + "\n\ntext\n--z--\n";
  BOOST_TEST(error_of(read_message(big, limits)) == "MIME part header section exceeds 4096 bytes");
  std::string many = "Subject: x\nContent-Type: multipart/mixed; boundary=\"z\"\n\n--z\n";
  for (int i = 0; i < 51; ++i) many += "X-F: 1\n";
  many += "\ntext\n--z--\n";
  BOOST_TEST(error_of(read_message(many, limits)) == "MIME part header section has more than 50 fields");
  // An encapsulated message's header section is limited too.
  std::string inner = "Subject: x\nContent-Type: message/rfc822\n\n";
  for (int i = 0; i < 51; ++i) inner += "X-F: 1\n";
  inner += "\ninner body\n";
  BOOST_TEST(error_of(read_message(inner, limits)) == "MIME part header section has more than 50 fields");
}

BOOST_AUTO_TEST_CASE(nesting_up_to_the_limit_is_read) {
  auto m = read_message(nested_multiparts(32));
  BOOST_TEST_REQUIRE(m.ok(), error_of(m));
  BOOST_TEST_REQUIRE(m->texts.size() == 1U);
  BOOST_TEST(m->texts[0].text == "bottom");
  std::string expected_path = "1";
  for (int i = 1; i < 32; ++i) expected_path += ".1";
  BOOST_TEST(m->parts[0].path == expected_path);
}

BOOST_AUTO_TEST_CASE(nesting_beyond_the_limit_is_an_error) {
  BOOST_TEST(error_of(read_message(nested_multiparts(33))) == "MIME nesting exceeds 32 levels");
  BOOST_TEST(error_of(read_message(nested_messages(40))) == "MIME nesting exceeds 32 levels");
  // Far beyond GMime's own recursion guard (1024 levels): still an error, not a crash.
  BOOST_TEST(error_of(read_message(nested_multiparts(3000))) == "MIME nesting exceeds 32 levels");
  BOOST_TEST(error_of(read_message(nested_messages(3000))) == "MIME nesting exceeds 32 levels");
  Limits limits;
  limits.max_depth = 4;
  BOOST_TEST(error_of(read_message(nested_multiparts(5), limits)) == "MIME nesting exceeds 4 levels");
  BOOST_TEST(read_message(nested_multiparts(4), limits).ok());
}

BOOST_AUTO_TEST_CASE(too_many_parts) {
  BOOST_TEST(error_of(read_message(multipart_with_leaves(2500))) ==
             "message has more than 2000 MIME parts");
  Limits limits;
  limits.max_parts = 5;  // the multipart itself is a part
  BOOST_TEST(read_message(multipart_with_leaves(4), limits).ok());
  BOOST_TEST(error_of(read_message(multipart_with_leaves(5), limits)) ==
             "message has more than 5 MIME parts");
}

BOOST_AUTO_TEST_CASE(text_is_cut_at_a_character_boundary) {
  Limits limits;
  limits.max_text_bytes = 11;
  // UTF-8 detected: 2-byte characters, the cap falls inside the sixth.
  auto m = read_message("Content-Type: text/plain; charset=utf-8\n\näääääääää", limits);
  BOOST_TEST_REQUIRE(m.ok());
  BOOST_TEST(m->texts[0].text == "äääää");
  BOOST_TEST(m->texts[0].truncated);
  BOOST_TEST(m->parts[0].decoded_size == 18U);  // measured in full
  // Windows-1252: 0x80 becomes three bytes.
  m = read_message("Content-Type: text/plain; charset=windows-1252\n\n\x80\x80\x80\x80\x80", limits);
  BOOST_TEST_REQUIRE(m.ok());
  BOOST_TEST(m->texts[0].text == "€€€");
  BOOST_TEST(m->texts[0].truncated);
  // Through iconv.
  m = read_message("Content-Type: text/plain; charset=koi8-r\n\n\xf0\xf2\xe9\xf7\xe5\xf4\xf0\xf2", limits);
  BOOST_TEST_REQUIRE(m.ok());
  BOOST_TEST(m->texts[0].text == "ПРИВЕ");
  BOOST_TEST(m->texts[0].truncated);
  // Exactly at the cap is not truncated.
  m = read_message("Content-Type: text/plain\n\n12345678901", limits);
  BOOST_TEST_REQUIRE(m.ok());
  BOOST_TEST(m->texts[0].text == "12345678901");
  BOOST_TEST(!m->texts[0].truncated);
}

BOOST_AUTO_TEST_CASE(text_like_attachment_is_capped_too) {
  Limits limits;
  limits.max_text_bytes = 8;
  auto m = read_message(
      "Content-Type: multipart/mixed; boundary=q\n\n--q\nContent-Type: text/plain\n"
      "Content-Disposition: attachment; filename=a.txt\n\n0123456789abcdef\n--q--\n",
      limits);
  BOOST_TEST_REQUIRE(m.ok());
  BOOST_TEST_REQUIRE(m->attachments.size() == 1U);
  BOOST_TEST(m->attachments[0].text == "01234567");
  BOOST_TEST(m->attachments[0].text_truncated);
  BOOST_TEST(m->attachments[0].part.decoded_size == 16U);
}

BOOST_AUTO_TEST_CASE(defect_list_is_bounded) {
  // Thousands of invalid header lines in parts: the defect list does not grow with them.
  std::string raw = "Subject: x\nContent-Type: multipart/mixed; boundary=d\n\n";
  for (int i = 0; i < 500; ++i) {
    raw += "--d\nContent-Type: text/plain; charset=x-bogus-" + std::to_string(i) + "\n\nx\n";
  }
  raw += "--d--\n";
  auto m = read_message(raw);
  BOOST_TEST_REQUIRE(m.ok());
  BOOST_TEST(m->defects.size() <= 65U);
  BOOST_TEST(m->defects.back() == "more defects not listed");
}

BOOST_AUTO_TEST_CASE(part_flood_is_refused_before_gmime_builds_it) {
  // 7 bytes per part; GMime would spend about 1 KiB on each (1 GB here) before any check could run.
  const long before = peak_rss_kb();
  BOOST_TEST(error_of(read_message(multipart_with_leaves(1000000))) ==
             "message has more than 2000 MIME parts");
  BOOST_TEST(peak_rss_kb() - before < 64 * 1024);
  // The same with the boundary declared in forms the pre-scan does not decode: every "--" line counts.
  for (const std::string declaration :
       {"boundary*=''m", "boundary*0=\"m\"", "boundary=(c)m", "boundary=\"m", "boundary=\"=?us-ascii?q?m?=\""}) {
    std::string raw = "Content-Type: multipart/mixed; " + declaration + "\n\n";
    for (int i = 0; i < 10000; ++i) raw += "--m\n\nx\n";
    BOOST_TEST(error_of(read_message(raw)) == "message has more than 2000 MIME parts", declaration);
  }
  // A boundary too long for the pre-scan to keep a whole delimiter line.
  const std::string longb(9000, 'L');
  std::string raw = "Content-Type: multipart/mixed; boundary=\"" + longb + "\"\n\n";
  for (int i = 0; i < 5000; ++i) raw += "--" + longb + "\n\nx\n";
  BOOST_TEST(error_of(read_message(raw)) == "message has more than 2000 MIME parts");
}

BOOST_AUTO_TEST_CASE(header_flood_in_a_part_is_refused_before_gmime_builds_it) {
  std::string raw = "Content-Type: multipart/mixed; boundary=m\n\n--m\n";
  for (int i = 0; i < 1000000; ++i) raw += "a:1\n";
  raw += "\nx\n--m--\n";
  const long before = peak_rss_kb();
  BOOST_TEST(error_of(read_message(raw)) == "MIME part header section has more than 2000 fields");
  BOOST_TEST(peak_rss_kb() - before < 64 * 1024);
  // Inside an encapsulated message too.
  std::string inner = "Content-Type: message/rfc822\n\n";
  for (int i = 0; i < 3000; ++i) inner += "a:1\n";
  BOOST_TEST(error_of(read_message(inner + "\nbody\n")) ==
             "MIME part header section has more than 2000 fields");
}

BOOST_AUTO_TEST_CASE(header_fields_in_all_sections_are_bounded) {
  std::string raw = "Content-Type: multipart/mixed; boundary=m\n\n";
  for (int part = 0; part < 1000; ++part) {
    raw += "--m\n";
    for (int i = 0; i < 21; ++i) raw += "X-H: v\n";
    raw += "\nx\n";
  }
  raw += "--m--\n";
  BOOST_TEST(error_of(read_message(raw)) == "message has more than 20000 header fields in all");
  Limits limits;
  limits.max_total_headers = 30000;
  BOOST_TEST(read_message(raw, limits).ok());
}

BOOST_AUTO_TEST_CASE(encoded_message_rfc822_body_is_not_taken_for_headers) {
  // GMime reads a base64 message/rfc822 as a leaf; its 3000 lines are content, not header fields.
  std::string raw =
      "Content-Type: multipart/mixed; boundary=m\n\n--m\nContent-Type: message/rfc822\n"
      "Content-Transfer-Encoding: base64\n\n";
  for (int i = 0; i < 3000; ++i) raw += std::string(76, 'Q') + "\n";
  raw += "--m--\n";
  auto m = read_message(raw);
  BOOST_TEST_REQUIRE(m.ok(), error_of(m));
  BOOST_TEST_REQUIRE(m->parts.size() == 1U);
  BOOST_TEST(m->parts[0].content_type == "message/rfc822");
  BOOST_TEST(m->parts[0].decoded_size == 3000U * 57);
  BOOST_TEST(m->parts[0].is_attachment);
}

BOOST_AUTO_TEST_CASE(quoted_boundaries_in_text_do_not_confuse_the_limits) {
  // A text part quoting another message's raw source, boundaries and all, then 3000 lines.
  std::string raw =
      "Content-Type: multipart/mixed; boundary=outer\n\n--outer\nContent-Type: text/plain\n\n"
      "Quoted source:\nContent-Type: multipart/mixed; boundary=q\n\n--q\n";
  for (int i = 0; i < 3000; ++i) raw += "line " + std::to_string(i) + "\n";
  raw += "\n--outer--\n";
  auto m = read_message(raw);
  // Only Content-Type fields of header sections declare boundaries: "--q" is text here.
  BOOST_TEST_REQUIRE(m.ok(), error_of(m));
  BOOST_TEST_REQUIRE(m->texts.size() == 1U);
  BOOST_TEST(m->texts[0].text.find("--q\nline 0\n") != std::string::npos);
  BOOST_TEST(m->texts[0].text.find("line 2999\n") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
