// for_each_part_file streams a large attachment from disk in chunks; read_message_file measures it
// without holding it. The ~20 MB message is generated into a temp file, never committed.
#include <boost/test/unit_test.hpp>

#include <sys/resource.h>

#include <cstdint>
#include <fstream>
#include <string>

#include "smtp/mime/message.hpp"
#include "support.hpp"

using namespace sinetti::mime;
using namespace sinetti::mime::test;

namespace {

// FNV-1a, 64 bit: enough to tell decoded content apart.
struct Checksum {
  std::uint64_t value = 0xcbf29ce484222325ULL;
  std::uint64_t bytes = 0;
  void add(const char* data, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      value ^= static_cast<unsigned char>(data[i]);
      value *= 0x100000001b3ULL;
    }
    bytes += n;
  }
};

constexpr char base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Writes a message with a short text part and a base64 attachment of `size` pseudo-random bytes;
// returns the checksum of the attachment's decoded content.
Checksum write_big_message(const std::filesystem::path& path, std::uint64_t size) {
  std::ofstream out(path, std::ios::binary);
  out << "From: big@example.com\r\nTo: rcpt@example.com\r\nSubject: big attachment\r\n"
         "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"BIG\"\r\n\r\n"
         "--BIG\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee attachment.\r\n"
         "--BIG\r\nContent-Type: application/octet-stream; name=\"big.bin\"\r\n"
         "Content-Disposition: attachment; filename=\"big.bin\"\r\n"
         "Content-Transfer-Encoding: base64\r\n\r\n";
  Checksum sum;
  std::uint64_t state = 0x9E3779B97F4A7C15ULL;
  std::string line;
  std::uint64_t produced = 0;
  unsigned char group[3];
  while (produced < size) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(3, size - produced));
    for (std::size_t i = 0; i < n; ++i) {
      state ^= state << 13, state ^= state >> 7, state ^= state << 17;  // xorshift64
      group[i] = static_cast<unsigned char>(state >> 56);
    }
    sum.add(reinterpret_cast<const char*>(group), n);
    produced += n;
    const std::uint32_t v = (std::uint32_t{group[0]} << 16) |
                            (n > 1 ? std::uint32_t{group[1]} << 8 : 0) | (n > 2 ? group[2] : 0);
    line.push_back(base64_alphabet[(v >> 18) & 63]);
    line.push_back(base64_alphabet[(v >> 12) & 63]);
    line.push_back(n > 1 ? base64_alphabet[(v >> 6) & 63] : '=');
    line.push_back(n > 2 ? base64_alphabet[v & 63] : '=');
    if (line.size() == 76) {
      out << line << "\r\n";
      line.clear();
    }
  }
  if (!line.empty()) out << line << "\r\n";
  out << "--BIG--\r\n";
  return sum;
}

long peak_rss_kb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(mime_streaming)

BOOST_AUTO_TEST_CASE(twenty_megabyte_attachment_streams_from_disk) {
  TempDir dir;
  const auto file = dir.path() / "big.eml";
  constexpr std::uint64_t size = 20 * 1024 * 1024 + 1;  // +1: the last group is padded
  const Checksum expected = write_big_message(file, size);
  BOOST_TEST(std::filesystem::file_size(file) > 27U * 1024 * 1024);

  Checksum got;
  std::string text;
  std::vector<std::string> names;
  auto visited = for_each_part_file(file, {}, [&](const Part& part, PartContent& content) {
    names.push_back(part.filename);
    std::vector<char> buffer(64 * 1024 + 3);
    for (std::size_t n; (n = content.read(buffer)) > 0;) {
      if (part.path == "2") {
        got.add(buffer.data(), n);
      } else {
        text.append(buffer.data(), n);
      }
    }
    BOOST_TEST(content.read(buffer) == 0U);  // stays at the end
    return true;
  });
  BOOST_TEST_REQUIRE(visited.ok(), (visited.ok() ? "" : visited.error().message));
  BOOST_TEST(*visited == 2U);
  BOOST_TEST(text == "See attachment.");
  BOOST_TEST_REQUIRE(names.size() == 2U);
  BOOST_TEST(names[1] == "big.bin");
  BOOST_TEST(got.bytes == size);
  BOOST_TEST(got.value == expected.value);

  // Stopping early: returning false ends the walk.
  auto first_only = for_each_part_file(file, {}, [](const Part&, PartContent&) { return false; });
  BOOST_TEST_REQUIRE(first_only.ok());
  BOOST_TEST(*first_only == 1U);
}

BOOST_AUTO_TEST_CASE(read_message_file_measures_without_holding) {
  TempDir dir;
  const auto file = dir.path() / "big.eml";
  constexpr std::uint64_t size = 20 * 1024 * 1024;
  write_big_message(file, size);

  const long before_kb = peak_rss_kb();
  auto m = read_message_file(file);
  const long after_kb = peak_rss_kb();
  BOOST_TEST_REQUIRE(m.ok());
  BOOST_TEST_REQUIRE(m->attachments.size() == 1U);
  const Attachment& big = m->attachments[0];
  BOOST_TEST(big.part.decoded_size == size);
  BOOST_TEST(!big.part.text_like);
  BOOST_TEST(big.text.empty());
  BOOST_TEST(m->texts.size() == 1U);
  BOOST_TEST(m->size == std::filesystem::file_size(file));
  // Peak RSS is a high-water mark for the whole test run, so this can only catch growth beyond an
  // earlier peak; holding 20 MB of decoded content (or the 27 MB file) would exceed the margin.
  BOOST_TEST_MESSAGE("peak RSS before " << before_kb << " KiB, after " << after_kb << " KiB");
  BOOST_TEST(after_kb - before_kb < 16 * 1024);
}

BOOST_AUTO_TEST_CASE(large_text_attachment_is_capped_not_held_in_full) {
  TempDir dir;
  const auto file = dir.path() / "text.eml";
  const std::string line = "2024-03-09 12:00:00 INFO rivi numero ääkkösillä\n";
  {
    std::ofstream out(file, std::ios::binary);
    out << "Subject: log\nContent-Type: multipart/mixed; boundary=L\n\n--L\n"
           "Content-Type: text/plain; name=\"huge.log\"\nContent-Disposition: attachment\n\n";
    for (int i = 0; i < 100000; ++i) out << line;
    out << "--L--\n";
  }
  Limits limits;
  limits.max_text_bytes = 64 * 1024;
  auto m = read_message_file(file, limits);
  BOOST_TEST_REQUIRE(m.ok());
  BOOST_TEST_REQUIRE(m->attachments.size() == 1U);
  const Attachment& log = m->attachments[0];
  BOOST_TEST(log.text_truncated);
  BOOST_TEST(log.text.size() <= 64U * 1024);
  BOOST_TEST(log.text.size() > 64U * 1024 - 4);
  BOOST_TEST(valid_utf8(log.text));
  BOOST_TEST(log.part.decoded_size == 100000U * line.size() - 1);  // the last newline belongs to the boundary
}

BOOST_AUTO_TEST_SUITE_END()
