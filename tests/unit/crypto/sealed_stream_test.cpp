// The streaming AEAD: round trips at the chunk boundaries, independence from how the input is split,
// and refusal of every kind of damage — each flipped byte, truncation at every offset, dropped,
// reordered and spliced chunks, another message id, another key, trailing bytes.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <random>
#include <string>

#include "crypto/primitives.hpp"
#include "crypto/random.hpp"
#include "crypto/sealed_stream.hpp"
#include "test_support.hpp"

using namespace sinetti::crypto;

namespace {

constexpr std::size_t chunk = sealed_chunk_size;
constexpr std::size_t sealed_chunk = sealed_chunk_size + gcm_tag_size;

Bytes pattern(std::size_t n, std::uint32_t seed = 1) {
  Bytes out(n);
  std::mt19937 gen(seed);
  for (auto& b : out) b = static_cast<std::uint8_t>(gen());
  return out;
}

// Seals `plaintext`, feeding the sealer pieces of the given sizes in turn (cycled).
Bytes seal(const DataKey& key, std::string_view id, ByteView plaintext, std::initializer_list<std::size_t> pieces = {1 << 20}) {
  StreamSealer sealer(key, id);
  Bytes out(sealer.header().begin(), sealer.header().end());
  auto piece = pieces.begin();
  while (!plaintext.empty()) {
    const std::size_t n = std::min(*piece, plaintext.size());
    sealer.update(plaintext.first(n), out);
    plaintext = plaintext.subspan(n);
    if (++piece == pieces.end()) piece = pieces.begin();
  }
  sealer.finish(out);
  return out;
}

struct Opened {
  bool ok = false;
  Bytes released;
  std::string error;
};

// Opens `blob` fed as the pieces that `cuts` (ascending offsets) divide it into.
Opened open_cut(const DataKey& key, std::string_view id, ByteView blob, std::initializer_list<std::size_t> cuts = {}) {
  StreamOpener opener(key, id);
  Opened result;
  std::size_t at = 0;
  auto step = [&](ByteView piece) {
    auto r = opener.update(piece, result.released);
    if (!r) result.error = r.error().message;
    return r.ok();
  };
  for (const std::size_t cut : cuts) {
    if (!step(blob.subspan(at, cut - at))) return result;
    at = cut;
  }
  if (!step(blob.subspan(at))) return result;
  auto done = opener.finish(result.released);
  if (!done) {
    result.error = done.error().message;
    return result;
  }
  result.ok = true;
  return result;
}

// True when `released` is the plaintext of exactly the first `chunks` chunks.
bool is_chunk_prefix(const Bytes& released, const Bytes& plaintext, std::size_t chunks) {
  const std::size_t n = std::min(chunks * chunk, plaintext.size());
  return released.size() == n && std::equal(released.begin(), released.end(), plaintext.begin());
}

// The chunk a byte offset of a blob belongs to; the header counts as chunk 0 here, since damage
// there must stop everything.
std::size_t chunk_of(std::size_t offset) { return offset < sealed_header_size ? 0 : (offset - sealed_header_size) / sealed_chunk; }

}  // namespace

BOOST_AUTO_TEST_SUITE(crypto_sealed_stream)

BOOST_AUTO_TEST_CASE(round_trips_at_chunk_boundaries) {
  const DataKey key = DataKey::generate();
  for (const std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{16}, std::size_t{1000}, chunk - 1, chunk, chunk + 1,
                              2 * chunk, 2 * chunk + 1, 3 * chunk + 12345}) {
    BOOST_TEST_CONTEXT("plaintext size " << n) {
      const Bytes pt = pattern(n, static_cast<std::uint32_t>(n));
      for (const auto& blob : {seal(key, "m-1", pt), seal(key, "m-1", pt, {1}), seal(key, "m-1", pt, {7, chunk, 40000}),
                               seal_message(key, "m-1", pt)}) {
        BOOST_TEST(blob.size() == sealed_size(n));
        const auto opened = open_cut(key, "m-1", blob);
        BOOST_TEST(opened.ok, opened.error);
        BOOST_TEST((opened.released == pt));
        const auto helper = open_message(key, "m-1", blob);
        BOOST_REQUIRE(helper.ok());
        BOOST_TEST((*helper == pt));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(layout_header_and_last_chunk) {
  const DataKey key = DataKey::generate();
  const Bytes empty = seal(key, "m", {});
  BOOST_TEST(empty.size() == sealed_header_size + gcm_tag_size);  // header + one empty last chunk
  BOOST_TEST(empty[0] == sealed_format_version);
  BOOST_TEST(std::equal(key.id().begin(), key.id().end(), empty.begin() + 1));
  const auto header = parse_sealed_header(empty);
  BOOST_REQUIRE(header.ok());
  BOOST_TEST((header->key_id == key.id()));
  BOOST_TEST(!parse_sealed_header(ByteView(empty).first(sealed_header_size - 1)).ok());

  // A message of exactly one chunk is one full chunk flagged last; one byte more makes two chunks.
  BOOST_TEST(seal(key, "m", pattern(chunk)).size() == sealed_header_size + sealed_chunk);
  BOOST_TEST(seal(key, "m", pattern(chunk + 1)).size() == sealed_header_size + sealed_chunk + 1 + gcm_tag_size);

  // Two sealers never share a nonce prefix, even for the same key and message.
  const Bytes a = seal(key, "m", pattern(10)), b = seal(key, "m", pattern(10));
  BOOST_TEST(!std::equal(a.begin() + 17, a.begin() + 25, b.begin() + 17));

  Bytes bad_version = empty;
  bad_version[0] = 2;
  BOOST_TEST(!parse_sealed_header(bad_version).ok());
  const auto opened = open_cut(key, "m", bad_version);
  BOOST_TEST(!opened.ok);
  BOOST_TEST(opened.error.find("version") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(output_does_not_depend_on_how_the_input_is_split) {
  const DataKey key = DataKey::generate();
  const Bytes pt = pattern(chunk + 100);
  const Bytes blob = seal(key, "split", pt);
  for (std::size_t cut = 0; cut <= blob.size(); ++cut) {
    const auto opened = open_cut(key, "split", blob, {cut});
    if (!opened.ok || opened.released != pt) {
      BOOST_ERROR("split at " << cut << ": " << opened.error);
      break;
    }
  }
  // Byte by byte.
  StreamOpener opener(key, "split");
  Bytes released;
  for (const auto b : blob) BOOST_REQUIRE(opener.update(ByteView(&b, 1), released).ok());
  BOOST_REQUIRE(opener.finish(released).ok());
  BOOST_TEST((released == pt));
  // Three pieces at random places in a longer blob.
  const Bytes pt3 = pattern(3 * chunk + 5, 3);
  const Bytes blob3 = seal(key, "split", pt3);
  std::mt19937 gen(42);
  for (int i = 0; i < 200; ++i) {
    std::size_t c1 = gen() % (blob3.size() + 1), c2 = gen() % (blob3.size() + 1);
    if (c1 > c2) std::swap(c1, c2);
    const auto opened = open_cut(key, "split", blob3, {c1, c2});
    BOOST_TEST(opened.ok, "cuts " << c1 << "," << c2 << ": " << opened.error);
    BOOST_TEST((opened.released == pt3));
  }
}

BOOST_AUTO_TEST_CASE(every_damaged_byte_is_refused_and_nothing_from_its_chunk_is_released) {
  const DataKey key = DataKey::generate();
  const Bytes pt = pattern(chunk + 100);
  Bytes blob = seal(key, "tamper", pt);
  std::size_t failures = 0;
  for (std::size_t i = 0; i < blob.size(); ++i) {
    const auto bit = static_cast<std::uint8_t>(1u << (i % 8));  // every bit position across the blob
    blob[i] ^= bit;
    const auto opened = open_cut(key, "tamper", blob);
    blob[i] ^= bit;
    if (opened.ok || !is_chunk_prefix(opened.released, pt, chunk_of(i))) {
      if (++failures <= 5) BOOST_ERROR("flip at " << i << " released " << opened.released.size() << " bytes, ok=" << opened.ok);
    }
  }
  BOOST_TEST(failures == 0u);
  BOOST_TEST((open_cut(key, "tamper", blob).released == pt));  // the blob itself was restored
}

BOOST_AUTO_TEST_CASE(every_bit_of_sampled_bytes_is_refused) {
  const DataKey key = DataKey::generate();
  const Bytes pt = pattern(3 * chunk + 777, 5);
  Bytes blob = seal(key, "bits", pt);
  std::mt19937 gen(7);
  std::vector<std::size_t> offsets = {0, 1, 16, 17, 24, 25, 26, blob.size() - 1, blob.size() - 16, blob.size() - 17};
  for (std::size_t c = 1; c <= 3; ++c) {  // both sides of every chunk boundary, tags included
    const std::size_t boundary = sealed_header_size + c * sealed_chunk;
    for (const std::size_t d : {1, 2, 16, 17}) offsets.push_back(boundary - d);
    offsets.push_back(boundary);
  }
  for (int i = 0; i < 150; ++i) offsets.push_back(gen() % blob.size());
  for (const std::size_t at : offsets) {
    for (int bit = 0; bit < 8; ++bit) {
      blob[at] ^= static_cast<std::uint8_t>(1u << bit);
      const auto opened = open_cut(key, "bits", blob);
      blob[at] ^= static_cast<std::uint8_t>(1u << bit);
      BOOST_TEST(!opened.ok, "offset " << at << " bit " << bit);
      BOOST_TEST(is_chunk_prefix(opened.released, pt, chunk_of(at)), "offset " << at << " bit " << bit);
    }
  }
}

BOOST_AUTO_TEST_CASE(truncation_at_every_offset_is_refused) {
  const DataKey key = DataKey::generate();
  const Bytes pt = pattern(chunk + 100, 9);
  const Bytes blob = seal(key, "trunc", pt);
  std::size_t failures = 0;
  for (std::size_t n = 0; n < blob.size(); ++n) {
    const auto opened = open_cut(key, "trunc", ByteView(blob).first(n));
    // Nothing but whole verified chunks comes out, and never the chunk that was cut.
    const bool prefix = is_chunk_prefix(opened.released, pt, 0) || is_chunk_prefix(opened.released, pt, 1);
    const bool cut_chunk_released = opened.released.size() > chunk_of(n) * chunk;
    if (opened.ok || !prefix || cut_chunk_released) {
      if (++failures <= 5) BOOST_ERROR("truncated to " << n << " bytes: ok=" << opened.ok << " released " << opened.released.size());
    }
  }
  BOOST_TEST(failures == 0u);
  // Ending exactly after a full chunk: that chunk is not flagged last, so it is refused as the end.
  const auto at_boundary = open_cut(key, "trunc", ByteView(blob).first(sealed_header_size + sealed_chunk));
  BOOST_TEST(!at_boundary.ok);
  BOOST_TEST(at_boundary.released.empty());
}

BOOST_AUTO_TEST_CASE(dropped_reordered_and_trailing_chunks_are_refused) {
  const DataKey key = DataKey::generate();
  const Bytes pt = pattern(3 * chunk + 500, 11);  // chunks 0, 1, 2 full; chunk 3 short and last
  const Bytes blob = seal(key, "order", pt);
  const auto chunk_at = [&](const Bytes& b, std::size_t i) {
    const std::size_t start = sealed_header_size + i * sealed_chunk;
    return Bytes(b.begin() + static_cast<std::ptrdiff_t>(start),
                 b.begin() + static_cast<std::ptrdiff_t>(std::min(start + sealed_chunk, b.size())));
  };
  const Bytes header(blob.begin(), blob.begin() + sealed_header_size);
  const auto join = [&](std::initializer_list<Bytes> parts) {
    Bytes out = header;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
  };
  const Bytes c0 = chunk_at(blob, 0), c1 = chunk_at(blob, 1), c2 = chunk_at(blob, 2), c3 = chunk_at(blob, 3);
  BOOST_TEST((join({c0, c1, c2, c3}) == blob));

  auto check = [&](const Bytes& damaged, std::size_t good_chunks, const char* what) {
    const auto opened = open_cut(key, "order", damaged);
    BOOST_TEST(!opened.ok, what);
    BOOST_TEST(is_chunk_prefix(opened.released, pt, good_chunks), what << ": released " << opened.released.size());
  };
  check(join({c0, c1, c2}), 2, "last chunk dropped");  // c2 is not flagged last
  check(join({c0, c2, c3}), 1, "middle chunk dropped");
  check(join({c1, c0, c2, c3}), 0, "first two swapped");
  check(join({c0, c2, c1, c3}), 1, "middle two swapped");
  check(join({c0, c1, c2, c2, c3}), 3, "chunk repeated");
  check(join({c0, c1, c2, c3, Bytes{0}}), 3, "one trailing byte");
  check(join({c0, c1, c2, c3, c3}), 3, "last chunk repeated");
  check(join({c0, c1, c2, c3, Bytes(gcm_tag_size, 0)}), 3, "a trailing empty chunk's worth");

  // A message whose last chunk is full, with bytes after it.
  const Bytes full_pt = pattern(2 * chunk, 12);
  Bytes full = seal(key, "order", full_pt);
  full.push_back(0);
  const auto opened = open_cut(key, "order", full);
  BOOST_TEST(!opened.ok);
  BOOST_TEST(is_chunk_prefix(opened.released, full_pt, 1));
}

BOOST_AUTO_TEST_CASE(chunks_spliced_between_messages_are_refused) {
  const DataKey key = DataKey::generate();
  const DataKey other_key = DataKey::generate();
  const Bytes pt_a = pattern(2 * chunk + 10, 21), pt_b = pattern(2 * chunk + 10, 22);
  const Bytes a = seal(key, "a", pt_a);
  for (const auto& [b, what] : {std::pair{seal(key, "b", pt_b), "same key, other message id"},
                                std::pair{seal(key, "a", pt_b), "same key, same message id"},
                                std::pair{seal(other_key, "a", pt_b), "another key"}}) {
    for (std::size_t c = 0; c < 3; ++c) {
      Bytes spliced = a;
      const std::size_t start = sealed_header_size + c * sealed_chunk;
      const std::size_t end = std::min(start + sealed_chunk, a.size());
      std::copy(b.begin() + static_cast<std::ptrdiff_t>(start), b.begin() + static_cast<std::ptrdiff_t>(end),
                spliced.begin() + static_cast<std::ptrdiff_t>(start));
      const auto opened = open_cut(key, "a", spliced);
      BOOST_TEST(!opened.ok, what << ", chunk " << c);
      BOOST_TEST(is_chunk_prefix(opened.released, pt_a, c), what << ", chunk " << c);
    }
  }
}

BOOST_AUTO_TEST_CASE(another_message_id_or_key_is_refused) {
  const DataKey key = DataKey::generate();
  const Bytes pt = pattern(chunk + 1, 31);
  const Bytes blob = seal(key, "message-1", pt);
  for (const char* id : {"message-2", "message-", "message-11", ""}) {
    const auto opened = open_cut(key, id, blob);
    BOOST_TEST(!opened.ok, id);
    BOOST_TEST(opened.released.empty(), id);
  }
  // Another key is noticed from the header's key id, before any chunk.
  const auto wrong_key = open_cut(DataKey::generate(), "message-1", blob);
  BOOST_TEST(!wrong_key.ok);
  BOOST_TEST(wrong_key.error.find("another data key") != std::string::npos);
  // Another key under the same id fails on the first tag.
  const auto same_id = DataKey::from_bytes(key.id(), pattern(32, 99));
  BOOST_REQUIRE(same_id.ok());
  const auto forged = open_cut(*same_id, "message-1", blob);
  BOOST_TEST(!forged.ok);
  BOOST_TEST(forged.released.empty());

  const std::string longest(max_message_id_size, 'x');
  const Bytes long_id = seal(key, longest, pt);
  BOOST_TEST(open_cut(key, longest, long_id).ok);
  BOOST_CHECK_THROW(StreamSealer(key, longest + "x"), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(a_failed_opener_stays_failed_and_misuse_is_caught) {
  const DataKey key = DataKey::generate();
  const Bytes pt = pattern(2 * chunk + 3, 41);
  Bytes blob = seal(key, "m", pt);
  blob[sealed_header_size + 5] ^= 1;  // damage chunk 0
  StreamOpener opener(key, "m");
  Bytes released;
  BOOST_TEST(!opener.update(ByteView(blob).first(sealed_header_size + sealed_chunk + 1), released).ok());
  BOOST_TEST(opener.failed());
  blob[sealed_header_size + 5] ^= 1;  // the rest, even if good, changes nothing
  BOOST_TEST(!opener.update(ByteView(blob).subspan(sealed_header_size + sealed_chunk + 1), released).ok());
  BOOST_TEST(!opener.finish(released).ok());
  BOOST_TEST(released.empty());

  StreamOpener done(key, "m");
  BOOST_REQUIRE(done.update(blob, released).ok());
  BOOST_REQUIRE(done.finish(released).ok());
  BOOST_TEST((released == pt));
  BOOST_TEST(!done.update(Bytes{1}, released).ok());  // input after the end
  BOOST_TEST(!done.finish(released).ok());

  StreamOpener header_only(key, "m");
  BOOST_TEST(header_only.update(ByteView(blob).first(sealed_header_size), released).ok());
  BOOST_TEST(!header_only.finish(released).ok());

  StreamSealer sealer(key, "m");
  Bytes out;
  sealer.finish(out);
  BOOST_CHECK_THROW(sealer.update(pt, out), std::logic_error);
  BOOST_CHECK_THROW(sealer.finish(out), std::logic_error);
}

BOOST_AUTO_TEST_CASE(chunks_open_in_any_order_only_under_their_own_index_and_flag) {
  const DataKey key = DataKey::generate();
  const Bytes plain = pattern(3 * chunk + 1000, 7);
  const Bytes blob = seal(key, "msg-ra", plain);
  const ByteView header(blob.data(), sealed_header_size);
  auto opener = ChunkOpener::make(key, "msg-ra", header);
  BOOST_REQUIRE(opener.ok());
  auto chunk_at = [&](std::size_t i) {
    const std::size_t start = sealed_header_size + i * sealed_chunk;
    return ByteView(blob.data() + start, std::min(sealed_chunk, blob.size() - start));
  };
  Bytes out(chunk);
  // Backwards, each with its own index and flag: the plaintext slices come out.
  for (std::size_t i = 4; i-- > 0;) {
    auto n = opener->open(static_cast<std::uint32_t>(i), i == 3, chunk_at(i), out);
    BOOST_TEST_REQUIRE(n.ok(), "chunk " << i);
    BOOST_TEST(*n == (i == 3 ? 1000u : chunk));
    BOOST_TEST(std::equal(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(*n), plain.begin() + static_cast<std::ptrdiff_t>(i * chunk)));
  }
  // A wrong index, a wrong last flag, a damaged chunk: refused, no plaintext left in `out`.
  std::fill(out.begin(), out.end(), 0xAA);
  BOOST_TEST(!opener->open(1, false, chunk_at(2), out).ok());
  BOOST_TEST(!opener->open(3, false, chunk_at(3), out).ok());
  BOOST_TEST(!opener->open(2, true, chunk_at(2), out).ok());
  Bytes damaged(chunk_at(0).begin(), chunk_at(0).end());
  damaged[100] ^= 1;
  BOOST_TEST(!opener->open(0, false, damaged, out).ok());
  BOOST_TEST(std::all_of(out.begin(), out.end(), [](std::uint8_t b) { return b == 0xAA || b == 0; }));  // wiped or untouched
  // Another message id, another key, a short header.
  auto other_id = ChunkOpener::make(key, "msg-rb", header);
  BOOST_REQUIRE(other_id.ok());
  BOOST_TEST(!other_id->open(0, false, chunk_at(0), out).ok());
  BOOST_TEST(!ChunkOpener::make(DataKey::generate(), "msg-ra", header).ok());
  BOOST_TEST(!ChunkOpener::make(key, "msg-ra", header.first(10)).ok());
}

BOOST_AUTO_TEST_CASE(sinks_receive_the_same_bytes_as_buffers) {
  const DataKey key = DataKey::generate();
  const Bytes pt = pattern(3 * chunk + 9, 51);
  StreamSealer sealer(key, "sink");
  Bytes blob(sealer.header().begin(), sealer.header().end());
  std::size_t calls = 0;
  auto append = [&](ByteView b) {
    ++calls;
    blob.insert(blob.end(), b.begin(), b.end());
  };
  sealer.update(pt, append);
  BOOST_TEST(calls == 3u);  // three full chunks are ready; the fourth waits for finish
  sealer.finish(append);
  BOOST_TEST(calls == 4u);
  Bytes released;
  StreamOpener opener(key, "sink");
  const auto n = opener.update(blob, [&](ByteView b) { released.insert(released.end(), b.begin(), b.end()); });
  BOOST_REQUIRE(n.ok());
  BOOST_TEST(*n == 3 * chunk);
  BOOST_REQUIRE(opener.finish(released).ok());
  BOOST_TEST((released == pt));
}

BOOST_AUTO_TEST_SUITE_END()
