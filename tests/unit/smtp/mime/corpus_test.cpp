// Real-world-shaped and malformed messages from tests/data/mime: every test asserts decoded values,
// so a wrong decode (charset, transfer encoding, RFC 2047/2231, structure) fails.
#include <boost/test/unit_test.hpp>

#include "smtp/mime/message.hpp"
#include "support.hpp"

using namespace sinetti::mime;
using namespace sinetti::mime::test;

namespace {

Message read_corpus(std::string_view name) {
  auto r = read_message_file(corpus_dir() / name);
  BOOST_TEST_REQUIRE(r.ok(), name << ": " << (r.ok() ? "" : r.error().message));
  BOOST_TEST(first_invalid_utf8(*r) == "");
  return std::move(r).value();
}

std::string header_or_empty(const Message& m, std::string_view name) {
  auto h = m.header(name);
  return h ? std::string(*h) : std::string("<missing>");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(mime_corpus)

BOOST_AUTO_TEST_CASE(outlook_alternative_with_pdf) {
  const Message m = read_corpus("outlook_alternative_attachment.eml");
  BOOST_TEST(m.subject == "RE: Tarjous päivitetty");
  BOOST_TEST(header_or_empty(m, "from") == "Matti Meikäläinen <matti.meikalainen@example.fi>");
  // Unfolded: the CRLF goes, the folding whitespace stays.
  BOOST_TEST(header_or_empty(m, "RECEIVED") ==
             "from EXCH01.corp.example.fi (10.1.2.3) by EXCH02.corp.example.fi (10.1.2.4) with "
             "Microsoft SMTP Server id 15.2.1118.7; Tue, 5 Mar 2024 09:14:02 +0200");
  // Order as written, Content-* fields included.
  BOOST_TEST_REQUIRE(m.headers.size() == 13U);
  BOOST_TEST(m.headers.front().name == "Received");
  BOOST_TEST(m.headers[11].name == "Content-Type");
  BOOST_TEST(m.headers[12].name == "MIME-Version");

  BOOST_TEST_REQUIRE(m.parts.size() == 3U);
  BOOST_TEST(m.parts[0].path == "1.1");
  BOOST_TEST(m.parts[1].path == "1.2");
  BOOST_TEST(m.parts[2].path == "2");

  BOOST_TEST_REQUIRE(m.texts.size() == 2U);
  BOOST_TEST(m.texts[0].content_type == "text/plain");
  // iso-8859-1 label, 0x80 byte: read as Windows-1252, so the euro sign survives.
  BOOST_TEST(m.texts[0].text ==
             "Hei Maija,\r\n\r\nliitteenä päivitetty tarjous. Hinta on 1 250 € (alv 0 %).\r\n"
             "Tämä rivi on niin pitkä, että quoted-printable joutuu katkaisemaan sen pehmeällä "
             "rivinvaihdolla kahteen osaan.\r\n\r\nTerveisin\r\nMatti Meikäläinen\r\n");
  BOOST_TEST(m.parts[0].decoded_size == 217U);
  BOOST_TEST(m.texts[1].content_type == "text/html");
  BOOST_TEST(m.texts[1].part_index == 1U);
  BOOST_TEST(m.texts[1].text.find("<p>liitteenä päivitetty tarjous. Hinta on 1&nbsp;250&nbsp;€.</p>") !=
             std::string::npos);

  BOOST_TEST_REQUIRE(m.attachments.size() == 1U);
  const Attachment& pdf = m.attachments[0];
  BOOST_TEST(pdf.part.filename == "Tarjous päivitetty 2024.pdf");  // RFC 2047 inside quotes
  BOOST_TEST(pdf.part.content_type == "application/pdf");
  BOOST_TEST(pdf.part.disposition == "attachment");
  BOOST_TEST(pdf.part.decoded_size == 166U);
  BOOST_TEST(pdf.part.is_attachment);
  BOOST_TEST(!pdf.part.text_like);
  BOOST_TEST(pdf.text.empty());
  BOOST_TEST(m.defects.empty());
  BOOST_TEST(m.size == 2230U);
}

BOOST_AUTO_TEST_CASE(thunderbird_rfc2231_filenames) {
  const Message m = read_corpus("thunderbird_rfc2231.eml");
  BOOST_TEST(m.subject == "Päätökset ja öljylasku");
  BOOST_TEST(header_or_empty(m, "From") == "Päivi Keränen <paivi@example.fi>");
  BOOST_TEST_REQUIRE(m.texts.size() == 1U);
  BOOST_TEST(m.texts[0].text == "Hei,\n\nliitteenä päätökset ja öljylasku.\n\n-- \nPäivi\n");
  BOOST_TEST(m.parts[0].charset == "utf-8");

  BOOST_TEST_REQUIRE(m.attachments.size() == 2U);
  const Attachment& csv = m.attachments[0];
  BOOST_TEST(csv.part.path == "2");
  BOOST_TEST(csv.part.filename == "päätökset_öljy_ja_muut_kulut_2024.csv");  // RFC 2231 continuation
  BOOST_TEST(csv.part.content_type == "text/csv");
  BOOST_TEST(csv.part.decoded_size == 55U);
  BOOST_TEST(csv.part.text_like);
  BOOST_TEST(csv.text == "nimi;määrä;hinta\nöljy;3;12,50 €\nkääntäjä;1;0\n");
  BOOST_TEST(!csv.text_truncated);

  const Attachment& bin = m.attachments[1];
  BOOST_TEST(bin.part.filename == "öljy määrä.bin");  // RFC 2231 with an ISO-8859-1 charset
  BOOST_TEST(bin.part.decoded_size == 256U);
  BOOST_TEST(!bin.part.text_like);
  BOOST_TEST(bin.text.empty());
  BOOST_TEST(m.defects.empty());
}

BOOST_AUTO_TEST_CASE(apple_mail_related_inside_mixed) {
  const Message m = read_corpus("apple_related.eml");
  BOOST_TEST(m.subject == "Kuvat ja raportti");
  BOOST_TEST_REQUIRE(m.parts.size() == 4U);
  BOOST_TEST(m.parts[0].path == "1.1");
  BOOST_TEST(m.parts[1].path == "1.2.1");
  BOOST_TEST(m.parts[2].path == "1.2.2");
  BOOST_TEST(m.parts[3].path == "2");
  for (std::size_t i = 0; i < m.parts.size(); ++i) BOOST_TEST(m.parts[i].index == i);

  BOOST_TEST_REQUIRE(m.texts.size() == 2U);
  BOOST_TEST(m.texts[0].text == "Kuva alla - nakyyko?\n");
  BOOST_TEST(m.texts[1].content_type == "text/html");
  BOOST_TEST(m.texts[1].text.find("<div>Kuva alla – näkyykö?</div>") != std::string::npos);

  BOOST_TEST_REQUIRE(m.attachments.size() == 2U);
  BOOST_TEST(m.attachments[0].part.filename == "kuva.png");
  BOOST_TEST(m.attachments[0].part.disposition == "inline");
  BOOST_TEST(m.attachments[0].part.content_type == "image/png");
  BOOST_TEST(m.attachments[0].part.decoded_size == 70U);
  BOOST_TEST(m.attachments[0].part.is_attachment);  // not text/*
  BOOST_TEST(m.attachments[1].part.filename == "Raportti.pdf");
  BOOST_TEST(m.attachments[1].part.decoded_size == 166U);
  BOOST_TEST(m.defects.empty());
}

BOOST_AUTO_TEST_CASE(iso_8859_1_quoted_printable) {
  const Message m = read_corpus("latin1_qp.eml");
  BOOST_TEST_REQUIRE(m.texts.size() == 1U);
  BOOST_TEST(m.texts[0].text == "Hyvää päivää!\nÖljyn hinta nousi 5 €.\n");
  BOOST_TEST(m.parts[0].charset == "iso-8859-1");  // lower-cased as declared
  BOOST_TEST(m.parts[0].decoded_size == 37U);
}

BOOST_AUTO_TEST_CASE(windows_1252_base64) {
  const Message m = read_corpus("windows1252_base64.eml");
  BOOST_TEST_REQUIRE(m.texts.size() == 1U);
  BOOST_TEST(m.texts[0].text == "“Smart quotes” – and an ellipsis… €5\n");
  BOOST_TEST(m.parts[0].decoded_size == 37U);
}

BOOST_AUTO_TEST_CASE(utf8_base64_and_quoted_printable) {
  const Message m = read_corpus("utf8_base64_qp.eml");
  BOOST_TEST_REQUIRE(m.texts.size() == 2U);
  BOOST_TEST(m.texts[0].text == "Tervetuloa! Привет 👋 日本語\n");
  BOOST_TEST(m.texts[1].text == "<p>Tervetuloa! Привет 👋 日本語</p>");
  BOOST_TEST(m.parts[0].decoded_size == 40U);
}

BOOST_AUTO_TEST_CASE(koi8r_through_the_charset_converter) {
  const Message m = read_corpus("koi8r_qp.eml");
  BOOST_TEST(m.subject == "Привет");
  BOOST_TEST_REQUIRE(m.texts.size() == 1U);
  BOOST_TEST(m.texts[0].text == "Привет, мир!\n");
  BOOST_TEST(m.parts[0].decoded_size == 13U);  // bytes before charset conversion
}

BOOST_AUTO_TEST_CASE(rfc2047_encoded_words) {
  const Message m = read_corpus("encoded_words.eml");
  // Two B words that split the UTF-8 bytes of "ä" between them.
  BOOST_TEST(m.subject == "Kokouskutsu: päätösvaltainen kokous 🗓 huomenna");
  BOOST_TEST(header_or_empty(m, "From") == "Jörg Müller <jorg@example.de>");
  BOOST_TEST(header_or_empty(m, "To") == "André Pirard <PIRARD@vm1.ulg.ac.be>");
  BOOST_TEST(header_or_empty(m, "X-Price") == "Hinta 100 € (alv)");  // ISO-8859-15 0xA4
  // Whitespace between adjacent encoded words is dropped (RFC 2047 section 6.2).
  BOOST_TEST(header_or_empty(m, "X-Plain") == "plain text, encoded and (ab)");
  BOOST_TEST(header_or_empty(m, "X-Broken") == "=?utf-8?q?unterminated word");
}

BOOST_AUTO_TEST_CASE(raw_8bit_headers) {
  const Message m = read_corpus("raw_8bit_headers.eml");
  BOOST_TEST(m.subject == "Kokous huomenna – tärkeää");                 // valid UTF-8 kept
  BOOST_TEST(header_or_empty(m, "From") == "Jörg Müller <jorg@example.de>");  // Latin-1 bytes
  BOOST_TEST(header_or_empty(m, "To") == "Tiina Häkkinen <tiina@example.fi>");
  BOOST_TEST(header_or_empty(m, "X-Latin") == "café crème €");  // 0x80 is the Windows-1252 euro
  BOOST_TEST_REQUIRE(m.texts.size() == 1U);
  BOOST_TEST(m.texts[0].text == "Grüße aus Köln\n");  // no charset, not UTF-8: Windows-1252
  BOOST_TEST(m.parts[0].charset == "");
  BOOST_TEST(has_defect(m, "unencoded 8-bit header field From"));
}

BOOST_AUTO_TEST_CASE(forwarded_message_rfc822) {
  const Message m = read_corpus("forwarded_rfc822.eml");
  BOOST_TEST_REQUIRE(m.parts.size() == 4U);
  BOOST_TEST(m.parts[0].path == "1");
  BOOST_TEST(m.parts[1].path == "2.1");
  BOOST_TEST(m.parts[2].path == "2.2");
  BOOST_TEST(m.parts[3].path == "3.1");

  // The attached message's parts are attachments (text kept), the inline one's body is text.
  BOOST_TEST_REQUIRE(m.texts.size() == 2U);
  BOOST_TEST(m.texts[0].text == "See the forwarded messages.");
  BOOST_TEST(m.texts[1].part_index == 3U);
  BOOST_TEST(m.texts[1].text == "Inline forwarded body.");  // its last newline is the boundary's
  BOOST_TEST_REQUIRE(m.attachments.size() == 2U);
  BOOST_TEST(m.attachments[0].part.path == "2.1");
  BOOST_TEST(m.attachments[0].part.is_attachment);
  BOOST_TEST(m.attachments[0].text == "Sisäinen teksti.");
  BOOST_TEST(m.attachments[1].text == "<p>Inner html</p>");
  // The inner messages' headers are not the message's headers.
  BOOST_TEST(m.subject == "Fwd: viestit");
  BOOST_TEST(m.headers_named("Subject").size() == 1U);
  BOOST_TEST(m.defects.empty());
}

BOOST_AUTO_TEST_CASE(multipart_without_boundary_parameter) {
  const Message m = read_corpus("missing_boundary.eml");
  BOOST_TEST(has_defect(m, "multipart without boundary parameter"));
  BOOST_TEST_REQUIRE(m.parts.size() == 1U);
  BOOST_TEST(m.parts[0].path == "1");
  BOOST_TEST(m.parts[0].content_type == "text/plain");
  BOOST_TEST_REQUIRE(m.texts.size() == 1U);
  // Nothing is hidden: the unsplit content is the text.
  BOOST_TEST(m.texts[0].text == "--whatever\nContent-Type: text/plain\n\nHidden text\n--whatever--\n");
}

BOOST_AUTO_TEST_CASE(boundary_that_never_appears) {
  const Message m = read_corpus("boundary_never_appears.eml");
  BOOST_TEST(has_defect(m, "message: multipart boundary never appears"));
  BOOST_TEST_REQUIRE(m.texts.size() == 1U);
  BOOST_TEST(m.texts[0].text.find("Text under the wrong boundary") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(missing_closing_boundary) {
  const Message m = read_corpus("missing_closing_boundary.eml");
  BOOST_TEST(has_defect(m, "message: missing closing boundary"));
  BOOST_TEST_REQUIRE(m.parts.size() == 2U);
  BOOST_TEST_REQUIRE(m.texts.size() == 1U);
  BOOST_TEST(m.texts[0].text == "First part.");
  BOOST_TEST_REQUIRE(m.attachments.size() == 1U);
  BOOST_TEST(m.attachments[0].part.filename == "notes.txt");
  BOOST_TEST(m.attachments[0].part.text_like);
  BOOST_TEST(m.attachments[0].text == "Second part, never closed.\n");
}

BOOST_AUTO_TEST_CASE(truncated_and_invalid_base64) {
  const auto file = corpus_dir() / "truncated_base64.eml";
  const Message m = read_corpus("truncated_base64.eml");
  BOOST_TEST_REQUIRE(m.parts.size() == 2U);
  BOOST_TEST(m.parts[0].decoded_size == 150U);  // 50 whole groups; the stray symbol is dropped
  BOOST_TEST(has_defect(m, "part 1: truncated base64"));
  std::string expected;
  for (int i = 0; i < 150; ++i) expected.push_back(static_cast<char>((i * 7) % 256));
  BOOST_TEST(streamed_content(file, "1") == expected);

  BOOST_TEST_REQUIRE(m.texts.size() == 1U);
  BOOST_TEST(m.texts[0].text == "Hello from bad base64");  // "!" and "*" skipped
  BOOST_TEST(has_defect(m, "part 2: invalid characters in base64"));
}

BOOST_AUTO_TEST_CASE(unknown_content_transfer_encoding) {
  const Message m = read_corpus("garbage_cte.eml");
  BOOST_TEST(has_defect(m, "part 1: unknown Content-Transfer-Encoding"));
  BOOST_TEST_REQUIRE(m.texts.size() == 1U);
  BOOST_TEST(m.texts[0].text == "Plain text despite the encoding label.\n");
}

BOOST_AUTO_TEST_CASE(nul_bytes) {
  const Message m = read_corpus("nul_bytes.eml");
  BOOST_TEST(m.subject == "nul");  // GMime keeps header values as C strings
  BOOST_TEST(has_defect(m, "NUL byte in the message header section"));
  BOOST_TEST_REQUIRE(m.texts.size() == 1U);
  BOOST_TEST(m.texts[0].text == "abc\xEF\xBF\xBD" "def\nline two\n");
  BOOST_TEST(m.parts[0].decoded_size == 17U);  // the NUL byte counts
}

BOOST_AUTO_TEST_CASE(binary_junk_is_an_error) {
  auto r = read_message_file(corpus_dir() / "binary_junk.eml");
  BOOST_TEST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().message == "not a message: it does not start with a header field");
}

BOOST_AUTO_TEST_CASE(empty_input_is_an_error) {
  auto from_file = read_message_file(corpus_dir() / "empty.eml");
  BOOST_TEST_REQUIRE(!from_file.ok());
  BOOST_TEST(from_file.error().message == "empty message");
  auto from_memory = read_message("");
  BOOST_TEST_REQUIRE(!from_memory.ok());
  BOOST_TEST(from_memory.error().message == "empty message");
}

BOOST_AUTO_TEST_CASE(plain_rfc5322_without_mime) {
  const Message m = read_corpus("plain_rfc5322.eml");
  BOOST_TEST(m.subject == "A subject that was folded   across two lines");
  BOOST_TEST_REQUIRE(m.parts.size() == 1U);
  BOOST_TEST(m.parts[0].path == "1");
  BOOST_TEST(m.parts[0].content_type == "text/plain");
  BOOST_TEST(m.parts[0].charset == "");
  BOOST_TEST(!m.parts[0].is_attachment);
  BOOST_TEST_REQUIRE(m.texts.size() == 1U);
  BOOST_TEST(m.texts[0].text == "Just text.\r\nNo MIME here.\r\n");
  BOOST_TEST(m.attachments.empty());
  BOOST_TEST(m.defects.empty());
}

BOOST_AUTO_TEST_CASE(unknown_charset_falls_back) {
  const Message m = read_corpus("unknown_charset.eml");
  BOOST_TEST(has_defect(m, "part 1: unknown charset 'x-martian-7'"));
  BOOST_TEST_REQUIRE(m.texts.size() == 1U);
  BOOST_TEST(m.texts[0].text == "Mars: 🚀 ja Maa\n");
}

BOOST_AUTO_TEST_CASE(text_like_attachments_by_type_and_name) {
  const Message m = read_corpus("text_like_attachments.eml");
  BOOST_TEST_REQUIRE(m.attachments.size() == 3U);
  const Attachment& json = m.attachments[0];
  BOOST_TEST(json.part.content_type == "application/json");
  BOOST_TEST(json.part.text_like);
  BOOST_TEST(json.part.filename == "");
  BOOST_TEST(json.text == "{\"nimi\": \"Äänestys\", \"ääniä\": 42}\n");
  const Attachment& log = m.attachments[1];
  BOOST_TEST(log.part.content_type == "application/octet-stream");
  BOOST_TEST(log.part.filename == "palvelin.log");
  BOOST_TEST(log.part.text_like);  // by name
  BOOST_TEST(log.text ==
             "2024-03-09 12:00:01 INFO käynnistys valmis\n2024-03-09 12:00:02 WARN levytila vähissä");
  const Attachment& png = m.attachments[2];
  BOOST_TEST(!png.part.text_like);
  BOOST_TEST(png.text.empty());
  BOOST_TEST(png.part.decoded_size == 70U);
}

BOOST_AUTO_TEST_CASE(memory_and_file_agree_on_every_corpus_file) {
  for (const auto& file : corpus_files()) {
    const std::string raw = read_file(file);
    auto from_memory = read_message(raw);
    auto from_file = read_message_file(file);
    BOOST_TEST_REQUIRE(from_memory.ok() == from_file.ok(), file.filename());
    if (!from_memory.ok()) {
      BOOST_TEST(from_memory.error().message == from_file.error().message);
      continue;
    }
    BOOST_TEST(from_memory->subject == from_file->subject, file.filename());
    BOOST_TEST(from_memory->size == raw.size());
    BOOST_TEST(from_memory->defects == from_file->defects, file.filename());
    BOOST_TEST_REQUIRE(from_memory->parts.size() == from_file->parts.size());
    for (std::size_t i = 0; i < from_memory->parts.size(); ++i) {
      BOOST_TEST(from_memory->parts[i].path == from_file->parts[i].path);
      BOOST_TEST(from_memory->parts[i].decoded_size == from_file->parts[i].decoded_size);
    }
    BOOST_TEST_REQUIRE(from_memory->texts.size() == from_file->texts.size());
    for (std::size_t i = 0; i < from_memory->texts.size(); ++i) {
      BOOST_TEST(from_memory->texts[i].text == from_file->texts[i].text);
    }
  }
}

BOOST_AUTO_TEST_CASE(streamed_parts_match_read_message) {
  // for_each_part_file sees the same leaves, and their decoded bytes have the measured sizes.
  for (const auto& file : corpus_files()) {
    auto m = read_message_file(file);
    if (!m.ok()) continue;
    std::vector<std::pair<std::string, std::uint64_t>> seen;
    auto r = for_each_part_file(file, {}, [&](const Part& part, PartContent& content) {
      std::uint64_t n = 0;
      char buffer[4096];
      for (std::size_t got; (got = content.read(buffer)) > 0;) n += got;
      BOOST_TEST(part.decoded_size == 0U);  // not known before the content is read
      seen.emplace_back(part.path, n);
      return true;
    });
    BOOST_TEST_REQUIRE(r.ok(), file.filename());
    BOOST_TEST(*r == m->parts.size());
    BOOST_TEST_REQUIRE(seen.size() == m->parts.size());
    for (std::size_t i = 0; i < seen.size(); ++i) {
      BOOST_TEST(seen[i].first == m->parts[i].path);
      BOOST_TEST(seen[i].second == m->parts[i].decoded_size, file.filename() << " " << seen[i].first);
    }
  }
}

BOOST_AUTO_TEST_CASE(headers_are_case_insensitive) {
  const std::string raw =
      "Received: from a by b\r\nreceived: from c by d\r\nSUBJECT: Hi\r\nX-Empty:\r\n\r\nbody\r\n";
  auto m = read_message(raw);
  BOOST_TEST_REQUIRE(m.ok());
  BOOST_TEST(m->subject == "Hi");
  BOOST_TEST(m->header("subject").value_or("?") == "Hi");
  BOOST_TEST(m->header("sUbJeCt").value_or("?") == "Hi");
  BOOST_TEST(m->header("x-empty").value_or("?") == "");
  BOOST_TEST(!m->header("X-Missing").has_value());
  const auto received = m->headers_named("RECEIVED");
  BOOST_TEST_REQUIRE(received.size() == 2U);
  BOOST_TEST(received[0] == "from a by b");
  BOOST_TEST(received[1] == "from c by d");
  BOOST_TEST(m->headers_named("nope").empty());
}

BOOST_AUTO_TEST_CASE(decoded_control_characters_cannot_inject_lines) {
  // An encoded CR LF in a subject or filename must not come out as a line break.
  const std::string raw =
      "Subject: =?utf-8?q?Hi=0D=0ABcc:_victim@example.com?=\n"
      "Content-Type: text/plain; name=\"=?utf-8?q?a=0Ab.txt?=\"\n\nx\n";
  auto m = read_message(raw);
  BOOST_TEST_REQUIRE(m.ok());
  BOOST_TEST(m->subject.find('\n') == std::string::npos);
  BOOST_TEST(m->subject.find('\r') == std::string::npos);
  BOOST_TEST(m->subject == "Hi\xEF\xBF\xBD\xEF\xBF\xBD" "Bcc: victim@example.com");
  BOOST_TEST_REQUIRE(m->parts.size() == 1U);
  BOOST_TEST(m->parts[0].filename == "a\xEF\xBF\xBD" "b.txt");
}

BOOST_AUTO_TEST_CASE(small_broken_shapes) {
  // An invalid line among the header fields is dropped, the fields around it kept.
  auto m = read_message("Subject: x\nthis is not a header\nTo: a@b\n\nbody\n");
  BOOST_TEST_REQUIRE(m.ok());
  BOOST_TEST_REQUIRE(m->headers.size() == 2U);
  BOOST_TEST(m->headers[1].value == "a@b");
  BOOST_TEST(has_defect(*m, "invalid header line ignored"));
  // A multipart closed before any part: no leaves, a defect.
  m = read_message("Content-Type: multipart/mixed; boundary=x\n\n--x--\n");
  BOOST_TEST_REQUIRE(m.ok());
  BOOST_TEST(m->parts.empty());
  BOOST_TEST(m->defects == std::vector<std::string>{"message: multipart without parts"});
  // Declared UTF-8 with a stray Latin-1 byte: valid sequences kept, the stray byte decoded.
  m = read_message("Content-Type: text/plain; charset=utf-8\n\n\xc3\xa4 ok, \xe4 broken");
  BOOST_TEST_REQUIRE(m.ok());
  BOOST_TEST(m->texts[0].text == "ä ok, ä broken");
  BOOST_TEST(has_defect(*m, "part 1: invalid UTF-8 bytes"));
  // An mbox "From " line before the header section is skipped.
  m = read_message("From nobody Mon Jan  1 00:00:00 2024\nSubject: mbox\n\nbody\n");
  BOOST_TEST_REQUIRE(m.ok());
  BOOST_TEST(m->subject == "mbox");
  BOOST_TEST(m->texts[0].text == "body\n");
}

BOOST_AUTO_TEST_CASE(file_errors_are_values) {
  auto missing = read_message_file(corpus_dir() / "no-such-file.eml");
  BOOST_TEST_REQUIRE(!missing.ok());
  BOOST_TEST(missing.error().message.find("cannot open message file") == 0U);
  auto directory = read_message_file(corpus_dir());
  BOOST_TEST_REQUIRE(!directory.ok());
  BOOST_TEST(directory.error().message.find("not a regular file") == 0U);
  auto streamed = for_each_part_file(corpus_dir() / "no-such-file.eml", {},
                                     [](const Part&, PartContent&) { return true; });
  BOOST_TEST(!streamed.ok());
}

BOOST_AUTO_TEST_SUITE_END()
