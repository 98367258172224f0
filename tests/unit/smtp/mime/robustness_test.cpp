// Broken input never crashes and never yields invalid UTF-8: every corpus message cut at every byte
// offset, with bytes flipped, and read from several threads at once.
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <array>
#include <random>
#include <string>
#include <thread>

#include "smtp/mime/message.hpp"
#include "support.hpp"

using namespace sinetti::mime;
using namespace sinetti::mime::test;

namespace {

// What must hold for any input: an error with a message, or a consistent, valid-UTF-8 Message.
void check_outcome(const sinetti::Result<Message>& r, std::string_view raw, const std::string& what) {
  if (!r.ok()) {
    BOOST_TEST(!r.error().message.empty(), what);
    return;
  }
  const Message& m = *r;
  const std::string bad = first_invalid_utf8(m);
  BOOST_TEST(bad.empty(), what << ": invalid UTF-8 in " << bad);
  BOOST_TEST(m.size == raw.size(), what);
  BOOST_TEST(m.texts.size() + m.attachments.size() == m.parts.size(), what);
  for (std::size_t i = 0; i < m.parts.size(); ++i) {
    BOOST_TEST(m.parts[i].index == i, what);
    // Transfer decoding never makes content larger than the message.
    BOOST_TEST(m.parts[i].decoded_size <= raw.size(), what);
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(mime_robustness)

BOOST_AUTO_TEST_CASE(every_corpus_file_cut_at_every_offset) {
  std::size_t runs = 0;
  for (const auto& file : corpus_files()) {
    const std::string raw = read_file(file);
    for (std::size_t cut = 0; cut <= raw.size(); ++cut) {
      const std::string_view prefix(raw.data(), cut);
      // A private copy, so that reading past `cut` would be caught by ASan.
      const std::string copy(prefix);
      check_outcome(read_message(copy), copy, file.filename().string() + " cut at " + std::to_string(cut));
      ++runs;
    }
  }
  BOOST_TEST(runs > 10000U);
}

BOOST_AUTO_TEST_CASE(truncated_files_read_from_disk) {
  TempDir dir;
  for (const auto& file : corpus_files()) {
    const std::string raw = read_file(file);
    for (std::size_t cut = 0; cut <= raw.size(); cut += 13) {
      const std::string copy = raw.substr(0, cut);
      const auto path = dir.write("cut.eml", copy);
      check_outcome(read_message_file(path), copy, file.filename().string() + " file cut " + std::to_string(cut));
      auto streamed = for_each_part_file(path, {}, [](const Part&, PartContent& content) {
        char buffer[512];
        while (content.read(buffer) > 0) {
        }
        return true;
      });
      if (!streamed.ok()) BOOST_TEST(!streamed.error().message.empty());
    }
  }
}

BOOST_AUTO_TEST_CASE(flipped_bytes) {
  std::mt19937 rng(20240305);  // fixed seed: failures reproduce
  const std::array<char, 10> interesting = {'\0', '\n', '\r', '-', '=', ':', ';', '"', '\x80', '\xff'};
  for (const auto& file : corpus_files()) {
    const std::string raw = read_file(file);
    if (raw.empty()) continue;
    for (int round = 0; round < 300; ++round) {
      std::string mutated = raw;
      const int flips = 1 + static_cast<int>(rng() % 8);
      for (int f = 0; f < flips; ++f) {
        const std::size_t at = rng() % mutated.size();
        mutated[at] = rng() % 2 == 0 ? interesting[rng() % interesting.size()]
                                     : static_cast<char>(rng() % 256);
      }
      check_outcome(read_message(mutated), mutated, file.filename().string() + " mutated");
    }
  }
}

BOOST_AUTO_TEST_CASE(crlf_and_lf_line_endings_read_alike) {
  for (const auto& file : corpus_files()) {
    const std::string raw = read_file(file);
    std::string lf;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '\r' && i + 1 < raw.size() && raw[i + 1] == '\n') continue;
      lf.push_back(raw[i]);
    }
    std::string crlf;
    for (char c : lf) {
      if (c == '\n') crlf.push_back('\r');
      crlf.push_back(c);
    }
    auto a = read_message(lf);
    auto b = read_message(crlf);
    BOOST_TEST_REQUIRE(a.ok() == b.ok(), file.filename());
    if (!a.ok()) continue;
    BOOST_TEST(a->subject == b->subject, file.filename());
    BOOST_TEST_REQUIRE(a->parts.size() == b->parts.size(), file.filename());
    for (std::size_t i = 0; i < a->parts.size(); ++i) {
      BOOST_TEST(a->parts[i].path == b->parts[i].path);
      BOOST_TEST(a->parts[i].filename == b->parts[i].filename);
      BOOST_TEST(a->parts[i].content_type == b->parts[i].content_type);
    }
    check_outcome(b, crlf, file.filename().string() + " crlf");
  }
}

BOOST_AUTO_TEST_CASE(long_lines_and_odd_shapes) {
  // A base64 body on one 3 MB line, a body that is one line without newline, a lone boundary.
  std::string one_line_b64 =
      "Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n";
  one_line_b64 += std::string(3 * 1024 * 1024, 'A');
  auto m = read_message(one_line_b64);
  BOOST_TEST_REQUIRE(m.ok());
  BOOST_TEST(m->parts[0].decoded_size == 3U * 1024 * 1024 / 4 * 3);

  for (const std::string& raw : {std::string("Subject: x"), std::string("Subject: x\n"),
                                std::string("\n"), std::string("\r\n\r\n"), std::string(":\n\n"),
                                std::string("From nobody Mon Jan  1 00:00:00 2024\nSubject: mbox\n\nbody\n"),
                                std::string("Content-Type: multipart/mixed; boundary=x\n\n--x"),
                                std::string("Content-Type: multipart/mixed; boundary=x\n\n--x--\n"),
                                std::string("Content-Type: multipart/mixed; boundary=\"\"\n\n--\n\n--\n"),
                                std::string("Content-Type: message/rfc822\n\n"),
                                std::string("Content-Type: text/plain; charset=utf-16\n\n\xff\xfe" "a\0b\0", 45),
                                std::string("Content-Type: text/plain; charset=\"../../etc/x\"\n\nhi\n")}) {
    check_outcome(read_message(raw), raw, "odd shape");
  }
}

BOOST_AUTO_TEST_CASE(concurrent_readers) {
  // GMime is initialised once; separate messages are read on separate threads.
  const auto files = corpus_files();
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round) {
        for (const auto& file : files) {
          auto r = read_message_file(file);
          if (r.ok() && !first_invalid_utf8(*r).empty()) ++failures[static_cast<std::size_t>(t)];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int f : failures) BOOST_TEST(f == 0);
}

BOOST_AUTO_TEST_SUITE_END()
