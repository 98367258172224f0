// read_message_source / for_each_part_source: a message read through a random-access ByteSource
// (as the store's sealed messages are) gives exactly what reading it from memory gives, however the
// source splits its reads, and a failing source is an error, never a short message.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <memory>
#include <string>

#include "smtp/mime/message.hpp"
#include "support.hpp"

using namespace sinetti;
using namespace sinetti::mime;
using namespace sinetti::mime::test;

namespace {

// Hands out at most `step` bytes per call and counts calls; fails every read at or beyond `fail_at`.
class MemorySource final : public ByteSource {
 public:
  MemorySource(std::string data, std::size_t step, std::uint64_t fail_at = UINT64_MAX)
      : data_(std::move(data)), step_(step), fail_at_(fail_at) {}
  std::uint64_t size() const override { return data_.size(); }
  Result<std::size_t> read_at(std::uint64_t offset, std::span<char> out) override {
    ++reads;
    if (offset > data_.size()) return make_error("offset past the end");
    const std::size_t n = std::min({out.size(), step_, data_.size() - static_cast<std::size_t>(offset)});
    if (n > 0 && offset + n > fail_at_) return make_error("simulated I/O error");
    std::copy_n(data_.data() + offset, n, out.data());
    return n;
  }
  std::size_t reads = 0;

 private:
  std::string data_;
  std::size_t step_;
  std::uint64_t fail_at_;
};

void expect_same(const Message& a, const Message& b, const std::string& name) {
  BOOST_TEST_CONTEXT(name) {
    BOOST_TEST(a.subject == b.subject);
    BOOST_TEST(a.size == b.size);
    BOOST_TEST_REQUIRE(a.headers.size() == b.headers.size());
    for (std::size_t i = 0; i < a.headers.size(); ++i) {
      BOOST_TEST(a.headers[i].name == b.headers[i].name);
      BOOST_TEST(a.headers[i].value == b.headers[i].value);
    }
    BOOST_TEST_REQUIRE(a.texts.size() == b.texts.size());
    for (std::size_t i = 0; i < a.texts.size(); ++i) BOOST_TEST(a.texts[i].text == b.texts[i].text);
    BOOST_TEST_REQUIRE(a.attachments.size() == b.attachments.size());
    for (std::size_t i = 0; i < a.attachments.size(); ++i) {
      BOOST_TEST(a.attachments[i].part.filename == b.attachments[i].part.filename);
      BOOST_TEST(a.attachments[i].part.decoded_size == b.attachments[i].part.decoded_size);
      BOOST_TEST(a.attachments[i].text == b.attachments[i].text);
    }
    BOOST_TEST(a.parts.size() == b.parts.size());
    BOOST_TEST(a.defects == b.defects, "defects differ");
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(mime_source)

BOOST_AUTO_TEST_CASE(corpus_reads_the_same_through_a_source) {
  std::size_t compared = 0;
  for (const auto& file : corpus_files()) {
    const std::string raw = read_file(file);
    auto direct = read_message(raw);
    for (std::size_t step : {std::size_t{1}, std::size_t{7}, std::size_t{4096}, std::size_t{1} << 20}) {
      auto source = std::make_shared<MemorySource>(raw, step);
      auto via = read_message_source(source);
      BOOST_TEST_CONTEXT(file.filename().string() << " step " << step) {
        BOOST_TEST_REQUIRE(direct.ok() == via.ok());
        if (!direct.ok()) {
          BOOST_TEST(direct.error().message == via.error().message);
          continue;
        }
        expect_same(*direct, *via, file.filename().string());
        BOOST_TEST(source->reads > 0u);
        ++compared;
      }
    }
  }
  BOOST_TEST(compared >= 60u);  // the corpus has more than 15 readable messages
}

BOOST_AUTO_TEST_CASE(parts_stream_through_a_source) {
  const std::string raw = corpus("thunderbird_rfc2231.eml");
  auto direct_parts = std::make_shared<std::vector<std::string>>();
  TempDir dir;
  const auto file = dir.write("m.eml", raw);
  auto from_file = for_each_part_file(file, {}, [&](const Part&, PartContent& content) {
    std::string all;
    char buffer[333];
    for (std::size_t n; (n = content.read(buffer)) > 0;) all.append(buffer, n);
    direct_parts->push_back(all);
    return true;
  });
  BOOST_TEST_REQUIRE(from_file.ok());
  std::vector<std::string> via_parts;
  auto from_source = for_each_part_source(std::make_shared<MemorySource>(raw, 13), {}, [&](const Part&, PartContent& content) {
    std::string all;
    char buffer[333];
    for (std::size_t n; (n = content.read(buffer)) > 0;) all.append(buffer, n);
    via_parts.push_back(all);
    return true;
  });
  BOOST_TEST_REQUIRE(from_source.ok());
  BOOST_TEST(*from_source == *from_file);
  BOOST_TEST(via_parts == *direct_parts);
  BOOST_TEST(via_parts.size() >= 2u);
}

BOOST_AUTO_TEST_CASE(a_failing_source_is_an_error) {
  const std::string raw = corpus("outlook_alternative_attachment.eml");
  BOOST_REQUIRE(raw.size() > 400);
  for (std::uint64_t fail_at : {std::uint64_t{10}, std::uint64_t{raw.size() / 2}, std::uint64_t{raw.size() - 5}}) {
    auto m = read_message_source(std::make_shared<MemorySource>(raw, 64, fail_at));
    BOOST_TEST_CONTEXT("fail at " << fail_at) {
      BOOST_TEST_REQUIRE(!m.ok());
      BOOST_TEST(m.error().message.find("cannot read the message: simulated I/O error") != std::string::npos,
                 m.error().message);
    }
    auto parts = for_each_part_source(std::make_shared<MemorySource>(raw, 64, fail_at), {},
                                      [](const Part&, PartContent& c) {
                                        char b[100];
                                        while (c.read(b) > 0) {
                                        }
                                        return true;
                                      });
    BOOST_TEST(!parts.ok());
  }
  auto empty = read_message_source(std::make_shared<MemorySource>("", 10));
  BOOST_TEST_REQUIRE(!empty.ok());
  BOOST_TEST(empty.error().message == "empty message");
}

BOOST_AUTO_TEST_SUITE_END()
