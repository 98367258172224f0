// Sealed content in a real SqliteStore: written as it arrives, read back at any offset and in
// sequence; chunks moved or damaged in the database file are refused; the data key unwraps only with
// the open key ring and the right message.
#include <boost/test/unit_test.hpp>

#include <random>

#include "../store/store_fixture.hpp"
#include "crypto/key_ring.hpp"
#include "crypto/primitives.hpp"
#include "gateway/sealed/sealed_content.hpp"

using namespace sinetti;
using namespace store_test;

namespace {

std::string text_of(std::size_t n, std::uint32_t seed) {
  std::string s(n, '\0');
  std::mt19937 gen(seed);
  for (auto& c : s) c = static_cast<char>('a' + gen() % 26);
  return s;
}

MessageMeta meta_for(const MessageId& id, std::uint64_t size, const crypto::Bytes& wrapped, std::uint32_t kek) {
  MessageMeta m;
  m.id = id;
  m.kind = MessageKind::spool;
  m.sender = "a@example.com";
  m.recipients = {"b@example.com"};
  m.size = size;
  m.wrapped_key = wrapped;
  m.kek_id = kek;
  return m;
}

struct SealedFixture : Fixture {
  std::filesystem::path keys = dir.path() / "keys";
  SealedFixture() { BOOST_REQUIRE(crypto::KeyRing::init(keys, clock).ok()); }
  crypto::KeyRing ring(crypto::Access a) {
    auto r = crypto::KeyRing::load(keys, a);
    BOOST_REQUIRE(r.ok());
    return std::move(*r);
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(sealed_content)

BOOST_FIXTURE_TEST_CASE(round_trips_at_any_size_through_the_store, SealedFixture) {
  auto store = open();
  auto seal_ring = ring(crypto::Access::seal);
  auto open_ring = ring(crypto::Access::open);
  std::uint32_t n = 0;
  for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{65536}, std::size_t{65537}, std::size_t{300000}}) {
    const MessageId id = "M" + std::to_string(n++);
    const std::string plain = text_of(size, n);
    auto key = crypto::DataKey::generate();
    sealed::ContentWriter w(key, id);
    std::vector<Chunk> pieces;
    // Fed in uneven pieces, as DATA arrives.
    for (std::size_t at = 0; at < plain.size();) {
      const std::size_t k = std::min<std::size_t>(plain.size() - at, 1000 + at % 7777);
      w.update(std::string_view(plain).substr(at, k), pieces);
      at += k;
    }
    w.finish(pieces);
    BOOST_TEST(pieces.size() == sealed::piece_count(size));
    BOOST_TEST(w.plaintext_size() == size);
    CommitBatch batch;
    batch.messages.push_back(MessageCommit{id, meta_for(id, size, seal_ring.wrap(key, id), seal_ring.active_kek()), pieces, size});
    BOOST_REQUIRE(store->commit(batch).ok());

    auto meta = store->find_message(id);
    BOOST_REQUIRE(meta.ok() && meta->has_value());
    BOOST_TEST(!sealed::ContentReader::open(*store, **meta, seal_ring).ok(), "a seal-only ring cannot open");
    auto reader = sealed::ContentReader::open(*store, **meta, open_ring);
    BOOST_REQUIRE_MESSAGE(reader.ok(), (reader.ok() ? "" : reader.error().message));
    std::string sequential;
    for (;;) {
      auto c = (*reader)->next();
      BOOST_REQUIRE(c.ok());
      if (c->empty()) break;
      sequential.append(*c);
    }
    BOOST_TEST(sequential == plain);
    // Random reads, crossing chunk boundaries, backwards.
    std::mt19937 gen(size);
    for (int i = 0; i < 40 && size > 0; ++i) {
      const std::uint64_t offset = gen() % size;
      std::string buf(std::min<std::uint64_t>(size - offset, 1 + gen() % 100000), '\0');
      auto got = (*reader)->read_at(offset, buf);
      BOOST_REQUIRE(got.ok());
      BOOST_TEST(*got == buf.size());
      BOOST_TEST(buf == plain.substr(offset, buf.size()));
    }
    char past[10];
    auto end = (*reader)->read_at(size, past);
    BOOST_REQUIRE(end.ok());
    BOOST_TEST(*end == 0u);
  }
}

BOOST_FIXTURE_TEST_CASE(moved_or_damaged_chunks_are_refused, SealedFixture) {
  auto store = open();
  auto r = ring(crypto::Access::open);
  const std::string plain = text_of(3 * 65536 + 10, 9);
  for (const MessageId id : {"A", "B"}) {
    auto key = crypto::DataKey::generate();
    CommitBatch batch;
    batch.messages.push_back(MessageCommit{id, meta_for(id, plain.size(), r.wrap(key, id), r.active_kek()),
                                           sealed::seal_pieces(key, id, plain), plain.size()});
    BOOST_REQUIRE(store->commit(batch).ok());
  }
  RawDb raw(db_path);
  // Swap pieces 1 and 2 of A; give B's piece 3 to A... each is caught when read.
  BOOST_REQUIRE(raw.exec("UPDATE content_chunks SET seq = 99 WHERE message_id = 'A' AND seq = 1").empty());
  BOOST_REQUIRE(raw.exec("UPDATE content_chunks SET seq = 1 WHERE message_id = 'A' AND seq = 2").empty());
  BOOST_REQUIRE(raw.exec("UPDATE content_chunks SET seq = 2 WHERE message_id = 'A' AND seq = 99").empty());
  BOOST_REQUIRE(raw.exec("UPDATE content_chunks SET data = (SELECT data FROM content_chunks WHERE message_id = 'A' AND seq = 3) "
                         "WHERE message_id = 'B' AND seq = 3").empty());
  for (const MessageId id : {"A", "B"}) {
    auto meta = store->find_message(id);
    BOOST_REQUIRE(meta.ok() && meta->has_value());
    auto reader = sealed::ContentReader::open(*store, **meta, r);
    BOOST_REQUIRE(reader.ok());
    std::string all(plain.size(), '\0');
    auto got = (*reader)->read_at(0, all);
    BOOST_TEST_CONTEXT(id) {
      BOOST_TEST(!got.ok());
      if (!got.ok()) BOOST_TEST(got.error().message.find("does not verify") != std::string::npos, got.error().message);
    }
  }
  // The wrapped key of one message does not open another.
  auto a = store->find_message("A");
  auto b = store->find_message("B");
  BOOST_REQUIRE(a.ok() && b.ok() && a->has_value() && b->has_value());
  MessageMeta swapped = **b;
  swapped.wrapped_key = (*a)->wrapped_key;
  BOOST_TEST(!sealed::unwrap_data_key(*store, swapped, r).ok());
}

BOOST_AUTO_TEST_SUITE_END()
